using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ThinkWatch.Security;

namespace ThinkWatch.AuditIngest.Logs;

/// <summary>
/// /api/logs: search one event table (kind = usage, mcp, admin, access) with the query syntax of
/// <see cref="LogQuery"/>, a page at a time or as CSV. Needs logs:read; only administrators see every
/// user's events — other roles see their own.
/// </summary>
public static class LogsApi
{
    public static IEndpointRouteBuilder MapLogsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/logs", SearchAsync).WithTags("Logs").RequirePermission(Permissions.LogsRead);
        return app;
    }

    private static async Task<Results<Ok<LogPage>, ProblemHttpResult, EmptyHttpResult>> SearchAsync(HttpContext http, LogSearch search, TimeProvider time,
        string? kind, string? q, int? limit, string? cursor, string? format, CancellationToken cancellationToken)
    {
        if (!LogKind.All.TryGetValue(kind ?? "usage", out var logKind))
        {
            return Problem($"kind must be one of: {string.Join(", ", LogKind.All.Keys)}.");
        }
        if (limit is < 1 or > LogSearch.MaxPage)
        {
            return Problem($"limit must be between 1 and {LogSearch.MaxPage}.");
        }
        LogQuery query;
        try
        {
            query = LogQuery.Parse(logKind, q, time.GetUtcNow());
        }
        catch (LogQueryException ex)
        {
            return Problem(ex.Message);
        }
        var scope = ScopeUserId(ConsoleActor.From(http));
        if (string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase))
        {
            http.Response.ContentType = "text/csv; charset=utf-8";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"thinkwatch-{logKind.Name}-logs.csv\"";
            await search.WriteCsvAsync(query, scope, http.Response.Body, cancellationToken);
            return TypedResults.Empty;
        }
        try
        {
            return TypedResults.Ok(await search.PageAsync(query, scope, limit ?? 100, cursor, cancellationToken));
        }
        catch (LogQueryException ex)
        {
            return Problem(ex.Message);
        }
    }

    /// <summary>Null for administrators (every user's events); otherwise the caller's own user id.</summary>
    public static string? ScopeUserId(ConsoleActor actor) => actor.Role is Roles.SuperAdmin or Roles.Admin ? null : actor.UserId.ToString();

    private static ProblemHttpResult Problem(string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = StatusCodes.Status400BadRequest, Title = "Invalid log query", Detail = detail });
}
