using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ThinkWatch.AuditIngest.Logs;
using ThinkWatch.Security;

namespace ThinkWatch.AuditIngest.Analytics;

/// <summary>
/// /api/analytics: usage grouped and bucketed, month-to-date spend with forecast and budgets, top
/// sessions by cost, and a chargeback by team (CSV). Filters use the /api/logs query syntax over
/// usage events (since: defaults to 30 days back). Needs analytics:read; administrators see
/// everyone's usage, other roles their own.
/// </summary>
public static class AnalyticsApi
{
    public const string DefaultSince = "since:30d";

    public static IEndpointRouteBuilder MapAnalyticsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/analytics").WithTags("Analytics").RequirePermission(Permissions.AnalyticsRead);
        group.MapGet("/usage", UsageAsync);
        group.MapGet("/spend", async (HttpContext http, SpendReport report, CancellationToken ct) =>
            TypedResults.Ok(await report.BuildAsync(ScopeUser(http), ct)));
        group.MapGet("/sessions", SessionsAsync);
        group.MapGet("/chargeback", ChargebackAsync);
        return app;
    }

    private static async Task<Results<Ok<UsageReport>, ProblemHttpResult>> UsageAsync(HttpContext http, UsageAnalytics analytics, TimeProvider time,
        string? q, string? groupBy, string? bucket, CancellationToken cancellationToken)
    {
        if (!UsageAnalytics.GroupColumns.ContainsKey(groupBy ??= "model"))
        {
            return Problem($"groupBy must be one of: {string.Join(", ", UsageAnalytics.GroupColumns.Keys)}.");
        }
        if (!UsageAnalytics.Buckets.ContainsKey(bucket ??= "none"))
        {
            return Problem($"bucket must be one of: {string.Join(", ", UsageAnalytics.Buckets.Keys)}.");
        }
        var (where, error) = Filter(http, q, time);
        return where is null ? Problem(error!) : TypedResults.Ok(await analytics.UsageAsync(where, groupBy, bucket, cancellationToken));
    }

    private static async Task<Results<Ok<IReadOnlyList<SessionCost>>, ProblemHttpResult>> SessionsAsync(HttpContext http, UsageAnalytics analytics, TimeProvider time,
        string? q, int? limit, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 1000)
        {
            return Problem("limit must be between 1 and 1000.");
        }
        var (where, error) = Filter(http, q, time);
        return where is null ? Problem(error!) : TypedResults.Ok(await analytics.TopSessionsAsync(where, limit ?? 20, cancellationToken));
    }

    /// <summary>One calendar month (UTC, the current one by default) by team, as CSV or JSON.</summary>
    private static async Task<Results<Ok<IReadOnlyList<TeamSpend>>, ProblemHttpResult, EmptyHttpResult>> ChargebackAsync(HttpContext http, UsageAnalytics analytics,
        TimeProvider time, string? month, string? format, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        DateTimeOffset start;
        if (month is null)
        {
            start = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        }
        else if (!DateTimeOffset.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out start))
        {
            return Problem("month must be YYYY-MM.");
        }
        var label = start.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var teams = await analytics.ByTeamAsync(UsageAnalytics.And(Scope(http), UsageAnalytics.Between(start, start.AddMonths(1))), cancellationToken);
        if (string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Ok(teams);
        }
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"thinkwatch-chargeback-{label}.csv\"";
        var csv = new StringBuilder("month,team_id,requests,users,input_tokens,output_tokens,weighted_tokens,cost_usd\n");
        foreach (var t in teams)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{label},{Csv.Field(t.TeamId)},{t.Requests},{t.Users},{t.InputTokens},{t.OutputTokens},{t.WeightedTokens},{UsageAnalytics.UsdText(t.CostUsd)}\n");
        }
        await http.Response.WriteAsync(csv.ToString(), cancellationToken);
        return TypedResults.Empty;
    }

    /// <summary>The caller's filter as a condition, scoped and bounded in time; or why the query is invalid.</summary>
    private static (string? Where, string? Error) Filter(HttpContext http, string? q, TimeProvider time)
    {
        try
        {
            var query = LogQuery.Parse(LogKind.Usage, q, time.GetUtcNow());
            var since = query.HasSince ? null : LogQuery.Parse(LogKind.Usage, DefaultSince, time.GetUtcNow()).Where;
            return (UsageAnalytics.And(query.Where, since, Scope(http)), null);
        }
        catch (LogQueryException ex)
        {
            return (null, ex.Message);
        }
    }

    private static string? ScopeUser(HttpContext http) => LogsApi.ScopeUserId(ConsoleActor.From(http));

    private static string? Scope(HttpContext http) => ScopeUser(http) is { } user ? LogKind.Usage.UserIs(user) : null;

    private static ProblemHttpResult Problem(string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = StatusCodes.Status400BadRequest, Title = "Invalid analytics request", Detail = detail });
}
