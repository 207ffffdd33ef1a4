using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using StackExchange.Redis;
using ThinkWatch.McpGateway.Servers;
using ThinkWatch.McpGateway.Upstream;

namespace ThinkWatch.McpGateway.Mcp;

/// <summary>
/// Answers of read-only tools (`readOnlyHint`), shared by every replica through Redis for
/// <see cref="McpGatewayOptions.ResponseCacheTtl"/>. Keyed by server, tool and arguments, and —
/// for servers used with users' own accounts — by user and account label, so one user's answer is
/// never served to another; only servers without per-user credentials share answers globally.
/// Tool errors are not kept; a Redis outage only means no cache.
/// </summary>
public sealed partial class ResponseCache(IConnectionMultiplexer redis, IOptions<McpGatewayOptions> options, ILogger<ResponseCache> logger)
{
    /// <summary>Larger answers are not kept.</summary>
    public const int MaxBytes = 256 * 1024;

    /// <summary>Whether answers are cached at all (a zero TTL turns the cache off).</summary>
    public bool Enabled => options.Value.ResponseCacheTtl > TimeSpan.Zero;

    /// <summary>The key for this call, or null when it is not cached (a tool that is not read-only).</summary>
    public static string? KeyFor(UpstreamRoute route, Tool? tool, IDictionary<string, JsonElement>? arguments)
    {
        if (tool?.Annotations?.ReadOnlyHint != true)
        {
            return null;
        }
        var scope = route.Server.AuthMode == AuthModes.None ? "global" : $"user:{route.Credential!.UserId}:{route.Credential.Label}";
        var canonical = JsonSerializer.Serialize(arguments?.OrderBy(a => a.Key, StringComparer.Ordinal).ToDictionary() ?? []);
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{route.Server.Id:N}\n{route.Server.UpdatedAt.UtcTicks}\n{scope}\n{tool.Name}\n{canonical}"));
        return "mcp:answer:" + Convert.ToHexStringLower(digest);
    }

    /// <summary>The cached answer and its size in bytes, or null.</summary>
    public async Task<(CallToolResult Result, long Bytes)?> GetAsync(string key)
    {
        try
        {
            var value = await redis.GetDatabase().StringGetAsync(key);
            if (value.IsNullOrEmpty)
            {
                return null;
            }
            var bytes = (byte[])value!;
            return (JsonSerializer.Deserialize<CallToolResult>(bytes, McpJsonUtilities.DefaultOptions)!, bytes.LongLength);
        }
        catch (RedisException ex)
        {
            LogCacheUnavailable(logger, ex.Message);
            return null;
        }
    }

    public async Task SetAsync(string key, CallToolResult result, byte[] serialized)
    {
        if (result.IsError == true || serialized.Length > MaxBytes)
        {
            return;
        }
        try
        {
            await redis.GetDatabase().StringSetAsync(key, serialized, options.Value.ResponseCacheTtl);
        }
        catch (RedisException ex)
        {
            LogCacheUnavailable(logger, ex.Message);
        }
    }

    [LoggerMessage(EventId = 7104, Level = LogLevel.Warning, Message = "The response cache (Redis) is unavailable: {Reason}")]
    private static partial void LogCacheUnavailable(ILogger logger, string reason);
}
