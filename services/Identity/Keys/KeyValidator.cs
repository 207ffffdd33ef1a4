using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Security;
using Google.Protobuf.WellKnownTypes;
using ThinkWatch.Integrations;

namespace ThinkWatch.Identity.Keys;

/// <summary>Decides what a key hash is worth on a surface, right now.</summary>
public sealed class KeyValidator(ApiKeyStore store, TimeProvider time)
{
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    public async Task<ValidateKeyResponse> ValidateAsync(byte[] keyHash, Surface surface, CancellationToken cancellationToken)
    {
        var key = await store.FindByHashAsync(keyHash, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        if (Reject(key, surface, now) is { } rejection)
        {
            return new ValidateKeyResponse { Rejection = rejection };
        }
        await store.TouchAsync(key!.Id, now, LastUsedResolution, cancellationToken);
        return new ValidateKeyResponse { Principal = ToPrincipal(key) };
    }

    /// <summary>The first reason the key cannot be used, most definitive first; null when it can.</summary>
    public static KeyRejection? Reject(ApiKeyRecord? key, Surface surface, DateTime now) => key switch
    {
        null => Rejection(RejectionReason.Unknown, "Unknown API key."),
        { RevokedAt: not null } => Rejection(RejectionReason.Revoked, "This API key was revoked."),
        { GraceUntil: { } grace } when grace <= now => Rejection(RejectionReason.Revoked, "This API key was rotated and its grace period has ended; use the new key."),
        { ExpiresAt: { } expires } when expires <= now => Rejection(RejectionReason.Expired, $"This API key expired at {expires:u}."),
        { InactivityTimeout: { } idle } when (key.LastUsedAt ?? key.CreatedAt) + idle <= now =>
            Rejection(RejectionReason.Inactive, "This API key was disabled after a period without use."),
        { OwnerActive: false } => Rejection(RejectionReason.OwnerDisabled, "The owner of this API key is disabled."),
        _ when !key.Surfaces.Contains(SurfaceName(surface)) =>
            Rejection(RejectionReason.WrongSurface, $"This API key is not allowed on the {SurfaceName(surface)} surface."),
        _ => null,
    };

    public static string SurfaceName(Surface surface) => surface switch
    {
        Surface.AiGateway => KeySurfaces.AiGateway,
        Surface.McpGateway => KeySurfaces.McpGateway,
        _ => "unspecified",
    };

    private static KeyRejection Rejection(RejectionReason reason, string message) => new() { Reason = reason, Message = message };

    private static Principal ToPrincipal(ApiKeyRecord key)
    {
        var principal = new Principal
        {
            KeyId = key.Id.ToString(),
            KeyLineageId = key.LineageId.ToString(),
            UserId = key.OwnerUserId.ToString(),
            TeamId = key.TeamId?.ToString() ?? "",
            Role = key.OwnerRole,
        };
        principal.Permissions.AddRange(Roles.PermissionsOf(key.OwnerRole).Order(StringComparer.Ordinal));
        principal.AllowedModels.AddRange(key.AllowedModels);
        principal.AllowedMcpTools.AddRange(key.AllowedMcpTools);
        principal.McpAccountLabel = key.McpAccountLabel ?? "";
        if (key.ExpiresAt is { } expires)
        {
            principal.ExpiresAt = Timestamp.FromDateTimeOffset(expires.AsUtc());
        }
        // Limits follow the lineage, so rotating a key does not reset its counters.
        principal.LimitSubjects.Add(new Subject { Kind = SubjectKind.ApiKey, Id = key.LineageId.ToString() });
        principal.LimitSubjects.Add(new Subject { Kind = SubjectKind.User, Id = key.OwnerUserId.ToString() });
        if (key.TeamId is { } team)
        {
            principal.LimitSubjects.Add(new Subject { Kind = SubjectKind.Team, Id = team.ToString() });
        }
        foreach (var surface in key.Surfaces)
        {
            principal.Surfaces.Add(surface == KeySurfaces.AiGateway ? Surface.AiGateway : Surface.McpGateway);
        }
        return principal;
    }
}
