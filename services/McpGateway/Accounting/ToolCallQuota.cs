using Grpc.Core;
using Microsoft.Extensions.Options;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Quota.V1;
using ThinkWatch.Integrations;
using ThinkWatch.McpGateway.Mcp;
using ThinkWatch.McpGateway.Servers;

namespace ThinkWatch.McpGateway.Accounting;

/// <summary>Why a tool call was not admitted: the rule that refused it and when to try again.</summary>
public sealed record QuotaRefusal(string Rule, string Message, TimeSpan RetryAfter);

/// <summary>Rate limits on tool calls — the one place the MCP gateway meets the Quota service.</summary>
public interface IToolCallQuota
{
    /// <summary>Counts the call against every rule of the caller's subjects and the server's; null when admitted.</summary>
    Task<QuotaRefusal?> AdmitAsync(McpCaller caller, McpServer server, CancellationToken cancellationToken);
}

/// <summary>
/// The Quota service over gRPC: surface mcp_gateway, subjects the key's (api key, user, teams) or
/// the console user's, plus `mcp_server:{name}`. Tool calls carry no tokens, so budgets (which
/// count tokens and money) do not apply; request rules do.
/// </summary>
public sealed partial class GrpcToolCallQuota(QuotaService.QuotaServiceClient quota, IOptions<McpGatewayOptions> options, ILogger<GrpcToolCallQuota> logger)
    : IToolCallQuota
{
    public const string Unavailable = "rate_limiter_unavailable";

    public async Task<QuotaRefusal?> AdmitAsync(McpCaller caller, McpServer server, CancellationToken cancellationToken)
    {
        var request = new CheckRequest { RequestId = Guid.CreateVersion7().ToString(), Surface = Surface.McpGateway };
        request.Subjects.AddRange(caller.LimitSubjects);
        request.Subjects.Add(new Subject { Kind = SubjectKind.McpServer, Id = server.Name });
        try
        {
            var answer = await quota.CheckAsync(request, deadline: DateTime.UtcNow + options.Value.QuotaTimeout, cancellationToken: cancellationToken);
            return answer.Allowed ? null
                : new QuotaRefusal(answer.RuleLabel, $"{answer.Reason} ({answer.RuleLabel})".TrimStart(), answer.RetryAfter?.ToTimeSpan() ?? TimeSpan.FromSeconds(1));
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled)
        {
            LogQuotaUnreachable(logger, ex.StatusCode);
            return options.Value.QuotaFailureMode == QuotaUnreachable.Open ? null
                : new QuotaRefusal(Unavailable, $"Rate limits cannot be checked right now ({Unavailable}); try again shortly.", TimeSpan.FromSeconds(1));
        }
    }

    [LoggerMessage(EventId = 7201, Level = LogLevel.Warning, Message = "The Quota service could not be reached ({Status})")]
    private static partial void LogQuotaUnreachable(ILogger logger, StatusCode status);
}
