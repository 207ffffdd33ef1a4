using System.Globalization;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ThinkWatch.McpGateway.Access;
using ThinkWatch.McpGateway.Accounting;
using ThinkWatch.McpGateway.Credentials;
using ThinkWatch.McpGateway.OAuth;
using ThinkWatch.McpGateway.Upstream;

namespace ThinkWatch.McpGateway.Mcp;

/// <summary>
/// One tools/call, in order: the name resolves to a server the caller's role has grants on (else
/// it is unknown, -32602); a per-user server needs the caller's account (else -32050 with where to
/// connect one); the tool must be granted and allowed by the key (else unknown); the call is
/// counted against the rate limits (else -32029 naming the rule); then it is answered from the
/// <see cref="ResponseCache"/> (read-only tools) or goes upstream as the caller's account, and is
/// recorded, whatever its outcome.
/// </summary>
public sealed class ToolCalls(Catalog catalog, ToolAccess access, UpstreamClients clients, OAuthFlow oauth, IToolCallQuota quota, ResponseCache answers,
    CallLog log, IHttpContextAccessor http, TimeProvider time)
{
    public const int RateLimitedCode = -32029;

    public async Task<CallToolResult> CallAsync(McpCaller caller, string name, IDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        var (server, tool) = await catalog.ResolveAsync(name, cancellationToken);
        var rights = await access.ForAsync(caller, cancellationToken);
        if (!rights.Server(server))
        {
            throw Denied(caller, name, $"No grant of role '{caller.Role}' on server '{server.Name}'.");
        }
        var route = await catalog.RouteAsync(server, caller, cancellationToken);
        if (route.NeedsUserAuth)
        {
            log.Refused(caller, "upstream_auth", null, $"No account connected on '{server.Name}'{(caller.PinnedLabel is { } l ? $" with label '{l}'" : "")}.", ClientIp);
            throw await catalog.AuthorizationRequiredAsync(route, caller, caller.PinnedLabel is { } pinned
                ? $"'{server.Name}' is used with each user's own account; this key uses your account '{pinned}', which is not connected."
                : $"'{server.Name}' is used with each user's own account, and yours is not connected.", cancellationToken);
        }
        if (!rights.Tool(server, tool))
        {
            throw Denied(caller, name, $"Tool '{name}' is not granted to role '{caller.Role}' or not allowed by the key.");
        }
        if (await quota.AdmitAsync(caller, server, cancellationToken) is { } refusal)
        {
            log.Refused(caller, "rate_limit", refusal.Rule, refusal.Message, ClientIp);
            var error = new McpProtocolException(refusal.Message, (McpErrorCode)RateLimitedCode);
            error.Data["rule"] = refusal.Rule;
            error.Data["retry_after_seconds"] = Math.Ceiling(refusal.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            throw error;
        }

        var started = time.GetTimestamp();
        var label = route.Credential?.Label;
        // The tool's annotations (is it read-only?) only matter when answers are cached at all.
        var cacheKey = answers.Enabled ? ResponseCache.KeyFor(route, await catalog.DescribeToolAsync(route, tool, cancellationToken), arguments) : null;
        if (cacheKey is not null && await answers.GetAsync(cacheKey) is var (cached, cachedBytes))
        {
            log.Called(caller, label, server, tool, arguments, cachedBytes, time.GetElapsedTime(started), null, cached: true);
            return cached;
        }
        try
        {
            var request = new CallToolRequestParams { Name = tool, Arguments = arguments?.ToDictionary() };
            CallToolResult result;
            try
            {
                result = await clients.UseAsync(server, route.Identity, route.Headers, c => c.CallToolAsync(request, cancellationToken).AsTask(), cancellationToken);
            }
            catch (Exception ex) when (UpstreamClients.AuthFailure(ex) is not null && route.Credential is { Kind: CredentialKinds.OAuth } refused)
            {
                // Refused before it expired (revoked, rotated upstream): renew once and try again, or ask the user to connect again.
                var renewed = await oauth.CurrentAsync(refused, force: true, cancellationToken)
                    ?? throw await catalog.AuthorizationRequiredAsync(route with { Credential = null, NeedsUserAuth = true }, caller,
                        $"'{server.Name}' no longer accepts your account '{refused.Label}' and it could not be renewed.", cancellationToken);
                route = route with { Credential = renewed };
                result = await clients.UseAsync(server, route.Identity, route.Headers, c => c.CallToolAsync(request, cancellationToken).AsTask(), cancellationToken);
            }
            var serialized = JsonSerializer.SerializeToUtf8Bytes(result, McpJsonUtilities.DefaultOptions);
            log.Called(caller, label, server, tool, arguments, serialized.LongLength, time.GetElapsedTime(started), result.IsError == true ? "tool_error" : null);
            if (cacheKey is not null)
            {
                await answers.SetAsync(cacheKey, result, serialized);
            }
            return result;
        }
        catch (Exception ex)
        {
            // Recorded whatever happened, a call the client gave up on included: it may have had its effect upstream.
            log.Called(caller, label, server, tool, arguments, 0, time.GetElapsedTime(started), $"{ex.GetType().Name}: {ex.Message}");
            if (ex is OperationCanceledException || ex is McpProtocolException)
            {
                throw;
            }
            if (UpstreamClients.AuthFailure(ex) is { } status && route.Credential is { } credential)
            {
                throw route.AuthorizationRequired($"'{server.Name}' refused your account '{credential.Label}' (HTTP {status}); its token may have been revoked or expired.");
            }
            throw new McpProtocolException($"'{server.Name}' could not be reached ({ex.GetType().Name}); try again shortly.", McpErrorCode.InternalError);
        }
    }

    private string? ClientIp => http.HttpContext?.Connection.RemoteIpAddress?.ToString();

    private McpProtocolException Denied(McpCaller caller, string name, string detail)
    {
        log.Refused(caller, "permission", null, detail, ClientIp);
        return Catalog.UnknownName(name);
    }
}
