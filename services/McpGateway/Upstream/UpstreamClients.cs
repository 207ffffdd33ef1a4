using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;
using ThinkWatch.McpGateway.Servers;

namespace ThinkWatch.McpGateway.Upstream;

/// <summary>
/// One MCP client session per upstream server and identity, kept open and shared by every request
/// that needs it (sessions are cheap to reuse and slow to set up) — for a stdio server, a child
/// process per identity, the user's token in its environment. A session that failed is dropped
/// and opened again by the next call; every connection passes <see cref="SsrfGuard"/> (<see cref="GuardedHttp"/>).
/// </summary>
public sealed partial class UpstreamClients : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(Guid Server, string Identity), Lazy<Task<McpClient>>> _clients = new();
    private readonly ConcurrentDictionary<(Guid Server, string Identity), long> _lastUsed = new();
    private readonly HttpClient _http;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<UpstreamClients> _logger;
    private readonly IOptionsMonitor<McpGatewayOptions> _options;
    private readonly TimeProvider _time;

    public UpstreamClients(GuardedHttp http, IOptionsMonitor<McpGatewayOptions> options, TimeProvider time, ILoggerFactory loggers) =>
        (_http, _options, _time, _loggers, _logger) = (http.Client, options, time, loggers, loggers.CreateLogger<UpstreamClients>());

    /// <summary>The anonymous identity: no credentials of anyone's.</summary>
    public const string Anonymous = "";

    /// <summary>
    /// Runs <paramref name="call"/> on the server's session; a broken session is reopened once. A use that is not
    /// <paramref name="traffic"/> (a health probe) does not keep the session from idling out.
    /// </summary>
    public async Task<T> UseAsync<T>(McpServer server, string identity, IReadOnlyDictionary<string, string>? headers, Func<McpClient, Task<T>> call,
        CancellationToken cancellationToken, bool traffic = true)
    {
        for (var attempt = 1; ; attempt++)
        {
            var key = (server.Id, identity);
            var lazy = _clients.GetOrAdd(key, _ => new Lazy<Task<McpClient>>(() => ConnectAsync(server, headers)));
            if (traffic)
            {
                _lastUsed[key] = _time.GetTimestamp();
            }
            else
            {
                _lastUsed.TryAdd(key, _time.GetTimestamp());
            }
            try
            {
                var client = await lazy.Value.WaitAsync(cancellationToken);
                return await call(client);
            }
            catch (Exception ex) when (Broken(ex))
            {
                await DropAsync(key, lazy);
                if (attempt > 1 || AuthFailure(ex) is not null || cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                LogReconnecting(_logger, server.Name, ex.GetType().Name, ex.Message);
            }
        }
    }

    /// <summary>
    /// Opens a session of its own with <paramref name="headers"/> and lists the tools: "up", "auth_required" (the server
    /// refused with 401/403) or "down", with what happened. Nothing is kept — but a stdio server is probed anonymously
    /// through its shared anonymous session: a child process started for every probe would cost far more than the probe.
    /// </summary>
    public async Task<(string Status, string? Detail)> ProbeAsync(McpServer server, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        try
        {
            if (server.Transport == ServerTransports.Stdio && headers is null)
            {
                var count = await UseAsync(server, Anonymous, null, async c => (await c.ListToolsAsync(cancellationToken: cancellationToken)).Count,
                    cancellationToken, traffic: false);
                return (ServerStatus.Up, $"{count} tools");
            }
            await using var client = await ConnectAsync(server, headers);
            var tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
            return (ServerStatus.Up, $"{tools.Count} tools");
        }
        catch (Exception ex) when (Broken(ex) && !cancellationToken.IsCancellationRequested)
        {
            return AuthFailure(ex) is { } status ? (ServerStatus.AuthRequired, $"HTTP {status}") : (ServerStatus.Down, ex.Message);
        }
    }

    /// <summary>`Authorization: Bearer token`, how users' tokens go upstream.</summary>
    public static IReadOnlyDictionary<string, string> BearerHeaders(string token) => new Dictionary<string, string> { ["Authorization"] = "Bearer " + token };

    /// <summary>401 or 403 when the server refused the credentials (or their absence), anywhere in the exception chain.</summary>
    public static int? AuthFailure(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is HttpRequestException { StatusCode: System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden } http)
            {
                return (int)http.StatusCode!.Value;
            }
        }
        return null;
    }

    /// <summary>Closes sessions unused for <paramref name="idle"/> (a user's session, a stdio child process), to be opened again when needed.</summary>
    public async Task<int> EvictIdleAsync(TimeSpan idle)
    {
        var evicted = 0;
        foreach (var entry in _clients.ToList())
        {
            if (_lastUsed.TryGetValue(entry.Key, out var used) && _time.GetElapsedTime(used) > idle && await DropAsync(entry.Key, entry.Value))
            {
                evicted++;
            }
        }
        return evicted;
    }

    /// <summary>Closes the sessions opened with one user credential (revoked or replaced).</summary>
    public async Task ForgetAsync(Guid server, Guid credential)
    {
        var prefix = credential.ToString("N") + ":";
        foreach (var entry in _clients.Where(c => c.Key.Server == server && c.Key.Identity.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            await DropAsync(entry.Key, entry.Value);
        }
    }

    /// <summary>Closes every session of a server (deleted, or its URL changed).</summary>
    public async Task ForgetAsync(Guid server)
    {
        foreach (var entry in _clients.Where(c => c.Key.Server == server).ToList())
        {
            await DropAsync(entry.Key, entry.Value);
        }
    }

    /// <summary>A transport or connection failure, or a refused credential (not an error the server answered with in JSON-RPC).</summary>
    private static bool Broken(Exception ex) => ex is HttpRequestException or IOException or TimeoutException or ObjectDisposedException
        or ModelContextProtocol.McpException and not ModelContextProtocol.McpProtocolException;

    private async Task<McpClient> ConnectAsync(McpServer server, IReadOnlyDictionary<string, string>? headers)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await McpClient.CreateAsync(Transport(server, headers), new McpClientOptions
        {
            ClientInfo = new() { Name = "thinkwatch-mcp-gateway", Version = "1.0" },
        }, _loggers, timeout.Token);
    }

    private IClientTransport Transport(McpServer server, IReadOnlyDictionary<string, string>? headers)
    {
        if (server.Transport != ServerTransports.Stdio)
        {
            return new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = server.Url,
                Name = server.Name,
                TransportMode = server.Transport == ServerTransports.Sse ? HttpTransportMode.Sse : HttpTransportMode.StreamableHttp,
                AdditionalHeaders = headers?.ToDictionary(),
                ConnectionTimeout = TimeSpan.FromSeconds(15),
            }, _http, _loggers, ownsHttpClient: false);
        }
        var name = server.Url.OriginalString["stdio:".Length..];
        if (!_options.CurrentValue.StdioServers.TryGetValue(name, out var stdio))
        {
            throw new IOException($"'{name}' is no longer among the configured stdio servers (McpGateway:StdioServers).");
        }
        // A child's environment: the basics and what its configuration names, never the gateway's own (secrets, connection strings).
        var environment = StdioClientTransportOptions.GetDefaultEnvironmentVariables();
        foreach (var (key, value) in stdio.Environment)
        {
            environment[key] = value;
        }
        if (stdio.TokenVariable is { } variable && headers?.GetValueOrDefault("Authorization") is { } authorization
            && authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            environment[variable] = authorization["Bearer ".Length..];
        }
        return new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = server.Name,
            Command = stdio.Command,
            Arguments = stdio.Arguments,
            WorkingDirectory = stdio.WorkingDirectory,
            InheritEnvironmentVariables = false,
            EnvironmentVariables = environment,
        }, _loggers);
    }

    private async Task<bool> DropAsync((Guid, string) key, Lazy<Task<McpClient>> lazy)
    {
        if (!_clients.TryRemove(new KeyValuePair<(Guid, string), Lazy<Task<McpClient>>>(key, lazy)))
        {
            return false;
        }
        _lastUsed.TryRemove(key, out _);
        if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
        {
            try
            {
                await lazy.Value.Result.DisposeAsync();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Closing a broken session can fail the same way it broke.
            }
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var entry in _clients.ToList())
        {
            await DropAsync(entry.Key, entry.Value);
        }
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "The session with MCP server {Server} broke ({Error}: {Reason}); reconnecting")]
    private static partial void LogReconnecting(ILogger logger, string server, string error, string reason);
}
