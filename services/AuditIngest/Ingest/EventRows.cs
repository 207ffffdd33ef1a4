using ThinkWatch.Contracts.Events;

namespace ThinkWatch.AuditIngest.Ingest;

/// <summary>A row of one of the event tables: its id de-duplicates, its time places it in a partition.</summary>
public interface IEventRow
{
    string EventId { get; }
    DateTimeOffset Ts { get; }
}

// Rows as ClickHouse stores them (property names become snake_case columns, see ClickHouse/0001_events.sql).
// Absent values become "" (or -1) rather than NULL: plain columns are faster and simpler to filter.

public sealed record UsageRow(
    string EventId, DateTimeOffset Ts, string TraceId, string UserId, string TeamId, string ApiKeyId, string Provider, string Model, string Endpoint,
    long InputTokens, long OutputTokens, long CachedInputTokens, long ReasoningTokens, byte TokensEstimated, long WeightedTokens, long CostMicroUsd,
    int LatencyMs, int TtftMs, int Status, byte Stream, IReadOnlyList<string> Tags, string UpstreamModel) : IEventRow
{
    public const string Table = "usage_events";

    public static UsageRow From(UsageRecorded e) => new(
        e.EventId.ToString(), e.OccurredAt, e.TraceId ?? "", e.UserId, e.TeamId ?? "", e.ApiKeyId, e.Provider, e.Model, e.Endpoint,
        e.InputTokens, e.OutputTokens, e.CachedInputTokens, e.ReasoningTokens, e.TokensEstimated ? (byte)1 : (byte)0, e.WeightedTokens, e.CostMicroUsd,
        e.LatencyMs, e.TimeToFirstTokenMs ?? -1, e.Status, e.Stream ? (byte)1 : (byte)0, e.Tags ?? [], e.UpstreamModel ?? "");
}

public sealed record McpCallRow(
    string EventId, DateTimeOffset Ts, string TraceId, string UserId, string ApiKeyId, string AccountLabel, string ServerId, string Tool,
    string Arguments, long ResponseBytes, int LatencyMs, string Error, byte Cached) : IEventRow
{
    public const string Table = "mcp_calls";

    public static McpCallRow From(McpCallRecorded e) => new(
        e.EventId.ToString(), e.OccurredAt, e.TraceId ?? "", e.UserId, e.ApiKeyId ?? "", e.AccountLabel ?? "", e.ServerId, e.Tool,
        e.ArgumentsJson, e.ResponseBytes, e.LatencyMs, e.Error ?? "", e.Cached ? (byte)1 : (byte)0);
}

public sealed record AdminAuditRow(
    string EventId, DateTimeOffset Ts, string TraceId, string ActorUserId, string Action, string TargetKind, string TargetId, string ClientIp,
    string Details) : IEventRow
{
    public const string Table = "admin_audit";

    public static AdminAuditRow From(AdminActionRecorded e) => new(
        e.EventId.ToString(), e.OccurredAt, e.TraceId ?? "", e.ActorUserId, e.Action, e.TargetKind, e.TargetId ?? "", e.ClientIp ?? "", e.DetailsJson ?? "");
}

public sealed record AccessRow(
    string EventId, DateTimeOffset Ts, string TraceId, string Surface, string Reason, string UserId, string ApiKeyId, string ClientIp,
    string RuleLabel, string Detail) : IEventRow
{
    public const string Table = "access_events";

    public static AccessRow From(AccessDenied e) => new(
        e.EventId.ToString(), e.OccurredAt, e.TraceId ?? "", e.Surface, e.Reason, e.UserId ?? "", e.ApiKeyId ?? "", e.ClientIp ?? "", e.RuleLabel ?? "", e.Detail ?? "");
}
