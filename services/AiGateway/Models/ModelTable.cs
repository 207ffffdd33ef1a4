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
    internal const string Select = """
        SELECT id, name, provider_id AS ProviderId, upstream_model AS UpstreamModel, priority, weight, created_at AS CreatedAt, updated_at AS UpdatedAt
        FROM models
        """;

    private readonly Routing.RefreshingValue<ModelTable> _table;

    public ModelCatalog(NpgsqlDataSource dataSource, IOptions<AiGatewayOptions> options, TimeProvider time, ILogger<ModelCatalog> logger) =>
        _table = new("model table",
            async cancellationToken =>
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                return new ModelTable([.. await connection.QueryAsync<ModelRegistration>(new CommandDefinition(
                    Select + " ORDER BY name, priority, provider_id", cancellationToken: cancellationToken))]);
            },
            ex => ex is NpgsqlException or TimeoutException,
            () => options.Value.ProviderRefreshInterval, time, logger);

    public void Invalidate() => _table.Invalidate();

    public ValueTask<ModelTable> GetAsync(CancellationToken cancellationToken) => _table.GetAsync(cancellationToken);
}
