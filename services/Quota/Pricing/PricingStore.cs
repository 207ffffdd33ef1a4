using Dapper;
using Npgsql;
using ThinkWatch.Quota.Rules;
using ThinkWatch.Security;

namespace ThinkWatch.Quota.Pricing;

/// <summary>A model's price and weights as the console sends them; weights default to 1.</summary>
public sealed record PriceInput(
    decimal? InputUsdPerMtok, decimal? OutputUsdPerMtok, decimal? CachedInputUsdPerMtok, decimal? InputWeight, decimal? OutputWeight, decimal? CachedInputWeight);

/// <summary>The pricing table in Postgres: listed, set per model (exact name or prefix*), removed.</summary>
public sealed class PricingStore(NpgsqlDataSource dataSource, ConfigChanges changes, TimeProvider time)
{
    public const decimal MaxPrice = 100_000m;
    public const decimal MaxWeight = 1_000m;

    public async Task<IReadOnlyList<ModelPrice>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<ModelPrice>(new CommandDefinition($"SELECT {PriceBook.Columns} FROM model_prices ORDER BY model", cancellationToken: cancellationToken))];
    }

    public async Task<Outcome<ModelPrice>> SetAsync(ConsoleActor actor, string model, PriceInput input, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrEmpty(model) || model.Length > 200 || model.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) || model.TrimEnd('*').Contains('*') || model.EndsWith("**", StringComparison.Ordinal) || model == "*")
        {
            errors["model"] = ["A model name (1 to 200 characters, no spaces), or a prefix ending in a single '*'."];
        }
        Number(input.InputUsdPerMtok, "inputUsdPerMtok", required: true, MaxPrice, 6, errors);
        Number(input.OutputUsdPerMtok, "outputUsdPerMtok", required: true, MaxPrice, 6, errors);
        Number(input.CachedInputUsdPerMtok, "cachedInputUsdPerMtok", required: false, MaxPrice, 6, errors);
        Number(input.InputWeight, "inputWeight", required: false, MaxWeight, 4, errors);
        Number(input.OutputWeight, "outputWeight", required: false, MaxWeight, 4, errors);
        Number(input.CachedInputWeight, "cachedInputWeight", required: false, MaxWeight, 4, errors);
        if (errors.Count > 0)
        {
            return new Outcome<ModelPrice>.Invalid(errors);
        }
        var row = new ModelPrice(model, input.InputUsdPerMtok!.Value, input.OutputUsdPerMtok!.Value, input.CachedInputUsdPerMtok ?? input.InputUsdPerMtok.Value,
            input.InputWeight ?? 1, input.OutputWeight ?? 1, input.CachedInputWeight ?? input.InputWeight ?? 1, time.GetUtcNow().UtcDateTime);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO model_prices (model, input_usd_per_mtok, output_usd_per_mtok, cached_input_usd_per_mtok, input_weight, output_weight, cached_input_weight, updated_at)
            VALUES (@Model, @InputUsdPerMtok, @OutputUsdPerMtok, @CachedInputUsdPerMtok, @InputWeight, @OutputWeight, @CachedInputWeight, @UpdatedAt)
            ON CONFLICT (model) DO UPDATE SET input_usd_per_mtok = excluded.input_usd_per_mtok, output_usd_per_mtok = excluded.output_usd_per_mtok,
                cached_input_usd_per_mtok = excluded.cached_input_usd_per_mtok, input_weight = excluded.input_weight, output_weight = excluded.output_weight,
                cached_input_weight = excluded.cached_input_weight, updated_at = excluded.updated_at
            """, row, tx, cancellationToken: cancellationToken));
        await changes.CommitAsync(actor, LimitsChangedConsumer.PricingArea, "price.set", "model_price", model, row, connection, tx, cancellationToken);
        return new Outcome<ModelPrice>.Done(row);
    }

    public async Task<Outcome<ModelPrice>> DeleteAsync(ConsoleActor actor, string model, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<ModelPrice>(new CommandDefinition(
            $"DELETE FROM model_prices WHERE model = @model RETURNING {PriceBook.Columns}", new { model }, tx, cancellationToken: cancellationToken));
        if (row is null)
        {
            return new Outcome<ModelPrice>.NotFound();
        }
        await changes.CommitAsync(actor, LimitsChangedConsumer.PricingArea, "price.delete", "model_price", model, row, connection, tx, cancellationToken);
        return new Outcome<ModelPrice>.Done(row);
    }

    private static void Number(decimal? value, string field, bool required, decimal max, int decimals, Dictionary<string, string[]> errors)
    {
        if (value is null ? required : value < 0 || value > max || decimal.Round(value.Value, decimals) != value)
        {
            errors[field] = [$"{(required ? "Required: a" : "A")} number from 0 to {max}, to {decimals} decimals."];
        }
    }
}
