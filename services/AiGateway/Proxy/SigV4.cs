using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>AWS credentials for signing; <paramref name="SessionToken"/> for temporary ones.</summary>
public sealed record AwsCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken);

/// <summary>
/// AWS Signature Version 4 for a request with its whole body in hand (Bedrock's are JSON):
/// signs host, content-type, x-amz-date, x-amz-content-sha256 and the session token if any.
/// Path segments are encoded once more in the canonical request, as every service but S3 wants.
/// </summary>
public static class SigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    public static void Sign(HttpRequestMessage request, byte[] body, AwsCredentials credentials, string region, string service, DateTimeOffset now)
    {
        var uri = request.RequestUri!;
        var amzDate = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var payloadHash = Hex(SHA256.HashData(body));
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}",
            ["x-amz-date"] = amzDate,
            ["x-amz-content-sha256"] = payloadHash,
        };
        if (request.Content?.Headers.ContentType is { } contentType)
        {
            headers["content-type"] = contentType.ToString();
        }
        if (credentials.SessionToken is { Length: > 0 } token)
        {
            headers["x-amz-security-token"] = token;
        }
        var canonicalUri = string.Join('/', uri.AbsolutePath.Split('/').Select(Encode));
        var canonicalQuery = string.Join('&', (uri.Query.Length > 1 ? uri.Query[1..].Split('&') : [])
            .Select(p => p.Split('=', 2)).Select(kv => (Key: Encode(Uri.UnescapeDataString(kv[0])), Value: Encode(Uri.UnescapeDataString(kv.Length > 1 ? kv[1] : ""))))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).ThenBy(kv => kv.Value, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        var authorization = Authorization(request.Method.Method, canonicalUri, canonicalQuery, headers, payloadHash, amzDate, region, service, credentials);
        foreach (var (name, value) in headers)
        {
            if (name is not ("host" or "content-type"))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
    }

    /// <summary>The Authorization header for a canonical request's parts (public for the published test vectors).</summary>
    public static string Authorization(string method, string canonicalUri, string canonicalQuery, IReadOnlyDictionary<string, string> headers,
        string payloadHash, string amzDate, string region, string service, AwsCredentials credentials)
    {
        var sorted = headers.OrderBy(h => h.Key, StringComparer.Ordinal).ToList();
        var signedHeaders = string.Join(';', sorted.Select(h => h.Key));
        var canonical = new StringBuilder()
            .Append(method).Append('\n')
            .Append(canonicalUri).Append('\n')
            .Append(canonicalQuery).Append('\n');
        foreach (var (name, value) in sorted)
        {
            canonical.Append(name).Append(':').Append(value.Trim()).Append('\n');
        }
        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(payloadHash);
        var date = amzDate[..8];
        var scope = $"{date}/{region}/{service}/aws4_request";
        var toSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + credentials.SecretAccessKey), date), region), service), "aws4_request");
        var signature = Hex(Hmac(key, toSign));
        return $"{Algorithm} Credential={credentials.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
    }

    /// <summary>RFC 3986 percent-encoding of everything but unreserved characters, upper-case hex.</summary>
    public static string Encode(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return sb.ToString();
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
