using System.Security.Cryptography;

namespace ThinkWatch.Identity.Keys;

/// <summary>The surfaces a key can be used on, as stored and as clients write them.</summary>
public static class KeySurfaces
{
    public const string AiGateway = "ai_gateway";
    public const string McpGateway = "mcp_gateway";
    public static IReadOnlyList<string> All { get; } = [AiGateway, McpGateway];
}

/// <summary>
/// Virtual API keys: "tw-" and 44 characters drawn uniformly from 62 (≈ 262 bits of
/// randomness). Only the SHA-256 of a key is stored; the key is shown once, at creation.
/// </summary>
public static class KeyMaterial
{
    public const string Prefix = "tw-";
    private const int RandomChars = 44;
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Generate() => Prefix + RandomNumberGenerator.GetString(Alphabet, RandomChars);

    public static byte[] Hash(string key) => Security.TokenHash.Of(key);

    /// <summary>Enough of the key to recognise it in a list, never enough to use it.</summary>
    public static string Hint(string key) => key[..(Prefix.Length + 6)] + "…";

    public static bool LooksLikeKey(string? value) =>
        value is { Length: > 3 } && value.StartsWith(Prefix, StringComparison.Ordinal) && value.Length == Prefix.Length + RandomChars
        && value.AsSpan(Prefix.Length).IndexOfAnyExcept(Alphabet) < 0;
}

/// <summary>A stored key, with what validation needs to know about its owner.</summary>
public sealed record ApiKeyRecord
{
    public required Guid Id { get; init; }
    public required Guid LineageId { get; init; }
    public required string KeyHint { get; init; }
    public required string Name { get; init; }
    public required Guid OwnerUserId { get; init; }
    public Guid? TeamId { get; init; }
    public required string[] Surfaces { get; init; }
    public string[] AllowedModels { get; init; } = [];
    public string[] AllowedMcpTools { get; init; } = [];
    public string? McpAccountLabel { get; init; }
    // timestamptz columns, read as UTC DateTime (Dapper does not convert to DateTimeOffset).
    public DateTime? ExpiresAt { get; init; }
    public TimeSpan? InactivityTimeout { get; init; }
    public DateTime? LastUsedAt { get; init; }
    public required DateTime CreatedAt { get; init; }
    public DateTime? RevokedAt { get; init; }
    public DateTime? GraceUntil { get; init; }
    // The owner, joined in.
    public string OwnerRole { get; init; } = "";
    public bool OwnerActive { get; init; }
}

/// <summary>What a caller asks for when creating a key.</summary>
public sealed record NewApiKey(
    string Name,
    Guid OwnerUserId,
    Guid? TeamId,
    IReadOnlyList<string> Surfaces,
    IReadOnlyList<string> AllowedModels,
    IReadOnlyList<string> AllowedMcpTools,
    DateTimeOffset? ExpiresAt,
    TimeSpan? InactivityTimeout,
    string? McpAccountLabel = null);

/// <summary>A key just created: the only time its plaintext exists outside the caller.</summary>
public sealed record CreatedApiKey(Guid Id, Guid LineageId, string Key, string KeyHint);
