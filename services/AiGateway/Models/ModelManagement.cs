using System.Text.Json;
using Dapper;
using Npgsql;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.AiGateway.Models;

/// <summary>A registration as the console sends it; <c>Provider</c> is a provider's name or id.</summary>
public sealed record ModelInput(string? Name, string? Provider, string? UpstreamModel, int? Priority, int? Weight);

/// <summary>A registration as the console shows it, with its provider's current name (null if that provider was removed).</summary>
public sealed record ModelView(Guid Id, string Name, string ProviderId, string? Provider, string? ProviderKind, string UpstreamModel, int Priority, int Weight, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>
/// The model table's management: every change is committed with its events (ConfigChanged
/// "models" so every replica reloads, and an admin audit record) through the outbox.
/// </summary>
public sealed class ModelManagement(NpgsqlDataSource dataSource, ProviderCatalog providers, ModelCatalog catalog, EventOutbox outbox, TimeProvider time)
{
    public const int MaxPriority = 1000;
    public const int MaxWeight = 1000;

    public async Task<IReadOnlyList<ModelView>> ListAsync(CancellationToken cancellationToken)
    {
        var rows = await ModelCatalog.ReadAllAsync(dataSource, cancellationToken);
        var known = await providers.GetAsync(cancellationToken);
        return [.. rows.Select(r => View(r, known))];
    }

    public async Task<Outcome<ModelView>> CreateAsync(ConsoleActor actor, ModelInput input, CancellationToken cancellationToken)
    {
        var known = await ProvidersFor(input, cancellationToken);
        if (Validate(input, known, out var provider) is { } errors)
        {
            return new Outcome<ModelView>.Invalid(errors);
        }
        var now = time.GetUtcNow().UtcDateTime;
        var row = Registration(Guid.CreateVersion7(), input, provider!, createdAt: now, updatedAt: now);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var inserted = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO models (id, name, provider_id, upstream_model, priority, weight, created_at, updated_at)
            VALUES (@Id, @Name, @ProviderId, @UpstreamModel, @Priority, @Weight, @CreatedAt, @UpdatedAt)
            ON CONFLICT (name, provider_id) DO NOTHING
            """, row, tx, cancellationToken: cancellationToken));
        return inserted == 0 ? Duplicate(row, provider!) : await CommitAsync(actor, "model.create", row, known, connection, tx, cancellationToken);
    }

    public async Task<Outcome<ModelView>> UpdateAsync(ConsoleActor actor, Guid id, ModelInput input, CancellationToken cancellationToken)
    {
        var known = await ProvidersFor(input, cancellationToken);
        if (Validate(input, known, out var provider) is { } errors)
        {
            return new Outcome<ModelView>.Invalid(errors);
        }
        // created_at stays as stored; the UPDATE returns it.
        var row = Registration(id, input, provider!, createdAt: default, updatedAt: time.GetUtcNow().UtcDateTime);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        DateTime? createdAt;
        try
        {
            createdAt = await connection.QuerySingleOrDefaultAsync<DateTime?>(new CommandDefinition("""
                UPDATE models SET name = @Name, provider_id = @ProviderId, upstream_model = @UpstreamModel, priority = @Priority, weight = @Weight, updated_at = @UpdatedAt
                WHERE id = @Id RETURNING created_at
                """, row, tx, cancellationToken: cancellationToken));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Duplicate(row, provider!);
        }
        return createdAt is null
            ? new Outcome<ModelView>.NotFound()
            : await CommitAsync(actor, "model.update", row with { CreatedAt = createdAt.Value }, known, connection, tx, cancellationToken);
    }

    public async Task<Outcome<ModelView>> DeleteAsync(ConsoleActor actor, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<ModelRegistration>(new CommandDefinition(
            $"DELETE FROM models WHERE id = @id RETURNING {ModelCatalog.Columns}",
            new { id }, tx, cancellationToken: cancellationToken));
        return row is null
            ? new Outcome<ModelView>.NotFound()
            : await CommitAsync(actor, "model.delete", row, await providers.GetAsync(cancellationToken), connection, tx, cancellationToken);
    }

    /// <summary>A valid input as a row, with the defaults: upstream model = name, priority 0, weight 1.</summary>
    private static ModelRegistration Registration(Guid id, ModelInput input, UpstreamProvider provider, DateTime createdAt, DateTime updatedAt) =>
        new(id, input.Name!, provider.Id, input.UpstreamModel ?? input.Name!, input.Priority ?? 0, input.Weight ?? 1, createdAt, updatedAt);

    /// <summary>The providers, reloaded first if the named one is not among them (it may have been added a moment ago).</summary>
    private async Task<IReadOnlyList<UpstreamProvider>> ProvidersFor(ModelInput input, CancellationToken cancellationToken)
    {
        var known = await providers.GetAsync(cancellationToken);
        if (input.Provider is { } wanted && !known.Any(p => p.Id == wanted || p.Name == wanted))
        {
            providers.Invalidate();
            known = await providers.GetAsync(cancellationToken);
        }
        return known;
    }

    /// <summary>The change's events join its transaction: every replica reloads, and the audit trail records who did it.</summary>
    private async Task<Outcome<ModelView>> CommitAsync(
        ConsoleActor actor, string action, ModelRegistration row, IReadOnlyList<UpstreamProvider> known, NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await outbox.AddAsync(new ConfigChanged(Guid.CreateVersion7(), now, "models", row.Id.ToString()), connection, tx, cancellationToken);
        await outbox.CommitAuditedAsync(actor, now, action, "model", row.Id.ToString(),
            new { row.Name, row.ProviderId, row.UpstreamModel, row.Priority, row.Weight }, connection, tx, cancellationToken);
        // This replica at once; the others on the event.
        catalog.Invalidate();
        return new Outcome<ModelView>.Done(View(row, known));
    }

    private static Outcome<ModelView>.Invalid Duplicate(ModelRegistration row, UpstreamProvider provider) =>
        new(new() { ["name"] = [$"'{row.Name}' is already registered for the provider '{provider.Name}'."] });

    private static Dictionary<string, string[]>? Validate(ModelInput input, IReadOnlyList<UpstreamProvider> known, out UpstreamProvider? provider)
    {
        var errors = new Dictionary<string, string[]>();
        provider = null;
        if (string.IsNullOrWhiteSpace(input.Name) || input.Name.Length > 200 || input.Name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            errors["name"] = ["Required: 1 to 200 characters, no spaces."];
        }
        if (input.UpstreamModel is { } upstream && (upstream.Length is 0 or > 200 || upstream.Any(char.IsControl)))
        {
            errors["upstreamModel"] = ["1 to 200 characters (leave it out to use the name)."];
        }
        if (string.IsNullOrWhiteSpace(input.Provider))
        {
            errors["provider"] = ["Required: the name or id of a provider."];
        }
        else if ((provider = known.FirstOrDefault(p => p.Id == input.Provider) ?? known.FirstOrDefault(p => p.Name == input.Provider)) is null)
        {
            errors["provider"] = [$"No provider is named '{input.Provider}'."];
        }
        if (input.Priority is < 0 or > MaxPriority)
        {
            errors["priority"] = [$"Between 0 (first) and {MaxPriority}."];
        }
        if (input.Weight is < 1 or > MaxWeight)
        {
            errors["weight"] = [$"Between 1 and {MaxWeight}."];
        }
        return errors.Count > 0 ? errors : null;
    }

    private static ModelView View(ModelRegistration r, IReadOnlyList<UpstreamProvider> known)
    {
        var provider = known.FirstOrDefault(p => p.Id == r.ProviderId);
        return new ModelView(r.Id, r.Name, r.ProviderId, provider?.Name, provider?.Kind, r.UpstreamModel, r.Priority, r.Weight, r.CreatedAt, r.UpdatedAt);
    }
}
