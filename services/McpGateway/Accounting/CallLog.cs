using System.Diagnostics;
using System.Text.Json;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.McpGateway.Mcp;
using ThinkWatch.McpGateway.Servers;

namespace ThinkWatch.McpGateway.Accounting;

/// <summary>
/// The audit trail of /mcp: every tool call that reached an upstream as <see cref="McpCallRecorded"/>,
/// every refusal (no grant, no connected account, a rate limit) as <see cref="AccessDenied"/> — both
/// through the durable spool, never blocking the answer.
/// </summary>
public sealed class CallLog(EventSpool spool, TimeProvider time)
{
    public const string Surface = "mcp_gateway";
    /// <summary>Arguments beyond this many characters are cut in the record (marked with a trailing '…').</summary>
    public const int MaxArgumentChars = 16 * 1024;

    public void Called(McpCaller caller, string? accountLabel, McpServer server, string tool, IDictionary<string, JsonElement>? arguments, long responseBytes,
        TimeSpan latency, string? error, bool cached = false)
    {
        var json = arguments is null ? "{}" : JsonSerializer.Serialize(arguments);
        spool.Enqueue(new McpCallRecorded(Guid.CreateVersion7(), time.GetUtcNow(), Activity.Current?.TraceId.ToString(), caller.UserId, caller.KeyId, accountLabel,
            server.Id.ToString(), Upstream.Catalog.NameOf(server, tool), json.Length > MaxArgumentChars ? json[..MaxArgumentChars] + "…" : json, responseBytes,
            (int)Math.Min(int.MaxValue, latency.TotalMilliseconds), error, cached));
    }

    public void Refused(McpCaller caller, string reason, string? rule, string detail, string? clientIp) =>
        spool.Enqueue(new AccessDenied(Guid.CreateVersion7(), time.GetUtcNow(), Activity.Current?.TraceId.ToString(), Surface, reason, caller.UserId, caller.KeyId,
            clientIp, rule, detail));

    /// <summary>A `tw-` key that is unknown, revoked, expired or not for the MCP gateway.</summary>
    public void Unauthenticated(string reason, string detail, string? clientIp) =>
        spool.Enqueue(new AccessDenied(Guid.CreateVersion7(), time.GetUtcNow(), Activity.Current?.TraceId.ToString(), Surface, reason, null, null, clientIp, null, detail));
}
