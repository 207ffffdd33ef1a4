using ThinkWatch.AiGateway.Conversion;
using System.Collections.Frozen;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ThinkWatch.AiGateway.Models;

/// <summary>One explicit way to serve a model: which provider, under which name there, in which order.</summary>
public sealed record ModelRegistration(Guid Id, string Name, string ProviderId, string UpstreamModel, int Priority, int Weight, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>The model table as the request path reads it: registrations by model name.</summary>
public sealed class ModelTable(IReadOnlyList<ModelRegistration> rows)
{
    public static ModelTable Empty { get; } = new([]);

    private readonly FrozenDictionary<string, ModelRegistration[]> _byName =
        rows.GroupBy(r => r.Name, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);

    public IReadOnlyList<ModelRegistration> All => rows;

    public IReadOnlyCollection<string> Names => _byName.Keys;

    public IReadOnlyList<ModelRegistration> For(string model) => _byName.TryGetValue(model, out var found) ? found : [];
}

/// <summary>
/// The model table in memory, reloaded on a ConfigChanged "models" event (every replica) and
/// at least every <see cref="AiGatewayOptions.ProviderRefreshInterval"/>.
/// </summary>
public sealed class ModelCatalog
{
    /// <summary>A row's columns as <see cref="ModelRegistration"/> reads them (SELECT and RETURNING).</summary>
    internal const string Columns =
        "id, name, provider_id AS ProviderId, upstream_model AS UpstreamModel, priority, weight, created_at AS CreatedAt, updated_at AS UpdatedAt";

    /// <summary>Every registration, by name and priority.</summary>
    internal static async Task<IReadOnlyList<ModelRegistration>> ReadAllAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<ModelRegistration>(new CommandDefinition(
            $"SELECT {Columns} FROM models ORDER BY name, priority, provider_id", cancellationToken: cancellationToken))];
    }

    private readonly Integrations.RefreshingValue<ModelTable> _table;

    public ModelCatalog(NpgsqlDataSource dataSource, IOptions<AiGatewayOptions> options, TimeProvider time, ILogger<ModelCatalog> logger) =>
        _table = new("model table",
            async cancellationToken => new ModelTable(await ReadAllAsync(dataSource, cancellationToken)),
            ex => ex is NpgsqlException or TimeoutException,
            () => options.Value.ProviderRefreshInterval, time, logger, GatewayException.Unavailable);

    public void Invalidate() => _table.Invalidate();

    public ValueTask<ModelTable> GetAsync(CancellationToken cancellationToken) => _table.GetAsync(cancellationToken);
}
