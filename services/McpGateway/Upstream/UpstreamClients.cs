using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;
using ThinkWatch.McpGateway.Servers;

namespace ThinkWatch.McpGateway.Upstream;

/// <summary>
/// One MCP client session per upstream server and identity, kept open and shared by every request
/// that needs it (sessions are cheap to reuse and slow to set up). A session that failed is dropped
/// and opened again by the next call; every connection passes <see cref="SsrfGuard"/>.
/// </summary>
public sealed partial class UpstreamClients : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(Guid Server, string Identity), Lazy<Task<McpClient>>> _clients = new();
    private readonly HttpClient _http;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<UpstreamClients> _logger;
    private readonly IOptionsMonitor<McpGatewayOptions> _options;

    public UpstreamClients(IOptionsMonitor<McpGatewayOptions> options, ILoggerFactory loggers)
    {
        (_options, _loggers, _logger) = (options, loggers, loggers.CreateLogger<UpstreamClients>());
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = SsrfGuard.Connect(() => _options.CurrentValue.AllowPrivateNetworkUpstreams),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The anonymous identity: no credentials of anyone's.</summary>
    public const string Anonymous = "";

    /// <summary>Runs <paramref name="call"/> on the server's session; a broken session is reopened once.</summary>
    public async Task<T> UseAsync<T>(McpServer server, string identity, IReadOnlyDictionary<string, string>? headers, Func<McpClient, Task<T>> call,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var key = (server.Id, identity);
            var lazy = _clients.GetOrAdd(key, _ => new Lazy<Task<McpClient>>(() => ConnectAsync(server, headers)));
            try
            {
                var client = await lazy.Value.WaitAsync(cancellationToken);
                return await call(client);
            }
            catch (Exception ex) when (attempt == 1 && Broken(ex) && !cancellationToken.IsCancellationRequested)
            {
                LogReconnecting(_logger, server.Name, ex.GetType().Name, ex.Message);
                await DropAsync(key, lazy);
            }
            catch (Exception ex) when (Broken(ex))
            {
                await DropAsync(key, lazy);
                throw;
            }
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

    /// <summary>A transport or connection failure (not an error the server answered with).</summary>
    private static bool Broken(Exception ex) => ex is HttpRequestException or IOException or TimeoutException or ObjectDisposedException
        or ModelContextProtocol.McpException and not ModelContextProtocol.McpProtocolException;

    private async Task<McpClient> ConnectAsync(McpServer server, IReadOnlyDictionary<string, string>? headers)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = server.Url,
            Name = server.Name,
            TransportMode = server.Transport == ServerTransports.Sse ? HttpTransportMode.Sse : HttpTransportMode.StreamableHttp,
            AdditionalHeaders = headers?.ToDictionary(),
            ConnectionTimeout = TimeSpan.FromSeconds(15),
        }, _http, _loggers, ownsHttpClient: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await McpClient.CreateAsync(transport, new McpClientOptions
        {
            ClientInfo = new() { Name = "thinkwatch-mcp-gateway", Version = "1.0" },
        }, _loggers, timeout.Token);
    }

    private async Task DropAsync((Guid, string) key, Lazy<Task<McpClient>> lazy)
    {
        if (_clients.TryRemove(new KeyValuePair<(Guid, string), Lazy<Task<McpClient>>>(key, lazy)) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
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
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var entry in _clients.ToList())
        {
            await DropAsync(entry.Key, entry.Value);
        }
        _http.Dispose();
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "The session with MCP server {Server} broke ({Error}: {Reason}); reconnecting")]
    private static partial void LogReconnecting(ILogger logger, string server, string error, string reason);
}
