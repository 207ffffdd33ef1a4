using System.Text.Json;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using StackExchange.Redis;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Mcp;

/// <summary>
/// MCP sessions that outlive the replica that opened them: the initialize handshake (client info,
/// capabilities, protocol version) and the user it belongs to are kept in Redis, so a request
/// that reaches another replica continues the session there (the SDK's session migration); an id
/// Redis does not know, or one of another user, is answered 404 as the spec asks.
/// </summary>
public sealed class RedisSessions(IConnectionMultiplexer redis, Microsoft.Extensions.Options.IOptions<McpGatewayOptions> options) : ISessionMigrationHandler
{
    private static readonly JsonSerializerOptions Json = ModelContextProtocol.McpJsonUtilities.DefaultOptions;

    private static RedisKey Key(string sessionId) => "mcp:session:" + sessionId;

    public async ValueTask OnSessionInitializedAsync(HttpContext context, string sessionId, InitializeRequestParams initializeParams, CancellationToken cancellationToken)
    {
        var stored = new StoredSession(context.User.FindFirst(ConsoleClaims.UserId)?.Value ?? "", JsonSerializer.SerializeToElement(initializeParams, Json));
        await redis.GetDatabase().StringSetAsync(Key(sessionId), JsonSerializer.Serialize(stored), options.Value.SessionLifetime);
    }

    public async ValueTask<InitializeRequestParams?> AllowSessionMigrationAsync(HttpContext context, string sessionId, CancellationToken cancellationToken)
    {
        var value = await redis.GetDatabase().StringGetSetExpiryAsync(Key(sessionId), options.Value.SessionLifetime);
        if (value.IsNullOrEmpty)
        {
            return null;
        }
        var stored = JsonSerializer.Deserialize<StoredSession>(value.ToString())!;
        return stored.UserId == context.User.FindFirst(ConsoleClaims.UserId)?.Value
            ? stored.Initialize.Deserialize<InitializeRequestParams>(Json)
            : null;
    }

    /// <summary>Whether the session is alive on any replica; using it keeps it alive for another <see cref="McpGatewayOptions.SessionLifetime"/>.</summary>
    public Task<bool> TouchAsync(string sessionId) => redis.GetDatabase().KeyExpireAsync(Key(sessionId), options.Value.SessionLifetime);

    /// <summary>A session the client ended (DELETE) is gone on every replica.</summary>
    public Task EndAsync(string sessionId) => redis.GetDatabase().KeyDeleteAsync(Key(sessionId));

    private sealed record StoredSession(string UserId, JsonElement Initialize);
}
