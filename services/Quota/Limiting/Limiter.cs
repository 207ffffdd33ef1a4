using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ThinkWatch.Quota.Pricing;
using ThinkWatch.Quota.Rules;

namespace ThinkWatch.Quota.Limiting;

public sealed record CheckInput(string Surface, IReadOnlyList<SubjectRef> Subjects, string Model, long EstimatedInputTokens, long MaxOutputTokens);

public sealed record SettleInput(string? ReservationId, string Surface, IReadOnlyList<SubjectRef> Subjects, string Model, TokenCount Tokens);

/// <summary>A rule as one subject sees it now.</summary>
public sealed record RuleState(string Label, Guid RuleId, string SubjectId, string Metric, string Window, long Limit, long Used, DateTimeOffset ResetAt)
{
    public long Remaining => Math.Max(0, Limit - Used);
}

public sealed record BudgetState(
    string Label, Guid BudgetId, string SubjectId, string Action, long? LimitWeightedTokens, long? LimitMicroUsd,
    long UsedWeightedTokens, long UsedMicroUsd, long ReservedWeightedTokens, long ReservedMicroUsd, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd);

public sealed record CheckResult(bool Allowed, string? ReservationId, string? RuleLabel, TimeSpan? RetryAfter, IReadOnlyList<RuleState> Limits, bool Degraded, string? Reason)
{
    public static CheckResult Admitted(string? reservationId, IReadOnlyList<RuleState> limits) => new(true, reservationId, null, null, limits, false, null);
}

public sealed record SettleResult(Charge Charge, IReadOnlyList<BudgetAlert> Alerts);

public sealed record BudgetAlert(BudgetCap Budget, string SubjectId, DateTimeOffset PeriodStart, int ThresholdPercent, long UsedWeightedTokens, long UsedMicroUsd);

/// <summary>
/// Decides and counts, against Redis, with one script call per check or settle (see
/// <see cref="QuotaScripts"/>). When Redis cannot be reached the configured failure mode decides:
/// admit (counted as degraded) or refuse with <c>rate_limiter_unavailable</c>.
/// </summary>
public sealed class Limiter(IConnectionMultiplexer redis, RuleBookCache rules, LimiterHealth health, IOptions<QuotaOptions> options, TimeProvider time)
{
    public const string UnavailableLabel = "rate_limiter_unavailable";

    private sealed record AppliedRule(LimitRule Rule, string SubjectId);

    private sealed record AppliedBudget(BudgetCap Budget, string SubjectId, DateTimeOffset Start, DateTimeOffset End);

