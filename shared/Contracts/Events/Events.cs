namespace ThinkWatch.Contracts.Events;

// Messages on the bus. Every event carries an EventId for de-duplication downstream
// (redelivery and spool replay may deliver one twice) and the trace id of the request
// that caused it.

/// <summary>An AI request, complete: who, what, how much, how it went.</summary>
public sealed record UsageRecorded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string? TraceId,
    string UserId,
    string? TeamId,
    string ApiKeyId,
    string Provider,
    string Model,
    string Endpoint,
    long InputTokens,
    long OutputTokens,
    long CachedInputTokens,
    long ReasoningTokens,
    bool TokensEstimated,
    long WeightedTokens,
    long CostMicroUsd,
    int LatencyMs,
    int? TimeToFirstTokenMs,
    int Status,
    bool Stream,
    IReadOnlyList<string> Tags,
    // The model the upstream was asked for (an alias names another); absent from older producers.
    string? UpstreamModel = null);

/// <summary>An MCP tool invocation through the MCP gateway; <see cref="Cached"/>: answered from the gateway's response cache, not upstream.</summary>
public sealed record McpCallRecorded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string? TraceId,
    string UserId,
    string? ApiKeyId,
    string? AccountLabel,
    string ServerId,
    string Tool,
    string ArgumentsJson,
    long ResponseBytes,
    int LatencyMs,
    string? Error,
    bool Cached = false);

/// <summary>An administrative action: who did what to what, from where.</summary>
public sealed record AdminActionRecorded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string? TraceId,
    string ActorUserId,
    string Action,
    string TargetKind,
    string? TargetId,
    string? ClientIp,
    string? DetailsJson);

/// <summary>
/// Refused access: bad keys, forbidden models or tools, rate limits. Reason is a short code
/// (authentication, permission, rate_limit), Detail what the client was told.
/// </summary>
public sealed record AccessDenied(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string? TraceId,
    string Surface,
    string Reason,
    string? UserId,
    string? ApiKeyId,
    string? ClientIp,
    string? RuleLabel,
    string? Detail = null);

/// <summary>A key was revoked: gateways drop it from their caches at once.</summary>
public sealed record KeyRevoked(Guid EventId, DateTimeOffset OccurredAt, string KeyId, string KeyHashHex);

/// <summary>A key expires soon: tell its owner (ExpiresAt is within the warning window).</summary>
public sealed record KeyExpiring(Guid EventId, DateTimeOffset OccurredAt, string KeyId, string OwnerUserId, string KeyName, DateTimeOffset ExpiresAt);

/// <summary>A key's grants, expiry or owner changed: gateways drop their cached copy.</summary>
public sealed record KeyChanged(Guid EventId, DateTimeOffset OccurredAt, string KeyId, string KeyHashHex);

/// <summary>Configuration owned by a service changed (rules, routes, providers, servers).</summary>
public sealed record ConfigChanged(Guid EventId, DateTimeOffset OccurredAt, string Area, string? EntityId);

/// <summary>
/// A budget crossed a threshold (50, 80, 95, 100 % by default) of its limit in tokens or dollars:
/// announced once per threshold per period.
/// </summary>
public sealed record BudgetThresholdCrossed(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string BudgetId,
    string SubjectKind,
    string SubjectId,
    string Period,
    DateTimeOffset PeriodStart,
    int ThresholdPercent,
    string Action,
    long UsedWeightedTokens,
    long? LimitWeightedTokens,
    long UsedMicroUsd,
    long? LimitMicroUsd);
