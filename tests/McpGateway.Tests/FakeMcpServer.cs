using System.ComponentModel;
using Description = System.ComponentModel.DescriptionAttribute;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>An upstream MCP server built on the SDK, on a loopback port: tools, a resource, a resource template and a prompt, each saying which server answered.</summary>
public sealed class FakeMcpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeMcpServer(WebApplication app, string name, Uri url) => (_app, Name, Url) = (app, name, url);

    public string Name { get; }
    public Uri Url { get; }

    /// <summary>Tool calls this server answered.</summary>
    public int Calls => _app.Services.GetRequiredService<CallCounter>().Count;

    public static async Task<FakeMcpServer> StartAsync(string name)
    {
        var (app, address) = await LoopbackServer.StartAsync(app => app.MapMcp("/mcp"), services =>
        {
            services.AddSingleton(new CallCounter(name));
            services.AddMcpServer(o => o.ServerInfo = new Implementation { Name = name, Version = "1.0" })
                .WithHttpTransport()
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
        public int Count => _count;
        public void Add() => Interlocked.Increment(ref _count);
    }

    [McpServerToolType]
    public sealed class Tools(CallCounter counter)
    {
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