    public async Task<CheckResult> CheckAsync(CheckInput input, CancellationToken cancellationToken)
    {
        var book = await rules.GetAsync(cancellationToken);
        var applied = Rules(book, input.Surface, input.Subjects);
        var now = time.GetUtcNow();
        // Budgets are in tokens and dollars: only model requests spend them.
        var budgets = input.Surface == "ai_gateway" ? Budgets(book, input.Subjects, now) : [];
        if (applied.Count == 0 && budgets.Count == 0)
        {
            return CheckResult.Admitted(null, []);
        }
        var o = options.Value;
        var reserve = budgets.Count == 0 ? default : PriceBook.Charge(book.Prices.For(input.Model), new TokenCount(
            Math.Max(0, input.EstimatedInputTokens),
            Math.Min(input.MaxOutputTokens > 0 ? input.MaxOutputTokens : o.DefaultOutputReservation, o.MaxOutputReservation), 0));
        var reservationId = budgets.Count == 0 ? null : Guid.CreateVersion7().ToString("N");
        var nowMs = now.ToUnixTimeMilliseconds();

        var keys = new List<RedisKey>(applied.Count + budgets.Count * 2);
        var args = new List<RedisValue> { nowMs, applied.Count, budgets.Count, reservationId ?? "", nowMs + (long)o.ReservationTtl.TotalMilliseconds };
        foreach (var (rule, subject) in applied)
        {
            keys.Add(WindowKey(rule, subject));
            args.AddRange([rule.Limit, WidthMs(rule), QuotaScripts.Buckets, rule.Metric == "requests" ? 1 : 0]);
        }
        foreach (var b in budgets)
        {
            keys.AddRange(BudgetKeys(b));
            args.AddRange([b.Budget.LimitWeightedTokens ?? -1, b.Budget.LimitMicroUsd ?? -1, b.Budget.Blocks ? 1 : 0,
                reserve.WeightedTokens, reserve.CostMicroUsd, b.End.ToUnixTimeMilliseconds()]);
        }
        if (await EvaluateAsync(QuotaScripts.Check, keys, args) is not { } reply)
        {
            return o.FailureMode == LimiterFailureMode.Open
                ? new CheckResult(true, null, null, null, [], true, "The rate limiter is unreachable; admitted by the fail-open policy.")
                : new CheckResult(false, null, UnavailableLabel, TimeSpan.FromSeconds(1), [], true, "The rate limiter is unreachable; refused by the fail-closed policy.");
        }
        if ((long)reply[0] == 0)
        {
            var index = (int)(long)reply[1] - 1;
            var retry = TimeSpan.FromMilliseconds(Math.Max(1, (long)reply[2]));
            if (index < applied.Count)
            {
                var rule = applied[index].Rule;
                return new CheckResult(false, null, rule.Label, retry, [State(applied[index], rule.Limit, now, retry)], false,
                    $"Rate limit {rule.Label} reached: {rule.Limit} {rule.Metric} per {rule.Window}.");
            }
            var budget = budgets[index - applied.Count];
            var dollars = (long)reply[3] == 2;
            return new CheckResult(false, null, budget.Budget.Label, retry, [], false, dollars
                ? $"Budget {budget.Budget.Label} reached: {budget.Budget.LimitMicroUsd / 1_000_000m:0.######} USD per {PeriodNoun(budget.Budget.Period)}."
                : $"Budget {budget.Budget.Label} reached: {budget.Budget.LimitWeightedTokens} weighted tokens per {PeriodNoun(budget.Budget.Period)}.");
        }
        var states = new List<RuleState>(applied.Count);
        for (var i = 0; i < applied.Count; i++)
        {
            states.Add(State(applied[i], (long)reply[4 + 2 * i], now, TimeSpan.FromMilliseconds((long)reply[5 + 2 * i])));
        }
        return CheckResult.Admitted(reservationId, states);
    }

    public async Task<SettleResult> SettleAsync(SettleInput input, CancellationToken cancellationToken)
    {
        var book = await rules.GetAsync(cancellationToken);
        var charge = PriceBook.Charge(book.Prices.For(input.Model), input.Tokens);
        var tokenRules = Rules(book, input.Surface, input.Subjects).Where(r => r.Rule.Metric == "tokens").ToList();
        var now = time.GetUtcNow();
        var budgets = input.Surface == "ai_gateway" ? Budgets(book, input.Subjects, now) : [];
        if ((tokenRules.Count == 0 || charge.WeightedTokens == 0) && budgets.Count == 0)
        {
            return new SettleResult(charge, []);
        }
        var keys = new List<RedisKey>();
        var args = new List<RedisValue> { now.ToUnixTimeMilliseconds(), tokenRules.Count, budgets.Count, input.ReservationId ?? "",
            string.Join(',', options.Value.AlertThresholds.Select(t => t.ToString(CultureInfo.InvariantCulture))) };
        foreach (var (rule, subject) in tokenRules)
        {
            keys.Add(WindowKey(rule, subject));
            args.AddRange([WidthMs(rule), QuotaScripts.Buckets, charge.WeightedTokens]);
        }
        foreach (var b in budgets)
        {
            keys.AddRange(BudgetKeys(b));
            args.AddRange([charge.WeightedTokens, charge.CostMicroUsd, b.Budget.LimitWeightedTokens ?? -1, b.Budget.LimitMicroUsd ?? -1, b.End.ToUnixTimeMilliseconds()]);
        }
        if (await EvaluateAsync(QuotaScripts.Settle, keys, args) is not { } reply)
        {
            // The reservation expires on its own; the usage still reaches the audit trail through the gateway's event.
            return new SettleResult(charge, []);
        }
        var alerts = new List<BudgetAlert>();
        for (var i = 0; i + 3 < reply.Length; i += 4)
        {
            var b = budgets[(int)(long)reply[i] - 1];
            alerts.Add(new BudgetAlert(b.Budget, b.SubjectId, b.Start, (int)(long)reply[i + 1], (long)reply[i + 2], (long)reply[i + 3]));
        }
        return new SettleResult(charge, alerts);
    }

