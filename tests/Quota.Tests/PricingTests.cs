using ThinkWatch.Quota.Pricing;
using ThinkWatch.Quota.Rules;

namespace ThinkWatch.Quota.Tests;

[TestFixture]
public sealed class PricingTests
{
    private static ModelPrice Price(string model, decimal input, decimal output, decimal cached, decimal wIn = 1, decimal wOut = 1, decimal wCached = 1) =>
        new(model, input, output, cached, wIn, wOut, wCached, default);

    [Test]
    public void Weighted_tokens_and_cost_split_cached_input_from_the_rest()
    {
        var price = Price("m", input: 3, output: 15, cached: 0.3m, wIn: 1, wOut: 4, wCached: 0.25m);

        var charge = PriceBook.Charge(price, new TokenCount(Input: 1000, Output: 200, CachedInput: 800));

        Assert.That(charge.WeightedTokens, Is.EqualTo(200 + 200 + 800));
        Assert.That(charge.CostMicroUsd, Is.EqualTo(200 * 3 + 800 * 0.3m + 200 * 15));
    }

    [Test]
    public void Fractions_round_up_so_nothing_is_free()
    {
        var charge = PriceBook.Charge(Price("m", 0.15m, 0.6m, 0.075m), new TokenCount(1, 1, 0));
        Assert.That((charge.WeightedTokens, charge.CostMicroUsd), Is.EqualTo((2L, 1L)));
    }

    [Test]
    public void Exact_entries_beat_prefixes_and_longer_prefixes_beat_shorter_ones()
    {
        var book = new PriceBook([Price("gpt-4o*", 2.5m, 10, 1.25m), Price("gpt-4o-mini*", 0.15m, 0.6m, 0.075m), Price("gpt-4o-2024-05-13", 5, 15, 5)]);

        Assert.That(book.Find("gpt-4o-mini-2024-07-18")!.Model, Is.EqualTo("gpt-4o-mini*"));
        Assert.That(book.Find("gpt-4o-2024-08-06")!.Model, Is.EqualTo("gpt-4o*"));
        Assert.That(book.Find("GPT-4O-2024-05-13")!.Model, Is.EqualTo("gpt-4o-2024-05-13"));
        Assert.That(book.Find("gpt-4"), Is.Null);
        Assert.That(book.For("llama-3"), Is.SameAs(ModelPrice.Unpriced));
    }

    [TestCase("daily", "2026-11-23T15:00:00Z", "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z")]
    [TestCase("weekly", "2026-11-23T15:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z")] // a Monday
    [TestCase("weekly", "2026-11-29T23:59:59Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z")] // the Sunday after
    [TestCase("monthly", "2026-12-31T23:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")]
    [TestCase("monthly", "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z")]
    public void Periods_are_calendar_periods_in_utc(string period, string now, string start, string end)
    {
        var (s, e) = Vocabulary.PeriodOf(period, DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture));
        Assert.That((s, e), Is.EqualTo((DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.Parse(end, System.Globalization.CultureInfo.InvariantCulture))));
    }
}
