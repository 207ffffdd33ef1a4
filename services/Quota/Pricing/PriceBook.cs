namespace ThinkWatch.Quota.Pricing;

/// <summary>
/// A model's price (US dollars per million tokens, which is also millionths of a dollar per
/// token) and token weights. <see cref="Model"/> is an exact name or a prefix ending in '*'.
/// </summary>
public sealed record ModelPrice(
    string Model, decimal InputUsdPerMtok, decimal OutputUsdPerMtok, decimal CachedInputUsdPerMtok,
    decimal InputWeight, decimal OutputWeight, decimal CachedInputWeight, DateTime UpdatedAt)
{
    /// <summary>Models nobody priced: tokens count once each and cost nothing (and the console shows them unpriced).</summary>
    public static ModelPrice Unpriced { get; } = new("", 0, 0, 0, 1, 1, 1, default);

    public bool IsPattern => Model.EndsWith('*');
}

/// <summary>Tokens of one request: input includes the cached part.</summary>
public readonly record struct TokenCount(long Input, long Output, long CachedInput)
{
    public long UncachedInput => Math.Max(0, Input - Math.Min(CachedInput, Input));
}

/// <summary>What tokens weigh and cost.</summary>
public readonly record struct Charge(long WeightedTokens, long CostMicroUsd);

public sealed class PriceBook
{
    public const string Columns = """
        model AS Model, input_usd_per_mtok AS InputUsdPerMtok, output_usd_per_mtok AS OutputUsdPerMtok,
        cached_input_usd_per_mtok AS CachedInputUsdPerMtok, input_weight AS InputWeight, output_weight AS OutputWeight,
        cached_input_weight AS CachedInputWeight, updated_at AS UpdatedAt
        """;

    private readonly Dictionary<string, ModelPrice> _exact;
    // Longest prefix first, so "gpt-4o-mini*" wins over "gpt-4o*".
    private readonly ModelPrice[] _patterns;

    public PriceBook(IEnumerable<ModelPrice> prices)
    {
        var all = prices.ToList();
        _exact = all.Where(p => !p.IsPattern).ToDictionary(p => p.Model, StringComparer.OrdinalIgnoreCase);
        _patterns = [.. all.Where(p => p.IsPattern).OrderByDescending(p => p.Model.Length)];
    }

    /// <summary>The price that applies to <paramref name="model"/>: its exact entry, else the longest matching prefix, else none.</summary>
    public ModelPrice? Find(string model) =>
        _exact.GetValueOrDefault(model)
        ?? _patterns.FirstOrDefault(p => model.StartsWith(p.Model.AsSpan(0, p.Model.Length - 1), StringComparison.OrdinalIgnoreCase));

    public ModelPrice For(string model) => Find(model) ?? ModelPrice.Unpriced;

    /// <summary>weighted tokens = raw × weight; cost = raw × price; each rounded up so nothing is ever free by rounding.</summary>
    public static Charge Charge(ModelPrice price, TokenCount tokens)
    {
        var weighted = tokens.UncachedInput * price.InputWeight + Math.Min(tokens.CachedInput, tokens.Input) * price.CachedInputWeight + tokens.Output * price.OutputWeight;
        var cost = tokens.UncachedInput * price.InputUsdPerMtok + Math.Min(tokens.CachedInput, tokens.Input) * price.CachedInputUsdPerMtok + tokens.Output * price.OutputUsdPerMtok;
        return new Charge((long)Math.Ceiling(weighted), (long)Math.Ceiling(cost));
    }
}
