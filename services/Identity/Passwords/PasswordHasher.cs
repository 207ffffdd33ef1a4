using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

namespace ThinkWatch.Identity.Passwords;

/// <summary>
/// Argon2id password hashes in the PHC string format
/// ($argon2id$v=19$m=19456,t=2,p=1$salt$hash), compared in constant time. The parameters
/// are read back from each hash, so raising them later does not lock anyone out.
/// </summary>
public sealed class PasswordHasher(int memoryKib = 19_456, int iterations = 2, int parallelism = 1)
{
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public string Hash(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Compute(password, salt, memoryKib, iterations, parallelism, HashBytes);
        return string.Create(CultureInfo.InvariantCulture,
            $"$argon2id$v=19$m={memoryKib},t={iterations},p={parallelism}${B64(salt)}${B64(hash)}");
    }

    public bool Verify(string password, string phc)
    {
        if (string.IsNullOrEmpty(password) || !TryParse(phc, out var m, out var t, out var p, out var salt, out var expected))
        {
            return false;
        }
        var actual = Compute(password, salt, m, t, p, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>True when the hash was made with weaker parameters than today's: rehash at next sign-in.</summary>
    public bool NeedsRehash(string phc) =>
        !TryParse(phc, out var m, out var t, out var p, out _, out _) || m < memoryKib || t < iterations || p != parallelism;

    private static byte[] Compute(string password, byte[] salt, int memoryKib, int iterations, int parallelism, int length)
    {
        using var argon = new Argon2id(Encoding.UTF8.GetBytes(password))
        {
            Salt = salt,
            MemorySize = memoryKib,
            Iterations = iterations,
            DegreeOfParallelism = parallelism,
        };
        return argon.GetBytes(length);
    }

    private static bool TryParse(string phc, out int m, out int t, out int p, out byte[] salt, out byte[] hash)
    {
        m = t = p = 0;
        salt = hash = [];
        var parts = phc.Split('$');
        if (parts.Length != 6 || parts[1] != "argon2id" || parts[2] != "v=19")
        {
            return false;
        }
        foreach (var setting in parts[3].Split(','))
        {
            var kv = setting.Split('=', 2);
            if (kv.Length != 2 || !int.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
            {
                return false;
            }
            switch (kv[0])
            {
                case "m": m = value; break;
                case "t": t = value; break;
                case "p": p = value; break;
                default: return false;
            }
        }
        try
        {
            salt = FromB64(parts[4]);
            hash = FromB64(parts[5]);
        }
        catch (FormatException)
        {
            return false;
        }
        // Bounds keep a tampered row from turning verification into a denial of service.
        return m is >= 8 and <= 1_048_576 && t is >= 1 and <= 16 && p is >= 1 and <= 16 && salt.Length >= 8 && hash.Length >= 16;
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static byte[] FromB64(string s) => Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
}
