using System.Collections.Frozen;
using System.Globalization;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.AuditIngest.Logs;
using ThinkWatch.ClickHouse;

namespace ThinkWatch.AuditIngest.Analytics;

/// <summary>Requests, tokens and cost of a group of usage events; money in US dollars (stored as millionths).</summary>
public sealed record UsageTotals(long Requests, long InputTokens, long OutputTokens, long WeightedTokens, decimal CostUsd);

public sealed record UsageGroup(string Key, DateTime? Bucket, long Requests, long InputTokens, long OutputTokens, long WeightedTokens, decimal CostUsd);

public sealed record UsageReport(string GroupBy, string Bucket, IReadOnlyList<UsageGroup> Groups, UsageTotals Totals, bool Truncated);

public sealed record SessionCost(string Session, long Requests, IReadOnlyList<string> Users, IReadOnlyList<string> Models, DateTime FirstAt, DateTime LastAt,
    long InputTokens, long OutputTokens, decimal CostUsd);

public sealed record TeamSpend(string TeamId, long Requests, long Users, long InputTokens, long OutputTokens, long WeightedTokens, decimal CostUsd);

/// <summary>
/// Aggregations over usage_events. Every method takes the caller's filter (a <see cref="LogQuery"/> on
/// usage, already scoped to one user for non-administrators) and builds SQL only from known columns
/// and escaped literals.
/// </summary>
public sealed class UsageAnalytics(ClickHouseClient clickHouse)
{
    public const int MaxGroups = 10_000;

    /// <summary>What /api/analytics/usage can group by, and the column (or array element) each means.</summary>
    public static readonly FrozenDictionary<string, string> GroupColumns = new Dictionary<string, string>
    {
        ["none"] = "''",
        ["user"] = "user_id",
        ["team"] = "team_id",
        ["model"] = "model",
        ["provider"] = "provider",
        ["api_key"] = "api_key_id",
        ["endpoint"] = "endpoint",
        ["tag"] = "arrayJoin(tags)",
    }.ToFrozenDictionary();

    public static readonly FrozenDictionary<string, string?> Buckets = new Dictionary<string, string?>
    {
        ["none"] = null,
        ["hour"] = "toStartOfHour(ts)",
        ["day"] = "toDateTime(toDate(ts))",
        ["week"] = "toDateTime(toMonday(ts))",
        ["month"] = "toDateTime(toStartOfMonth(ts))",
    }.ToFrozenDictionary();

    private const string Sums = """
        count() AS requests, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
        sum(weighted_tokens) AS weighted_tokens, sum(cost_micro_usd) AS cost_micro_usd
        """;

    public async Task<UsageReport> UsageAsync(string where, string groupBy, string bucket, CancellationToken cancellationToken)
    {
        var key = GroupColumns[groupBy];
        var time = Buckets[bucket] is { } b ? $"toString({b})" : "''";
        var rows = await clickHouse.QueryAsync<GroupRow>($"""
            SELECT {key} AS key, {time} AS bucket, {Sums}
            FROM {UsageRow.Table} WHERE {where}
            GROUP BY key, bucket ORDER BY bucket, cost_micro_usd DESC, key LIMIT {MaxGroups + 1}
            """, cancellationToken);
        var groups = rows.Take(MaxGroups).Select(r => new UsageGroup(r.Key, r.Bucket.Length == 0 ? null
                : DateTime.ParseExact(r.Bucket, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal), r.Requests, r.InputTokens, r.OutputTokens,
            r.WeightedTokens, Usd(r.CostMicroUsd))).ToList();
        return new UsageReport(groupBy, bucket, groups, await TotalsAsync(where, cancellationToken), rows.Count > MaxGroups);
    }

    private async Task<UsageTotals> TotalsAsync(string where, CancellationToken cancellationToken)
    {
        var row = (await clickHouse.QueryAsync<GroupRow>($"SELECT '' AS key, '' AS bucket, {Sums} FROM {UsageRow.Table} WHERE {where}", cancellationToken))[0];
        return new UsageTotals(row.Requests, row.InputTokens, row.OutputTokens, row.WeightedTokens, Usd(row.CostMicroUsd));
    }

