using ThinkWatch.Contracts.Events;
using ThinkWatch.Testing;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>Events as the services publish them, numbered so a test can tell which arrived.</summary>
public static class Events
{
    /// <summary>
    /// When event n happened: n seconds after this, three hours before <see cref="TestClock.Start"/>,
    /// so even the 10,000 events a test numbers are in the past of every clock the tests start.
    /// </summary>
    public static readonly DateTimeOffset At = TestClock.Start.AddHours(-3);

    /// <summary>An id that is the same for the same (run, n): a re-sent event carries its original id.</summary>
    public static Guid Id(string run, int n) => new(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes($"{run}/{n}")));

    public static UsageRecorded Usage(string user, int n, DateTimeOffset? at = null, string model = "gpt-4o", string? team = "team-a", long cost = 1500) =>
        new(Id(user, n), at ?? At.AddSeconds(n), $"trace-{n}", user, team, $"key-{user}", "openai", model, "/v1/chat/completions",
            InputTokens: 100 + n, OutputTokens: 20, CachedInputTokens: 10, ReasoningTokens: 0, TokensEstimated: false, WeightedTokens: 130 + n, CostMicroUsd: cost,
            LatencyMs: 250, TimeToFirstTokenMs: n % 2 == 0 ? 40 : null, Status: 200, Stream: n % 2 == 0, Tags: ["project:atlas", $"n:{n}"],
            UpstreamModel: n % 2 == 0 ? model + "-2024-08-06" : null);

    public static McpCallRecorded McpCall(string user, int n) =>
        new(Id(user + "/mcp", n), At.AddSeconds(n), null, user, null, "work-github", "github", "search_issues", """{"q":"it's \"quoted\""}""", 2048, 75,
            n % 3 == 0 ? "upstream timeout" : null);

    public static AdminActionRecorded Admin(string actor, int n) =>
        new(Id(actor + "/admin", n), At.AddSeconds(n), "trace-admin", actor, "key.revoke", "api_key", $"key-{n}", "10.0.0.7", """{"reason":"leaked"}""");

    public static AccessDenied Access(string user, int n) =>
        new(Id(user + "/access", n), At.AddSeconds(n), null, "ai_gateway", "rate_limited", user, $"key-{user}", "192.0.2.1", "api_key:requests/1m");
}
