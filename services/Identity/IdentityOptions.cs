using System.ComponentModel.DataAnnotations;

namespace ThinkWatch.Identity;

public sealed class IdentityOptions
{
    public const string Section = "Identity";

    /// <summary>How long a gateway may cache a key validation answer.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Soft-deleted users are purged after this long.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan PurgeDeletedAfter { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Argon2id memory per password hash, in KiB (OWASP: 19 MiB with 2 passes).</summary>
    [Range(8_192, 1_048_576)]
    public int PasswordHashMemoryKib { get; set; } = 19_456;

    [Range(1, 10)]
    public int PasswordHashIterations { get; set; } = 2;

    /// <summary>Failed sign-ins for one account within <see cref="LoginFailureWindow"/> before it is locked.</summary>
    [Range(1, 100)]
    public int MaxFailedLoginsPerAccount { get; set; } = 5;

    /// <summary>Failed sign-ins from one IP within <see cref="LoginFailureWindow"/> before it is locked out.</summary>
    [Range(1, 10_000)]
    public int MaxFailedLoginsPerIp { get; set; } = 20;

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan LoginFailureWindow { get; set; } = TimeSpan.FromMinutes(15);

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a console session (its refresh tokens) lasts after sign-in.</summary>
    [Range(typeof(TimeSpan), "00:10:00", "90.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Sessions that ended (expired or revoked) longer ago than this are deleted with their refresh tokens.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan KeepEndedSessions { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Reverse proxies whose X-Forwarded-For is believed (the client IP binds sessions and throttles sign-ins).</summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>Keys expiring within this window get a KeyExpiring event, once.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "90.00:00:00")]
    public TimeSpan KeyExpiryWarning { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often purging, pruning and expiry warnings run.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromHours(1);
}
