using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Caching.Memory;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ThinkWatch.McpGateway.Servers;

namespace ThinkWatch.McpGateway.Upstream;

/// <summary>
/// The upstream servers' tools, resources and prompts under one namespace per server: tools and
/// prompts as `server__name`, resource URIs as `server+uri` (a URI scheme can hold '+', so the
/// result is still a URI and splits back at the first '+'). Names depend only on the server's own
/// name, so adding a second server never renames the first one's tools. A server that cannot be
/// reached is left out of a listing (and logged), never fails it.
/// </summary>
public sealed partial class Catalog(ServerDirectory servers, UpstreamClients clients, IMemoryCache cache, ILogger<Catalog> logger)
{
    public const string Separator = "__";
    private static readonly TimeSpan ListingTtl = TimeSpan.FromSeconds(30);

    public async Task<IReadOnlyList<Tool>> ListToolsAsync(CancellationToken cancellationToken) =>
        await GatherAsync("tools", async (server, client) =>
        {
            var tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
            return tools.Select(t => Namespaced(server, t.ProtocolTool)).ToList();
        }, cancellationToken);

    public async Task<IReadOnlyList<Prompt>> ListPromptsAsync(CancellationToken cancellationToken) =>
        await GatherAsync("prompts", async (server, client) =>
        {
            var prompts = await client.ListPromptsAsync(cancellationToken: cancellationToken);
            return prompts.Select(p => Namespaced(server, p.ProtocolPrompt)).ToList();
        }, cancellationToken);

    public async Task<IReadOnlyList<Resource>> ListResourcesAsync(CancellationToken cancellationToken) =>
        await GatherAsync("resources", async (server, client) =>
        {
            var resources = await client.ListResourcesAsync(cancellationToken: cancellationToken);
            return resources.Select(r => Rewritten(server, r.ProtocolResource)).ToList();
        }, cancellationToken);

    public async Task<IReadOnlyList<ResourceTemplate>> ListResourceTemplatesAsync(CancellationToken cancellationToken) =>
        await GatherAsync("templates", async (server, client) =>
        {
            var templates = await client.ListResourceTemplatesAsync(cancellationToken: cancellationToken);
            return templates.Select(t => Rewritten(server, t.ProtocolResourceTemplate)).ToList();
        }, cancellationToken);

    public async Task<CallToolResult> CallToolAsync(string name, IDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        var (server, tool) = await ResolveAsync(name, cancellationToken);
        return await clients.UseAsync(server, UpstreamClients.Anonymous, null,
            c => c.CallToolAsync(new CallToolRequestParams { Name = tool, Arguments = arguments?.ToDictionary() }, cancellationToken).AsTask(), cancellationToken);
    }

    public async Task<GetPromptResult> GetPromptAsync(string name, IDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        var (server, prompt) = await ResolveAsync(name, cancellationToken);
        return await clients.UseAsync(server, UpstreamClients.Anonymous, null,
            c => c.GetPromptAsync(new GetPromptRequestParams { Name = prompt, Arguments = arguments?.ToDictionary() }, cancellationToken).AsTask(), cancellationToken);
    }

    public async Task<ReadResourceResult> ReadResourceAsync(string uri, CancellationToken cancellationToken)
    {
        var plus = uri.IndexOf('+', StringComparison.Ordinal);
        var server = plus > 0 ? await servers.FindAsync(uri[..plus], cancellationToken) : null;
        if (server is null)
        {
            throw new McpProtocolException($"Unknown resource '{uri}': gateway resource URIs start with a server name and '+'.", McpErrorCode.InvalidParams);
        }
        var original = uri[(plus + 1)..];
        var result = await clients.UseAsync(server, UpstreamClients.Anonymous, null,
            c => c.ReadResourceAsync(new ReadResourceRequestParams { Uri = original }, cancellationToken).AsTask(), cancellationToken);
        foreach (var content in result.Contents)
        {
            content.Uri = Prefix(server, content.Uri);
        }
        return result;
    }

    private async Task<(McpServer Server, string Name)> ResolveAsync(string name, CancellationToken cancellationToken)
    {
        var split = name.IndexOf(Separator, StringComparison.Ordinal);
        var server = split > 0 ? await servers.FindAsync(name[..split], cancellationToken) : null;
        if (server is null || !server.Enabled)
        {
            throw new McpProtocolException($"Unknown name '{name}': gateway names are server{Separator}name.", McpErrorCode.InvalidParams);
        }
        return (server, name[(split + Separator.Length)..]);
    }

    /// <summary>Each enabled server's part of a listing, asked concurrently; a server's part is cached briefly.</summary>
    private async Task<List<T>> GatherAsync<T>(string what, Func<McpServer, ModelContextProtocol.Client.McpClient, Task<List<T>>> list, CancellationToken cancellationToken)
    {
        var enabled = (await servers.ListAsync(cancellationToken)).Where(s => s.Enabled).ToList();
        var parts = await Task.WhenAll(enabled.Select(async server =>
        {
            var key = (what, server.Id, server.UpdatedAt);
            if (cache.TryGetValue(key, out List<T>? cached) && cached is not null)
            {
                return cached;
            }
            try
            {
                var part = await clients.UseAsync(server, UpstreamClients.Anonymous, null, c => list(server, c), cancellationToken);
                cache.Set(key, part, ListingTtl);
                return part;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                LogListingFailed(logger, what, server.Name, ex.GetType().Name, ex.Message);
                return [];
            }
        }));
        return [.. parts.SelectMany(p => p)];
    }

    // Copies through the SDK's own serialisation: every field the upstream sent is passed on, including ones named in later
    // protocol revisions; the client's listing objects themselves are left untouched (the client may keep them).
    private static Tool Namespaced(McpServer server, Tool tool) =>
        Copy(tool, t => (t.Name, t.Meta) = (NameOf(server, tool.Name), WithServer(tool.Meta, server)));

    private static Prompt Namespaced(McpServer server, Prompt prompt) =>
        Copy(prompt, p => (p.Name, p.Meta) = (NameOf(server, prompt.Name), WithServer(prompt.Meta, server)));

    private static Resource Rewritten(McpServer server, Resource resource) =>
        Copy(resource, r => (r.Uri, r.Name, r.Meta) = (Prefix(server, resource.Uri), NameOf(server, resource.Name), WithServer(resource.Meta, server)));

    private static ResourceTemplate Rewritten(McpServer server, ResourceTemplate template) =>
        Copy(template, t => (t.UriTemplate, t.Name, t.Meta) = (Prefix(server, template.UriTemplate), NameOf(server, template.Name), WithServer(template.Meta, server)));

    private static T Copy<T>(T item, Action<T> rename)
    {
        var copy = JsonSerializer.Deserialize<T>(JsonSerializer.SerializeToElement(item, McpJsonUtilities.DefaultOptions), McpJsonUtilities.DefaultOptions)!;
        rename(copy);
        return copy;
    }

    private static string NameOf(McpServer server, string name) => server.Name + Separator + name;

    private static string Prefix(McpServer server, string uri) => server.Name + "+" + uri;

    private static JsonObject WithServer(JsonObject? meta, McpServer server)
    {
        var copy = meta?.DeepClone().AsObject() ?? [];
        copy["server_id"] = server.Id.ToString();
        copy["server"] = server.Name;
        return copy;
    }

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Listing {What} of MCP server {Server} failed ({Error}: {Reason}); left out")]
    private static partial void LogListingFailed(ILogger logger, string what, string server, string error, string reason);
}
