using ThinkWatch.McpGateway.Mcp;
using ThinkWatch.McpGateway.Servers;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Access;

/// <summary>
/// What a caller may use: a tool when a grant of the caller's role on its server matches it
/// (default deny) and, for a `tw-` key, the key's allowed tools match its gateway name
/// (`github__create_issue`, `github__*`) too. A server's prompts and resources go with any grant
/// on it. Denied tools are neither listed nor callable.
/// </summary>
public sealed class ToolAccess(GrantStore grants)
{
    public async Task<Rights> ForAsync(McpCaller caller, CancellationToken cancellationToken)
    {
        var mine = (await grants.CachedAsync(cancellationToken)).Where(g => g.Role == caller.Role).ToList();
        return new Rights(caller, mine);
    }

    public sealed class Rights(McpCaller caller, IReadOnlyList<ToolGrant> grants)
    {
        public bool Server(McpServer server) => grants.Any(g => g.ServerId == server.Id);

        /// <summary>
        /// Whether the "connect your account" placeholder of a per-user server is listed: a grant on the server, and a key (if any)
        /// whose patterns could allow a tool of it.
        /// </summary>
        public bool Placeholder(McpServer server) =>
            Server(server) && (caller.KeyTools is not { } keyTools || keyTools.Any(p => p.StartsWith('*')
                || p.StartsWith(server.Name + Upstream.Catalog.Separator, StringComparison.Ordinal)
                || NamePatterns.Matches(p, Upstream.Catalog.NameOf(server, Upstream.Catalog.ConnectTool))));

        public bool Tool(McpServer server, string tool) =>
            grants.Any(g => g.ServerId == server.Id && NamePatterns.Matches(g.Tools, tool))
            && (caller.KeyTools is not { } keyTools || NamePatterns.Allows(keyTools, Upstream.Catalog.NameOf(server, tool)));
    }
}
