using Microsoft.AspNetCore.Http.HttpResults;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Servers;

/// <summary>A well-known remote MCP server: where it is, how users sign in, what to ask for and how to tell whose a token is.</summary>
public sealed record ServerTemplate(string Id, string DisplayName, string Url, string Transport, string AuthMode, string? Scopes, string? UserinfoEndpoint,
    string Description);

/// <summary>What an admin may change when installing a template (a self-hosted instance's URL, another name).</summary>
public sealed record TemplateInstall(string? Name, string? DisplayName, string? Url);

/// <summary>
/// The curated templates. Addresses are the providers' published remote MCP endpoints at the time of writing; an install can
/// point at another URL (self-hosted GitLab, a regional Atlassian site). OAuth servers are discovered and registered with on
/// first connect, so a template needs no client id.
/// </summary>
public static class ServerTemplates
{
    public static IReadOnlyList<ServerTemplate> All { get; } =
    [
        new("github", "GitHub", "https://api.githubcopilot.com/mcp/", ServerTransports.StreamableHttp, AuthModes.OAuth, "repo read:org read:user",
            "https://api.github.com/user", "Repositories, issues, pull requests and Actions, as the user."),
        new("github-pat", "GitHub (personal access token)", "https://api.githubcopilot.com/mcp/", ServerTransports.StreamableHttp, AuthModes.Static, null,
            "https://api.github.com/user", "GitHub with each user's fine-grained personal access token."),
        new("notion", "Notion", "https://mcp.notion.com/mcp", ServerTransports.StreamableHttp, AuthModes.OAuth, null, null, "Pages and databases of the user's workspace."),
        new("linear", "Linear", "https://mcp.linear.app/mcp", ServerTransports.StreamableHttp, AuthModes.OAuth, null, null, "Issues, projects and cycles."),
        new("slack", "Slack", "https://mcp.slack.com/mcp", ServerTransports.StreamableHttp, AuthModes.OAuth, null, null, "Channels, messages and search."),
        new("atlassian", "Atlassian (Jira, Confluence)", "https://mcp.atlassian.com/v1/sse", ServerTransports.Sse, AuthModes.OAuth, null, null,
            "Jira issues and Confluence pages."),
        new("gitlab", "GitLab", "https://gitlab.com/api/v4/mcp", ServerTransports.StreamableHttp, AuthModes.OAuth, "mcp", "https://gitlab.com/api/v4/user",
            "Projects, issues and merge requests (point the URL at a self-hosted instance if you run one)."),
        new("cloudflare-docs", "Cloudflare documentation", "https://docs.mcp.cloudflare.com/mcp", ServerTransports.StreamableHttp, AuthModes.None, null, null,
            "Search Cloudflare's documentation; no account needed."),
        new("cloudflare-bindings", "Cloudflare Workers bindings", "https://bindings.mcp.cloudflare.com/mcp", ServerTransports.StreamableHttp, AuthModes.OAuth,
            null, null, "Workers, KV, R2 and D1 of the user's account."),
        new("sentry", "Sentry", "https://mcp.sentry.dev/mcp", ServerTransports.StreamableHttp, AuthModes.OAuth, null, null, "Issues, events and releases."),
        new("huggingface", "Hugging Face", "https://huggingface.co/mcp", ServerTransports.StreamableHttp, AuthModes.Static, null,
            "https://huggingface.co/api/whoami-v2", "Models, datasets and Spaces with each user's access token."),
    ];

    public static ServerTemplate? Find(string id) => All.FirstOrDefault(t => t.Id == id);
}

/// <summary>/api/mcp/templates: the curated servers (mcp:connect) and installing one in one call (mcp:manage).</summary>
public static class TemplatesApi
{
    public static IEndpointRouteBuilder MapTemplatesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/mcp/templates").WithTags("MCP server templates");
        group.MapGet("/", () => ServerTemplates.All).RequirePermission(Permissions.McpConnect);
        group.MapPost("/{id}/install", InstallAsync).RequirePermission(Permissions.McpManage);
        return app;
    }

    private static async Task<Results<Created<McpServer>, ValidationProblem, ProblemHttpResult, NotFound>> InstallAsync(ServerStore servers, HttpContext http,
        string id, TemplateInstall? install, CancellationToken ct)
    {
        if (ServerTemplates.Find(id) is not { } template)
        {
            return TypedResults.NotFound();
        }
        var input = new McpServerInput(install?.Name ?? template.Id, install?.DisplayName ?? template.DisplayName, install?.Url ?? template.Url, template.Transport,
            template.AuthMode, true, template.Scopes, template.UserinfoEndpoint);
        return OutcomeResults.Created(await servers.CreateAsync(ConsoleActor.From(http), input, ct, template.Id), server => $"/api/mcp/servers/{server.Id}");
    }
}