    /// <summary>Cost per value of <paramref name="column"/> (one of <see cref="GroupColumns"/>' columns), largest first.</summary>
    public async Task<IReadOnlyList<(string Key, long CostMicroUsd, long WeightedTokens)>> CostByAsync(string column, string where, int limit,
        CancellationToken cancellationToken)
    {
        if (!GroupColumns.Values.Contains(column))
        {
            throw new ArgumentException($"unknown column {column}", nameof(column));
        }
        var rows = await clickHouse.QueryAsync<GroupRow>($"""
            SELECT {column} AS key, '' AS bucket, {Sums}
            FROM {UsageRow.Table} WHERE {where} GROUP BY key ORDER BY cost_micro_usd DESC, key LIMIT {limit}
            """, cancellationToken);
        return [.. rows.Select(r => (r.Key, r.CostMicroUsd, r.WeightedTokens))];
    }

    /// <summary>
    /// Sessions are tagged session:&lt;id&gt; or session_id:&lt;id&gt; (X-ThinkWatch-Tag or request metadata);
    /// the most expensive first.
    /// </summary>
    public async Task<IReadOnlyList<SessionCost>> TopSessionsAsync(string where, int limit, CancellationToken cancellationToken)
    {
        var rows = await clickHouse.QueryAsync<SessionRow>($"""
            SELECT substring(tag, position(tag, ':') + 1) AS session, count() AS requests,
                   arraySlice(groupUniqArray(user_id), 1, 10) AS users, arraySlice(groupUniqArray(model), 1, 10) AS models, min(ts) AS first_at, max(ts) AS last_at,
                   sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cost_micro_usd) AS cost_micro_usd
            FROM {UsageRow.Table}
            ARRAY JOIN arrayFilter(t -> position(t, 'session:') = 1 OR position(t, 'session_id:') = 1, tags) AS tag
            WHERE {where}
            GROUP BY session ORDER BY cost_micro_usd DESC, session LIMIT {limit}
            """, cancellationToken);
        return [.. rows.Select(r => new SessionCost(r.Session, r.Requests, [.. r.Users.Order(StringComparer.Ordinal)], [.. r.Models.Order(StringComparer.Ordinal)],
            r.FirstAt, r.LastAt, r.InputTokens, r.OutputTokens, Usd(r.CostMicroUsd)))];
    }

    public async Task<IReadOnlyList<TeamSpend>> ByTeamAsync(string where, CancellationToken cancellationToken)
    {
        var rows = await clickHouse.QueryAsync<TeamRow>($"""
            SELECT team_id, uniqExact(user_id) AS users, {Sums}
            FROM {UsageRow.Table} WHERE {where} GROUP BY team_id ORDER BY cost_micro_usd DESC, team_id
            """, cancellationToken);
        return [.. rows.Select(r => new TeamSpend(r.TeamId, r.Requests, r.Users, r.InputTokens, r.OutputTokens, r.WeightedTokens, Usd(r.CostMicroUsd)))];
    }

    /// <summary>The condition for events in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public static string Between(DateTimeOffset from, DateTimeOffset to) => $"ts >= {ClickHouseSql.Literal(from)} AND ts < {ClickHouseSql.Literal(to)}";

    public static string And(params string?[] conditions) => string.Join(" AND ", conditions.Where(c => c is not null).Select(c => $"({c})"));

    public static decimal Usd(long microUsd) => microUsd / 1_000_000m;

    public static string UsdText(decimal usd) => usd.ToString("0.000000", CultureInfo.InvariantCulture);

    private sealed record GroupRow(string Key, string Bucket, long Requests, long InputTokens, long OutputTokens, long WeightedTokens, long CostMicroUsd);

    private sealed record SessionRow(string Session, long Requests, string[] Users, string[] Models, DateTime FirstAt, DateTime LastAt, long InputTokens,
        long OutputTokens, long CostMicroUsd);

    private sealed record TeamRow(string TeamId, long Users, long Requests, long InputTokens, long OutputTokens, long WeightedTokens, long CostMicroUsd);
}
