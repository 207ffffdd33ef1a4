using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ThinkWatch.McpGateway.Access;
using ThinkWatch.McpGateway.Credentials;
using ThinkWatch.McpGateway.Mcp;
using ThinkWatch.McpGateway.Servers;

namespace ThinkWatch.McpGateway.Upstream;

/// <summary>How one caller reaches one server: anonymously, or with the caller's own credential (never anyone else's).</summary>
public sealed record UpstreamRoute(McpServer Server, UserCredential? Credential, bool NeedsUserAuth, string AuthorizeUrl)
{
    public string Identity => Credential?.SessionIdentity ?? UpstreamClients.Anonymous;

    public IReadOnlyDictionary<string, string>? Headers => Credential is null ? null : UpstreamClients.BearerHeaders(Credential.Secret.AccessToken);

    /// <summary>JSON-RPC -32050: the caller must connect an account first; the data carries where.</summary>
    public McpProtocolException AuthorizationRequired(string why)
    {
        var error = new McpProtocolException($"{why} Connect your account at {AuthorizeUrl}", (McpErrorCode)Catalog.AuthorizationRequiredCode);
        error.Data["authorize_url"] = AuthorizeUrl;
        error.Data["server_id"] = Server.Id.ToString();
        error.Data["server"] = Server.Name;
        return error;
    }
}