    /// <summary>Every rule and budget of one subject (all surfaces) with what is used now; null when Redis cannot be reached.</summary>
    public async Task<(IReadOnlyList<RuleState> Rules, IReadOnlyList<BudgetState> Budgets)?> StatusAsync(SubjectRef subject, CancellationToken cancellationToken)
    {
        var book = await rules.GetAsync(cancellationToken);
        var now = time.GetUtcNow();
        var applied = Vocabulary.Surfaces.Keys.SelectMany(s => Rules(book, s, [subject])).ToList();
        var budgets = Budgets(book, [subject], now);
        var keys = new List<RedisKey>();
        var args = new List<RedisValue> { now.ToUnixTimeMilliseconds(), applied.Count, budgets.Count };
        foreach (var (rule, id) in applied)
        {
            keys.Add(WindowKey(rule, id));
            args.AddRange([WidthMs(rule), QuotaScripts.Buckets]);
        }
        foreach (var b in budgets)
        {
            keys.AddRange(BudgetKeys(b));
        }
        if (await EvaluateAsync(QuotaScripts.Status, keys, args) is not { } reply)
        {
            return null;
        }
        var ruleStates = applied.Select((r, i) => State(r, (long)reply[2 * i], now, TimeSpan.FromMilliseconds((long)reply[2 * i + 1]))).ToList();
        var offset = applied.Count * 2;
        var budgetStates = budgets.Select((b, j) => new BudgetState(
            b.Budget.Label, b.Budget.Id, b.SubjectId, b.Budget.Action, b.Budget.LimitWeightedTokens, b.Budget.LimitMicroUsd,
            (long)reply[offset + 4 * j], (long)reply[offset + 4 * j + 1], (long)reply[offset + 4 * j + 2], (long)reply[offset + 4 * j + 3], b.Start, b.End)).ToList();
        return (ruleStates, budgetStates);
    }

    /// <summary>Runs one script; null when Redis cannot be reached (counted and logged by <see cref="LimiterHealth"/>).</summary>
    private async Task<RedisResult[]?> EvaluateAsync(string script, List<RedisKey> keys, List<RedisValue> args)
    {
        try
        {
            var reply = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(script, [.. keys], [.. args]))!;
            health.Reachable();
            return reply;
        }
        catch (Exception ex) when (LimiterHealth.IsOutage(ex))
        {
            health.Unavailable(ex);
            return null;
        }
    }

    private static RuleState State(AppliedRule applied, long used, DateTimeOffset now, TimeSpan reset) =>
        new(applied.Rule.Label, applied.Rule.Id, applied.SubjectId, applied.Rule.Metric, applied.Rule.Window, applied.Rule.Limit, used, now + reset);

    /// <summary>Rules in the order subjects were given (then shortest window first), each (rule, subject) once.</summary>
    private static List<AppliedRule> Rules(RuleBook book, string surface, IReadOnlyList<SubjectRef> subjects) =>
        [.. subjects.SelectMany(s => book.RulesFor(s, surface).Select(r => new AppliedRule(r, s.Id))).Distinct()];

    private static List<AppliedBudget> Budgets(RuleBook book, IReadOnlyList<SubjectRef> subjects, DateTimeOffset now) =>
        [.. subjects.SelectMany(s => book.BudgetsFor(s).Select(b =>
        {
            var (start, end) = Vocabulary.PeriodOf(b.Period, now);
            return new AppliedBudget(b, s.Id, start, end);
        })).Distinct()];

    // Window and metric are part of the key: a rule edited to another window starts a fresh count.
    private RedisKey WindowKey(LimitRule rule, string subjectId) =>
        $"{{{options.Value.RedisPrefix}}}:w:{rule.Id:N}:{rule.Metric}:{rule.Window}:{subjectId}";

    private RedisKey[] BudgetKeys(AppliedBudget b)
    {
        var key = $"{{{options.Value.RedisPrefix}}}:b:{b.Budget.Id:N}:{b.SubjectId}:{b.Start:yyyyMMdd}";
        return [key, key + ":r"];
    }

    private static long WidthMs(LimitRule rule) => (long)Vocabulary.Windows[rule.Window].TotalMilliseconds / QuotaScripts.Buckets;

    private static string PeriodNoun(string period) => period switch { "daily" => "day", "weekly" => "week", _ => "month" };
}
