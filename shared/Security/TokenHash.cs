using System.Security.Cryptography;
using System.Text;

namespace ThinkWatch.Security;

/// <summary>
/// How ThinkWatch stores and looks up bearer secrets (API keys, refresh tokens, SSO state):
/// SHA-256 of the UTF-8 text. They carry 256 bits of randomness, so a fast hash is enough.
/// </summary>
public static class TokenHash
{
    public static byte[] Of(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