/// <summary>
/// The upstream servers' tools, resources and prompts, as one caller may see them, under one
/// namespace per server: tools and prompts as `server__name`, resource URIs as `server+uri` (a URI
/// scheme can hold '+', so the result is still a URI and splits back at the first '+'). Names
/// depend only on the server's own name, so adding a server never renames another's tools.
/// Servers with per-user credentials are reached with the caller's own account, and what they list
/// is cached per account, never shown to anyone else; without an account the caller sees what the
/// server lists anonymously, marked `_meta.requires_user_auth`. Tools the caller's role and key
/// may not use are left out. A server that cannot be reached is left out (and logged), never fails a listing.
/// </summary>
public sealed partial class Catalog(
    ServerDirectory servers, UpstreamClients clients, CredentialStore credentials, OAuth.OAuthFlow oauth, ToolAccess access, IMemoryCache cache,
    IOptions<McpGatewayOptions> options, ILogger<Catalog> logger)
{
    public const string Separator = "__";
    public const int AuthorizationRequiredCode = -32050;
    /// <summary>Listed for a per-user server whose tools nobody may see without an account: calling it says where to connect one.</summary>
    public const string ConnectTool = "connect_account";
    private static readonly TimeSpan ListingTtl = TimeSpan.FromSeconds(30);

    public async Task<IReadOnlyList<Tool>> ListToolsAsync(McpCaller caller, CancellationToken cancellationToken)
    {
        var rights = await access.ForAsync(caller, cancellationToken);
        var tools = await GatherAsync(caller, rights, "tools", ToolsOf(cancellationToken), route => [ConnectPlaceholder(route)], cancellationToken);
        // The placeholder has no upstream name.
        return [.. tools.Where(t => t.Name.Length == 0 ? rights.Placeholder(t.Route.Server) : rights.Tool(t.Route.Server, t.Name)).Select(t => t.Item)];
    }

    public async Task<IReadOnlyList<Prompt>> ListPromptsAsync(McpCaller caller, CancellationToken cancellationToken) =>
        [.. (await GatherAsync(caller, await access.ForAsync(caller, cancellationToken), "prompts", async (route, client) =>
        {
            var prompts = await client.ListPromptsAsync(cancellationToken: cancellationToken);
            return prompts.Select(p => Namespaced(route, p.ProtocolPrompt)).ToList();
        }, _ => [], cancellationToken)).Select(p => p.Item)];

    public async Task<IReadOnlyList<Resource>> ListResourcesAsync(McpCaller caller, CancellationToken cancellationToken) =>
        [.. (await GatherAsync(caller, await access.ForAsync(caller, cancellationToken), "resources", async (route, client) =>
        {
            var resources = await client.ListResourcesAsync(cancellationToken: cancellationToken);
            return resources.Select(r => Rewritten(route, r.ProtocolResource)).ToList();
        }, _ => [], cancellationToken)).Select(r => r.Item)];

    public async Task<IReadOnlyList<ResourceTemplate>> ListResourceTemplatesAsync(McpCaller caller, CancellationToken cancellationToken) =>
        [.. (await GatherAsync(caller, await access.ForAsync(caller, cancellationToken), "templates", async (route, client) =>
        {
            var templates = await client.ListResourceTemplatesAsync(cancellationToken: cancellationToken);
            return templates.Select(t => Rewritten(route, t.ProtocolResourceTemplate)).ToList();
        }, _ => [], cancellationToken)).Select(t => t.Item)];

    /// <summary>The server and the upstream's own name behind a gateway name; unknown (or not the caller's to use) is -32602.</summary>
    public async Task<(McpServer Server, string Name)> ResolveAsync(string name, CancellationToken cancellationToken)
    {
        var split = name.IndexOf(Separator, StringComparison.Ordinal);
        var server = split > 0 ? await servers.FindAsync(name[..split], cancellationToken) : null;
        if (server is null || !server.Enabled)
        {
            throw UnknownName(name);
        }
        return (server, name[(split + Separator.Length)..]);
    }

    public static McpProtocolException UnknownName(string name) =>
        new($"Unknown name '{name}': gateway names are server{Separator}name.", McpErrorCode.InvalidParams);

    /// <summary>
    /// How <paramref name="caller"/> reaches <paramref name="server"/>: the account the caller's key is pinned to, else the caller's
    /// default one (its OAuth token renewed when due).
    /// </summary>
    public async Task<UpstreamRoute> RouteAsync(McpServer server, McpCaller caller, CancellationToken cancellationToken)
    {
        var authorizeUrl = $"{options.Value.ConsoleUrl.TrimEnd('/')}/api/mcp/servers/{server.Id}/connect";
        if (server.AuthMode == AuthModes.None)
        {
            return new UpstreamRoute(server, null, false, authorizeUrl);
        }
        var credential = await credentials.FindAsync(server.Id, caller.UserId, caller.PinnedLabel, cancellationToken);
        if (credential is not null)
        {
            // An OAuth token about to expire is renewed first (null: refused for good, removed).
            credential = await oauth.CurrentAsync(credential, force: false, cancellationToken);
        }
        return new UpstreamRoute(server, credential, credential is null, authorizeUrl);
    }

    public async Task<GetPromptResult> GetPromptAsync(McpCaller caller, string name, IDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        var (server, prompt) = await ResolveAsync(name, cancellationToken);
        var route = await AllowedRouteAsync(caller, server, name, cancellationToken);
        return await clients.UseAsync(server, route.Identity, route.Headers,
            c => c.GetPromptAsync(new GetPromptRequestParams { Name = prompt, Arguments = arguments?.ToDictionary() }, cancellationToken).AsTask(), cancellationToken);
    }

    public async Task<ReadResourceResult> ReadResourceAsync(McpCaller caller, string uri, CancellationToken cancellationToken)
    {
        var plus = uri.IndexOf('+', StringComparison.Ordinal);
        var server = plus > 0 ? await servers.FindAsync(uri[..plus], cancellationToken) : null;
        if (server is null || !server.Enabled)
        {
            throw new McpProtocolException($"Unknown resource '{uri}': gateway resource URIs start with a server name and '+'.", McpErrorCode.InvalidParams);
        }
        var route = await AllowedRouteAsync(caller, server, uri, cancellationToken);
        var result = await clients.UseAsync(server, route.Identity, route.Headers,
            c => c.ReadResourceAsync(new ReadResourceRequestParams { Uri = uri[(plus + 1)..] }, cancellationToken).AsTask(), cancellationToken);
        foreach (var content in result.Contents)
        {
            content.Uri = Prefix(server, content.Uri);
        }
        return result;
    }

    /// <summary>Prompts and resources go with any grant on their server, and a per-user server needs the caller's account.</summary>
    private async Task<UpstreamRoute> AllowedRouteAsync(McpCaller caller, McpServer server, string name, CancellationToken cancellationToken)
    {
        if (!(await access.ForAsync(caller, cancellationToken)).Server(server))
        {
            throw UnknownName(name);
        }
        var route = await RouteAsync(server, caller, cancellationToken);
        return route.NeedsUserAuth ? throw await AuthorizationRequiredAsync(route, caller, $"'{server.Name}' is used with each user's own account.", cancellationToken) : route;
    }

    /// <summary>
    /// -32050 for <paramref name="caller"/>: for an OAuth server with a personal one-time link that starts connecting their account
    /// (the key's pinned label, else the default one), else — or when that cannot be prepared — the server's generic connect URL.
    /// </summary>
    public async Task<McpProtocolException> AuthorizationRequiredAsync(UpstreamRoute route, McpCaller caller, string why, CancellationToken cancellationToken)
    {
        if (route.Server.AuthMode != AuthModes.OAuth)
        {
            return route.AuthorizationRequired(why);
        }
        try
        {
            var (state, _) = await oauth.BeginAsync(route.Server, caller.UserId, caller.PinnedLabel ?? CredentialStore.DefaultLabel, cancellationToken);
            return (route with { AuthorizeUrl = oauth.StartLink(state) }).AuthorizationRequired(why);
        }
        catch (Exception ex) when (ex is OAuth.OAuthDiscoveryException or OAuth.ManualRegistrationRequired or HttpRequestException)
        {
            LogNoPersonalLink(logger, route.Server.Name, ex.Message);
            return route.AuthorizationRequired(why);
        }
    }

    /// <summary>
    /// Each server's part of a listing for the servers the caller has grants on, asked concurrently, each item with its upstream name.
    /// </summary>
    private async Task<List<(UpstreamRoute Route, string Name, T Item)>> GatherAsync<T>(McpCaller caller, ToolAccess.Rights rights, string what,
        Func<UpstreamRoute, McpClient, Task<List<(string Name, T Item)>>> list, Func<UpstreamRoute, List<(string Name, T Item)>> unauthorized, CancellationToken cancellationToken)
    {
        var visible = (await servers.ListAsync(cancellationToken)).Where(s => s.Enabled && rights.Server(s)).ToList();
        var parts = await Task.WhenAll(visible.Select(async server =>
        {
            var route = await RouteAsync(server, caller, cancellationToken);
            return (await PartAsync(route, what, list, unauthorized, cancellationToken)).Select(p => (route, p.Name, p.Item));
        }));
        return [.. parts.SelectMany(p => p)];
    }

    /// <summary>
    /// One server's part of a listing as <paramref name="route"/> reaches it, cached per (server, account); <paramref name="unauthorized"/>
    /// stands in when a per-user server refuses an anonymous listing; a server that fails is left out (logged).
    /// </summary>
    private async Task<List<(string Name, T Item)>> PartAsync<T>(UpstreamRoute route, string what, Func<UpstreamRoute, McpClient, Task<List<(string Name, T Item)>>> list,
        Func<UpstreamRoute, List<(string Name, T Item)>> unauthorized, CancellationToken cancellationToken)
    {
        var server = route.Server;
        var key = (what, server.Id, server.UpdatedAt, route.Identity);
        if (cache.TryGetValue(key, out List<(string, T)>? part) && part is not null)
        {
            return part;
        }
        try
        {
            part = await clients.UseAsync(server, route.Identity, route.Headers, c => list(route, c), cancellationToken);
        }
        catch (Exception ex) when (route.NeedsUserAuth && UpstreamClients.AuthFailure(ex) is not null)
        {
            part = unauthorized(route);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            LogListingFailed(logger, what, server.Name, ex.GetType().Name, ex.Message);
            return [];
        }
        return cache.Set(key, part, ListingTtl);
    }

    /// <summary>The tool as the server lists it for <paramref name="route"/> (from the cached listing); null when it does not.</summary>
    public async Task<Tool?> DescribeToolAsync(UpstreamRoute route, string tool, CancellationToken cancellationToken) =>
        (await PartAsync(route, "tools", ToolsOf(cancellationToken), route => [ConnectPlaceholder(route)], cancellationToken))
            .FirstOrDefault(t => t.Name == tool).Item;

    private Func<UpstreamRoute, McpClient, Task<List<(string Name, Tool Item)>>> ToolsOf(CancellationToken cancellationToken) => async (route, client) =>
    {
        var listed = await client.ListToolsAsync(cancellationToken: cancellationToken);
        return listed.Select(t => Namespaced(route, t.ProtocolTool)).ToList();
    };

    // Copies through the SDK's own serialisation: every field the upstream sent is passed on, including ones named in later
    // protocol revisions; the client's listing objects themselves are left untouched (the client may keep them).
    private static (string, Tool) Namespaced(UpstreamRoute route, Tool tool) =>
        (tool.Name, Copy(tool, t => (t.Name, t.Meta) = (NameOf(route.Server, tool.Name), Meta(tool.Meta, route))));

    private static (string, Prompt) Namespaced(UpstreamRoute route, Prompt prompt) =>
        (prompt.Name, Copy(prompt, p => (p.Name, p.Meta) = (NameOf(route.Server, prompt.Name), Meta(prompt.Meta, route))));

    private static (string, Resource) Rewritten(UpstreamRoute route, Resource resource) =>
        (resource.Uri, Copy(resource, r => (r.Uri, r.Name, r.Meta) = (Prefix(route.Server, resource.Uri), NameOf(route.Server, resource.Name), Meta(resource.Meta, route))));

    private static (string, ResourceTemplate) Rewritten(UpstreamRoute route, ResourceTemplate template) =>
        (template.UriTemplate, Copy(template, t => (t.UriTemplate, t.Name, t.Meta) =
            (Prefix(route.Server, template.UriTemplate), NameOf(route.Server, template.Name), Meta(template.Meta, route))));

    private static (string, Tool) ConnectPlaceholder(UpstreamRoute route) => ("", new Tool
    {
        Name = NameOf(route.Server, ConnectTool),
        Description = $"{route.Server.DisplayName} is used with your own account, which is not connected yet; its tools appear once it is. "
            + $"Connect it at {route.AuthorizeUrl}",
        InputSchema = JsonSerializer.SerializeToElement(new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() }),
        Meta = Meta(null, route),
    });

    private static T Copy<T>(T item, Action<T> rename)
    {
        var copy = JsonSerializer.Deserialize<T>(JsonSerializer.SerializeToElement(item, McpJsonUtilities.DefaultOptions), McpJsonUtilities.DefaultOptions)!;
        rename(copy);
        return copy;
    }

    public static string NameOf(McpServer server, string name) => server.Name + Separator + name;

    private static string Prefix(McpServer server, string uri) => server.Name + "+" + uri;

    private static JsonObject Meta(JsonObject? meta, UpstreamRoute route)
    {
        var copy = meta?.DeepClone().AsObject() ?? [];
        copy["server_id"] = route.Server.Id.ToString();
        copy["server"] = route.Server.Name;
        if (route.NeedsUserAuth)
        {
            copy["requires_user_auth"] = true;
            copy["authorize_url"] = route.AuthorizeUrl;
        }
        return copy;
    }

    [LoggerMessage(EventId = 7103, Level = LogLevel.Warning, Message = "No connect link for MCP server {Server}: {Reason}")]
    private static partial void LogNoPersonalLink(ILogger logger, string server, string reason);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Listing {What} of MCP server {Server} failed ({Error}: {Reason}); left out")]
    private static partial void LogListingFailed(ILogger logger, string what, string server, string error, string reason);
}
