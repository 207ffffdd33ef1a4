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
}
