using System.ComponentModel;
using System.Security.Claims;
using Description = System.ComponentModel.DescriptionAttribute;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>
/// An upstream MCP server built on the SDK, on a loopback port: tools, a resource, a resource template and a prompt, each saying
/// which server answered. Given <c>tokens</c> (token → user) it wants `Authorization: Bearer` with one of them on every request
/// (401 otherwise), as a server used with each user's own account; `whoami` says whose token called.
/// </summary>
public sealed class FakeMcpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeMcpServer(WebApplication app, string name, Uri url) => (_app, Name, Url) = (app, name, url);

    public string Name { get; }
    public Uri Url { get; }

    /// <summary>Tool calls this server answered.</summary>
    public int Calls => _app.Services.GetRequiredService<CallCounter>().Count;

    /// <summary>Every Authorization header value this server received (none when there was none).</summary>
    public IReadOnlyCollection<string> AuthorizationsSeen => _app.Services.GetRequiredService<CallCounter>().Authorizations;

    /// <summary>Also on the legacy HTTP+SSE transport (2024-11-05) at /mcp/sse, when <paramref name="legacySse"/>.</summary>
    public static async Task<FakeMcpServer> StartAsync(string name, IReadOnlyDictionary<string, string>? tokens = null, bool legacySse = false)
    {
        var (app, address) = await LoopbackServer.StartAsync(app =>
        {
            app.Use(async (context, next) =>
            {
                var authorization = context.Request.Headers.Authorization.ToString();
                var counter = context.RequestServices.GetRequiredService<CallCounter>();
                if (authorization.Length > 0)
                {
                    counter.Authorizations.Add(authorization);
                }
                var token = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..] : null;
                if (tokens is not null && (token is null || !tokens.ContainsKey(token)))
                {
                    context.Response.StatusCode = 401;
                    context.Response.Headers.WWWAuthenticate = "Bearer realm=\"" + name + "\"";
                    return;
                }
                var user = token is null || tokens is null ? "anonymous" : tokens[token];
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user)], "token"));
                await next();
            });
            // Like GitHub's /user: whose token this is.
            app.MapGet("/user", (Microsoft.AspNetCore.Http.HttpContext context) => new { login = context.User.FindFirstValue(ClaimTypes.NameIdentifier) });
            app.MapMcp("/mcp");
        }, services =>
        {
            services.AddSingleton(new CallCounter(name));
            services.AddMcpServer(o => o.ServerInfo = new Implementation { Name = name, Version = "1.0" })
                // An upstream that still speaks the 2024-11-05 transport, which the SDK marks obsolete for new servers.
#pragma warning disable MCP9004
                .WithHttpTransport(o =>
                {
                    if (legacySse)
                    {
                        // The GET /sse stream and POST /message share in-memory session state.
                        (o.Stateless, o.EnableLegacySse) = (false, true);
                    }
                })
#pragma warning restore MCP9004
                .WithTools<Tools>()
                .WithResources<Resources>()
                .WithPrompts<Prompts>();
        });
        return new FakeMcpServer(app, name, new Uri(address, "mcp"));
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    public sealed class CallCounter(string name)
    {
        private int _count;
        public string Name { get; } = name;
        public System.Collections.Concurrent.ConcurrentBag<string> Authorizations { get; } = [];
        public int Count => _count;
        public void Add() => Interlocked.Increment(ref _count);
    }

    [McpServerToolType]
    public sealed class Tools(CallCounter counter)
    {
        [McpServerTool(Name = "whoami", ReadOnly = true), Description("Whose token called.")]
        public string WhoAmI(RequestContext<CallToolRequestParams> request)
        {
            counter.Add();
            return $"{counter.Name}: {request.User?.FindFirstValue(ClaimTypes.NameIdentifier)}";
        }

        [McpServerTool(Name = "echo"), Description("Repeats the text, prefixed with the server's name.")]
        public string Echo([Description("What to repeat")] string text)
        {
            counter.Add();
            return $"{counter.Name}: {text}";
        }

        [McpServerTool(Name = "add", ReadOnly = true, Idempotent = true), Description("Adds two numbers.")]
        public int Add(int a, int b)
        {
            counter.Add();
            return a + b;
        }

        [McpServerTool(Name = "fail"), Description("Always reports an error.")]
        public string Fail()
        {
            counter.Add();
            throw new InvalidOperationException("the upstream tool failed");
        }
    }

    [McpServerResourceType]
    public sealed class Resources(CallCounter counter)
    {
        [McpServerResource(UriTemplate = "notes://readme", Name = "readme", MimeType = "text/plain"), Description("The server's readme.")]
        public string Readme() => $"readme of {counter.Name}";

        [McpServerResource(UriTemplate = "notes://items/{id}", Name = "item", MimeType = "text/plain"), Description("One item.")]
        public string Item(string id) => $"item {id} of {counter.Name}";
    }

    [McpServerPromptType]
    public sealed class Prompts(CallCounter counter)
    {
        [McpServerPrompt(Name = "greet"), Description("A greeting.")]
        public string Greet([Description("Who to greet")] string who) => $"{counter.Name} greets {who}";
    }
}
