using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Server;

// An MCP server on stdin/stdout. Its user's token, when the gateway launches it for one, arrives in UPSTREAM_TOKEN.
// A test may ask each start to be noted (its PID, a line) in STDIO_STARTS_FILE, to count the processes the gateway starts.
if (Environment.GetEnvironmentVariable("STDIO_STARTS_FILE") is { Length: > 0 } starts)
{
    File.AppendAllText(starts, $"{Environment.ProcessId}\n");
}
var builder = Host.CreateApplicationBuilder(args);
// stdout carries the protocol: logs go to stderr only.
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.AddMcpServer(o => o.ServerInfo = new() { Name = "stdio-notes", Version = "1.0" })
    .WithStdioServerTransport()
    .WithTools<StdioTools>();
await builder.Build().RunAsync();

[McpServerToolType]
public sealed class StdioTools
{
    [McpServerTool(Name = "echo"), Description("Repeats the text.")]
    public static string Echo(string text) => $"stdio: {text}";

    [McpServerTool(Name = "whoami", ReadOnly = true), Description("Whose token launched this process, and which process it is.")]
    public static string WhoAmI() => $"stdio: {Environment.GetEnvironmentVariable("UPSTREAM_TOKEN") ?? "anonymous"} in {Environment.ProcessId}";
}
