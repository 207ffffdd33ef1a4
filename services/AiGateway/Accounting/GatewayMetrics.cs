using System.Diagnostics.Metrics;
using ThinkWatch.AiGateway.Proxy;
using ThinkWatch.Contracts.Events;

namespace ThinkWatch.AiGateway.Accounting;

/// <summary>
/// The gateway's own instruments (meter ThinkWatch; /metrics shows them as
/// thinkwatch_gateway_*): tokens and cost by model and provider, refusals by reason, and each
/// upstream's circuit breaker (0 closed, 1 half open, 2 open, 3 isolated).
/// </summary>
public sealed class GatewayMetrics
{
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _cost;
    private readonly Counter<long> _refused;

    public GatewayMetrics(IMeterFactory meters, UpstreamResilience upstreams)
    {
        var meter = meters.Create("ThinkWatch");
        _tokens = meter.CreateCounter<long>("gateway.tokens", description: "Tokens of finished requests, by model, provider and direction (input, output).");
        _cost = meter.CreateCounter<long>("gateway.cost_micro_usd", description: "Cost of finished requests in millionths of a US dollar.");
        _refused = meter.CreateCounter<long>("gateway.refused", description: "Requests the gateway refused, by reason (authentication, permission, rate_limit).");
        meter.CreateObservableGauge("gateway.breaker_state", () => upstreams.Snapshot().Select(u =>
            new Measurement<int>(u.Breaker switch { "half_open" => 1, "open" => 2, "isolated" => 3, _ => 0 }, new KeyValuePair<string, object?>("provider", u.Provider))),
            description: "Each upstream's circuit breaker: 0 closed, 1 half open, 2 open, 3 isolated.");
    }

    public void Finished(UsageRecorded usage)
    {
        KeyValuePair<string, object?> model = new("model", usage.Model), provider = new("provider", usage.Provider);
        _tokens.Add(usage.InputTokens, model, provider, new("direction", "input"));
        _tokens.Add(usage.OutputTokens, model, provider, new("direction", "output"));
        _cost.Add(usage.CostMicroUsd, model, provider);
    }

    public void Refused(string reason) => _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
