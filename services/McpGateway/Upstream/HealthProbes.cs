using Microsoft.Extensions.Options;
using ThinkWatch.McpGateway.Servers;

namespace ThinkWatch.McpGateway.Upstream;

/// <summary>
/// Every <see cref="McpGatewayOptions.UpstreamHealthProbeInterval"/>, each enabled server is tried
/// anonymously (a session of its own: initialize, tools/list; a stdio server through its shared
/// anonymous child, see <see cref="UpstreamClients.ProbeAsync"/>): "up", "down" (unreachable or broken),
/// or "auth_required" when it answers 401/403 — a server used with users' own accounts is not down
/// for refusing strangers. The verdict is stored on the server (GET /api/mcp/servers shows it).
/// Every replica probes; verdicts agree, and a probe is cheap next to user traffic. Each round also
/// closes upstream sessions idle for <see cref="McpGatewayOptions.UpstreamIdleTimeout"/>.
/// </summary>
public sealed partial class HealthProbes(ServerStore servers, UpstreamClients clients, IOptionsMonitor<McpGatewayOptions> options, TimeProvider time,
    ILogger<HealthProbes> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ProbeAllAsync(stoppingToken);
                await clients.EvictIdleAsync(options.CurrentValue.UpstreamIdleTimeout);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                LogProbeRoundFailed(logger, ex.GetType().Name, ex.Message);
            }
            try
            {
                await Task.Delay(options.CurrentValue.UpstreamHealthProbeInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task ProbeAllAsync(CancellationToken cancellationToken)
    {
        var enabled = (await servers.ListAsync(cancellationToken)).Where(s => s.Enabled).ToList();
        await Task.WhenAll(enabled.Select(async server =>
        {
            var (status, detail) = await clients.ProbeAsync(server, null, cancellationToken);
            if (status != server.Status)
            {
                LogStatusChanged(logger, server.Name, server.Status, status, detail);
            }
            await servers.SetStatusAsync(server.Id, status, detail, cancellationToken);
        }));
    }

    [LoggerMessage(EventId = 7105, Level = LogLevel.Information, Message = "MCP server {Server}: {Before} -> {After} ({Detail})")]
    private static partial void LogStatusChanged(ILogger logger, string server, string before, string after, string? detail);

    [LoggerMessage(EventId = 7106, Level = LogLevel.Warning, Message = "A round of MCP server health probes failed ({Error}: {Reason})")]
    private static partial void LogProbeRoundFailed(ILogger logger, string error, string reason);
}
