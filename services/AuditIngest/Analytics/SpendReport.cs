using Grpc.Core;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.AuditIngest.Logs;
using ThinkWatch.Contracts.Quota.V1;

namespace ThinkWatch.AuditIngest.Analytics;

public sealed record TeamForecast(string TeamId, decimal MonthToDateUsd, decimal ForecastMonthUsd);

/// <summary>A budget's current period: what was spent in it (from the stored events) against its limits; utilisation is the larger share.</summary>
public sealed record BudgetUse(string Id, string Label, string SubjectKind, string SubjectId, string Period, string Action, DateTime PeriodStart, DateTime PeriodEnd,
    decimal? LimitUsd, decimal SpentUsd, long? LimitWeightedTokens, long UsedWeightedTokens, double? Utilisation);

public sealed record Spend(DateTime MonthStart, DateTime MonthEnd, decimal MonthToDateUsd, decimal DailyRateUsd, decimal ForecastRestOfMonthUsd, decimal ForecastMonthUsd,
    IReadOnlyList<TeamForecast> Teams, IReadOnlyList<BudgetUse>? Budgets, string? BudgetsUnavailable);

/// <summary>
/// Month-to-date spend with a forecast, and budget utilisation. The forecast carries the recent
/// trend forward: the daily rate of the last <see cref="TrendDays"/> days (or of the month so far,
/// when it is younger) times the days left, added to what was spent. Budgets come from Quota;
/// their spend from the stored events over each budget's own period.
/// </summary>
public sealed class SpendReport(UsageAnalytics analytics, QuotaService.QuotaServiceClient quota, TimeProvider time)
{
    public const int TrendDays = 7;
    public const int MaxSubjectsPerBudget = 20;

    /// <summary>Budget subjects whose spend the usage events can show, with their column.</summary>
    private static readonly Dictionary<SubjectKind, (string Name, string Column)> Subjects = new()
    {
        [SubjectKind.User] = ("user", "user_id"),
        [SubjectKind.Team] = ("team", "team_id"),
        [SubjectKind.ApiKey] = ("api_key", "api_key_id"),
        [SubjectKind.Provider] = ("provider", "provider"),
    };

    /// <summary>The report for everyone, or only <paramref name="scopeUserId"/>'s usage and budgets.</summary>
    public async Task<Spend> BuildAsync(string? scopeUserId, CancellationToken cancellationToken)
    {
        var scope = scopeUserId is null ? null : LogKind.Usage.UserIs(scopeUserId);
        var now = time.GetUtcNow();
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var monthEnd = monthStart.AddMonths(1);
        var trendStart = new[] { now.AddDays(-TrendDays), monthStart }.Max();
        var trendDays = (decimal)(now - trendStart).TotalDays;

        var monthToDate = await analytics.CostByAsync("team_id", UsageAnalytics.And(scope, UsageAnalytics.Between(monthStart, now.AddSeconds(1))), 1000, cancellationToken);
        var recent = await analytics.CostByAsync("team_id", UsageAnalytics.And(scope, UsageAnalytics.Between(trendStart, now.AddSeconds(1))), 1000, cancellationToken);
        var daysLeft = (decimal)(monthEnd - now).TotalDays;
        decimal Forecast(long monthMicro, long recentMicro) =>
            UsageAnalytics.Usd(monthMicro) + (trendDays <= 0 ? 0 : decimal.Round(UsageAnalytics.Usd(recentMicro) / trendDays * daysLeft, 6));

        var recentByTeam = recent.ToDictionary(r => r.Key, r => r.CostMicroUsd);
        var teams = monthToDate.Select(t => new TeamForecast(t.Key, UsageAnalytics.Usd(t.CostMicroUsd), Forecast(t.CostMicroUsd, recentByTeam.GetValueOrDefault(t.Key))))
            .ToList();
        var (mtd, recentTotal) = (monthToDate.Sum(t => t.CostMicroUsd), recent.Sum(t => t.CostMicroUsd));
        var rate = trendDays <= 0 ? 0 : decimal.Round(UsageAnalytics.Usd(recentTotal) / trendDays, 6);
        var forecast = Forecast(mtd, recentTotal);

        IReadOnlyList<BudgetUse>? budgets = null;
        string? unavailable = null;
        try
        {
            budgets = await BudgetsAsync(scopeUserId, scope, cancellationToken);
        }
        catch (RpcException ex)
        {
            unavailable = $"Budgets could not be read from Quota: {ex.Status.StatusCode}.";
        }
        return new Spend(monthStart.UtcDateTime, monthEnd.UtcDateTime, UsageAnalytics.Usd(mtd), rate, forecast - UsageAnalytics.Usd(mtd), forecast, teams,
            budgets, unavailable);
    }

    /// <summary>Every budget on a subject the events show; "*" budgets as their most used subjects. Non-administrators see their own user's budgets only.</summary>
    private async Task<IReadOnlyList<BudgetUse>> BudgetsAsync(string? scopeUserId, string? scope, CancellationToken cancellationToken)
    {
        var list = await quota.ListBudgetsAsync(new ListBudgetsRequest(), cancellationToken: cancellationToken);
        var uses = new List<BudgetUse>();
        foreach (var b in list.Budgets)
        {
            if (!Subjects.TryGetValue(b.Subject.Kind, out var subject))
            {
                continue;
            }
            var every = b.Subject.Id == "*";
            if (scopeUserId is not null && (subject.Name != "user" || (!every && b.Subject.Id != scopeUserId)))
            {
                continue;
            }
            var (start, end) = (b.PeriodStartsAt.ToDateTimeOffset(), b.PeriodEndsAt.ToDateTimeOffset());
            var who = every ? scope : $"{subject.Column} = {ClickHouse.ClickHouseSql.String(b.Subject.Id)}";
            var spent = await analytics.CostByAsync(subject.Column, UsageAnalytics.And(who, UsageAnalytics.Between(start, end)), every ? MaxSubjectsPerBudget : 1,
                cancellationToken);
            if (!every && spent.Count == 0)
            {
                spent = [(b.Subject.Id, 0, 0)]; // nothing spent yet
            }
            foreach (var (id, cost, weighted) in spent)
            {
                decimal? limitUsd = b.LimitMicroUsd > 0 ? UsageAnalytics.Usd(b.LimitMicroUsd) : null;
                long? limitTokens = b.LimitWeightedTokens > 0 ? b.LimitWeightedTokens : null;
                double? share = new[] { limitUsd is { } u ? (double?)((double)cost / b.LimitMicroUsd) : null, limitTokens is { } t ? (double)weighted / t : null }.Max();
                uses.Add(new BudgetUse(b.Id, b.Label, subject.Name, id, b.Period, b.Action, start.UtcDateTime, end.UtcDateTime, limitUsd, UsageAnalytics.Usd(cost),
                    limitTokens, weighted, share is { } s ? Math.Round(s, 4) : null));
            }
        }
        return [.. uses.OrderByDescending(u => u.Utilisation ?? 0)];
    }
}
