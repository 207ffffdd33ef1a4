namespace ThinkWatch.Identity.Keys;

public sealed record CreateKeyRequest(
    string? Name, string[]? Surfaces, string[]? AllowedModels, string[]? AllowedMcpTools,
    Guid? OwnerUserId, Guid? TeamId, DateTimeOffset? ExpiresAt, int? InactivityTimeoutDays, string? McpAccountLabel = null);

/// <summary>Null leaves a field as it is; an empty <see cref="McpAccountLabel"/> unpins the key (back to the owner's default account).</summary>
public sealed record UpdateKeyRequest(string? Name, string[]? AllowedModels, string[]? AllowedMcpTools, DateTimeOffset? ExpiresAt, string? McpAccountLabel = null);

public sealed record RotateKeyRequest(int? GraceHours);

/// <summary>A key as lists show it: never the key, never its hash.</summary>
public sealed record KeyView(
    Guid Id, Guid LineageId, string Name, string KeyHint, Guid OwnerUserId, Guid? TeamId, string[] Surfaces,
    string[] AllowedModels, string[] AllowedMcpTools, string? McpAccountLabel, DateTimeOffset? ExpiresAt, int? InactivityTimeoutDays,
    DateTimeOffset? LastUsedAt, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt, DateTimeOffset? GraceUntil, string Status);

/// <summary>A key just created or rotated: the one response that carries the plaintext.</summary>
public sealed record NewKeyView(KeyView Key, string Secret)
{
    public string Notice => "Store this key now: ThinkWatch keeps only its hash and cannot show it again.";
}
