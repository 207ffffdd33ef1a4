using System.Diagnostics;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Integrations;

namespace ThinkWatch.AiGateway.Accounting;

/// <summary>
/// Refusals for the audit trail: a missing or bad key, a model the key may not use, a rate limit or
/// budget of the gateway's own (not an upstream's 429) — an <see cref="AccessDenied"/> event through
/// the durable spool, never blocking the answer.
/// </summary>
public sealed class AccessLog(EventSpool spool, GatewayMetrics metrics, TimeProvider time)
{
    public const string Surface = "ai_gateway";

    public void Refused(HttpContext context, GatewayError error, Principal? principal)
    {
        var rule = context.Response.Headers[GrpcQuotaGate.RuleHeader].ToString();
        var reason = error.Kind switch
        {
            ErrorKind.Authentication => "authentication",
            ErrorKind.Permission => "permission",
            ErrorKind.RateLimited when rule.Length > 0 => "rate_limit",
            _ => null,
        };
        if (reason is null)
        {
            return;
        }
        metrics.Refused(reason);
        spool.Enqueue(new AccessDenied(Guid.CreateVersion7(), time.GetUtcNow(), Activity.Current?.TraceId.ToString(), Surface, reason,
            principal?.UserId, principal?.KeyId, context.Connection.RemoteIpAddress?.ToString(), rule.Length > 0 ? rule : null, error.Message));
    }
}
