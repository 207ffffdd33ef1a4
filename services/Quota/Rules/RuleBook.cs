using Dapper;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Quota.Pricing;

namespace ThinkWatch.Quota.Rules;

public sealed record LimitRule(
    Guid Id, string SubjectKind, string SubjectId, string Surface, string Metric, string Window, long Limit, bool Enabled, DateTime CreatedAt, DateTime UpdatedAt)
{
    /// <summary>How a refusal names the rule, e.g. "user:requests/1m".</summary>
    public string Label => $"{SubjectKind}:{Metric}/{Window}";
}

public sealed record BudgetCap(
    Guid Id, string SubjectKind, string SubjectId, string Period, long? LimitWeightedTokens, long? LimitMicroUsd, string Action, bool Enabled, DateTime CreatedAt, DateTime UpdatedAt)
{
    public bool Blocks => Action == "block";

    public string Label => $"{SubjectKind}:budget/{Period}";
}

/// <summary>A subject as the gateways name it: kind and id.</summary>
public readonly record struct SubjectRef(string Kind, string Id)
{
    public static SubjectRef From(Subject subject) => new(Vocabulary.NameOf(subject.Kind), subject.Id);
}

/// <summary>
/// Every enabled rule, budget and price, in memory, indexed by subject: what a check resolves
/// its subjects against without a database round trip.
/// </summary>
public sealed class RuleBook
{
    private readonly ILookup<(string Kind, string Id), LimitRule> _rules;
    private readonly ILookup<(string Kind, string Id), BudgetCap> _budgets;

    public RuleBook(IEnumerable<LimitRule> rules, IEnumerable<BudgetCap> budgets, PriceBook prices)
    {
        // Shortest window first, so the first rule that fails is the most immediate one.
        _rules = rules.Where(r => r.Enabled).OrderBy(r => Vocabulary.Windows[r.Window]).ThenBy(r => r.Metric, StringComparer.Ordinal)
            .ToLookup(r => (r.SubjectKind, r.SubjectId));
        _budgets = budgets.Where(b => b.Enabled).OrderBy(b => b.Period, StringComparer.Ordinal).ToLookup(b => (b.SubjectKind, b.SubjectId));
        Prices = prices;
    }

    public PriceBook Prices { get; }

    /// <summary>The rules that apply to a subject on a surface: its own and its kind's '*' rules.</summary>
    public IEnumerable<LimitRule> RulesFor(SubjectRef subject, string surface) =>
        _rules[(subject.Kind, subject.Id)].Concat(_rules[(subject.Kind, Vocabulary.EverySubject)]).Where(r => r.Surface == surface);

    public IEnumerable<BudgetCap> BudgetsFor(SubjectRef subject) =>
        _budgets[(subject.Kind, subject.Id)].Concat(_budgets[(subject.Kind, Vocabulary.EverySubject)]);

    public static async Task<RuleBook> LoadAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rules = await connection.QueryAsync<LimitRule>(new CommandDefinition($"SELECT {LimitsStore.RuleColumns} FROM rate_limit_rules", cancellationToken: cancellationToken));
        var budgets = await connection.QueryAsync<BudgetCap>(new CommandDefinition($"SELECT {LimitsStore.BudgetColumns} FROM budget_caps", cancellationToken: cancellationToken));
        var prices = await connection.QueryAsync<ModelPrice>(new CommandDefinition($"SELECT {PriceBook.Columns} FROM model_prices", cancellationToken: cancellationToken));
        return new RuleBook(rules, budgets, new PriceBook(prices));
    }
}

/// <summary>The rule book held in memory: reloaded on a change event (any replica's change) and at least every <see cref="QuotaOptions.RuleRefreshInterval"/>.</summary>
public sealed class RuleBookCache
{
    private readonly RefreshingValue<RuleBook> _book;

    public RuleBookCache(NpgsqlDataSource dataSource, IOptions<QuotaOptions> options, TimeProvider time, ILogger<RuleBookCache> logger) =>
        _book = new("limit rules", ct => RuleBook.LoadAsync(dataSource, ct), ex => ex is NpgsqlException or TimeoutException,
            () => options.Value.RuleRefreshInterval, time, logger, what => new QuotaUnavailableException($"The quota service cannot load its {what}."));

    public void Invalidate() => _book.Invalidate();

    public ValueTask<RuleBook> GetAsync(CancellationToken cancellationToken) => _book.GetAsync(cancellationToken);
}

/// <summary>The quota service cannot decide (its rules cannot be loaded); the gRPC layer answers Unavailable.</summary>
public sealed class QuotaUnavailableException(string message) : Exception(message);

/// <summary>Limits or prices changed on some replica: reload here too.</summary>
public sealed class LimitsChangedConsumer(RuleBookCache cache) : IConsumer<ConfigChanged>
{
    public const string LimitsArea = "limits";
    public const string PricingArea = "pricing";

    public Task Consume(ConsumeContext<ConfigChanged> context)
    {
        if (context.Message.Area is LimitsArea or PricingArea)
        {
            cache.Invalidate();
        }
        return Task.CompletedTask;
    }
}
