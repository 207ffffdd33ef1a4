using System.Globalization;
using System.Text.Json.Nodes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Contracts.Quota.V1;
using ThinkWatch.Integrations;

namespace ThinkWatch.AiGateway.Accounting;

/// <summary>What a request was admitted with; settling it releases the reservation. <see cref="Model"/> is the upstream's name, which prices follow.</summary>
public sealed record QuotaTicket(string? ReservationId, IReadOnlyList<Subject> Subjects, string Model);

/// <summary>What used tokens weigh and cost, from the Quota service's pricing.</summary>
public readonly record struct QuotaCharge(long WeightedTokens, long CostMicroUsd);

/// <summary>
/// Rate limits, budgets and pricing on the request path — the one place the gateway meets the
/// Quota service. Admit before the upstream call, settle after it (off the request path).
/// </summary>
public interface IQuotaGate
{
    /// <summary>Admits the request and sets the x-ratelimit-* headers, or throws a 429 naming the rule that refused it.</summary>
    Task<QuotaTicket> AdmitAsync(Principal principal, string provider, string model, long estimatedInputTokens, long maxOutputTokens, HttpResponse response,
        CancellationToken cancellationToken);

    /// <summary>Counts what the request used (its finished record) and releases its reservation; null when the Quota service could not be reached.</summary>
    Task<QuotaCharge?> SettleAsync(QuotaTicket ticket, UsageRecorded record, CancellationToken cancellationToken);

    /// <summary>The limits that would apply and what the request would cost, for /v1/explain (nothing is counted).</summary>
    Task<(JsonObject Limits, JsonObject Pricing)> ExplainAsync(Principal principal, string provider, string model, long estimatedInputTokens, long maxOutputTokens,
        CancellationToken cancellationToken);
}

/// <summary>The Quota service over gRPC (internal token, service discovery).</summary>
public sealed partial class GrpcQuotaGate(QuotaService.QuotaServiceClient quota, IOptions<AiGatewayOptions> options, TimeProvider time, ILogger<GrpcQuotaGate> logger) : IQuotaGate
{
    public const string RuleHeader = "X-ThinkWatch-Rule";

    public async Task<QuotaTicket> AdmitAsync(Principal principal, string provider, string model, long estimatedInputTokens, long maxOutputTokens, HttpResponse response,
        CancellationToken cancellationToken)
    {
        var subjects = SubjectsOf(principal, provider);
        var request = new CheckRequest
        {
            RequestId = response.HttpContext.TraceIdentifier,
            Surface = Surface.AiGateway,
            Model = model,
            EstimatedInputTokens = estimatedInputTokens,
            MaxOutputTokens = maxOutputTokens,
        };
        request.Subjects.AddRange(subjects);
        CheckResponse answer;
        try
        {
            answer = await quota.CheckAsync(request, deadline: Deadline(), cancellationToken: cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled)
        {
            LogQuotaUnreachable(logger, ex.StatusCode);
            if (options.Value.QuotaFailureMode == QuotaUnreachable.Open)
            {
                return new QuotaTicket(null, subjects, model);
            }
            response.Headers[RuleHeader] = "rate_limiter_unavailable";
            throw new GatewayException(new GatewayError(ErrorKind.RateLimited, "Rate limits cannot be checked right now (rate_limiter_unavailable); try again shortly.",
                RetryAfter: TimeSpan.FromSeconds(1)));
        }
        WriteHeaders(response, answer.Limits);
        if (!answer.Allowed)
        {
            response.Headers[RuleHeader] = answer.RuleLabel;
            throw new GatewayException(new GatewayError(ErrorKind.RateLimited, $"{answer.Reason} ({answer.RuleLabel})".TrimStart(),
                RetryAfter: answer.RetryAfter?.ToTimeSpan() ?? TimeSpan.FromSeconds(1)));
        }
        return new QuotaTicket(string.IsNullOrEmpty(answer.ReservationId) ? null : answer.ReservationId, subjects, model);
    }

    public async Task<QuotaCharge?> SettleAsync(QuotaTicket ticket, UsageRecorded record, CancellationToken cancellationToken)
    {
        var request = new SettleRequest
        {
            ReservationId = ticket.ReservationId ?? "",
            Surface = Surface.AiGateway,
            Model = ticket.Model,
            InputTokens = record.InputTokens,
            OutputTokens = record.OutputTokens,
            CachedInputTokens = record.CachedInputTokens,
        };
        // The provider that really answered (after failover) is the one whose token limits count.
        request.Subjects.AddRange(WithProvider(ticket.Subjects.Where(s => s.Kind != SubjectKind.Provider), record.Provider));
        try
        {
            var answer = await quota.SettleAsync(request, deadline: Deadline(), cancellationToken: cancellationToken);
            return new QuotaCharge(answer.WeightedTokens, answer.CostMicroUsd);
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled)
        {
            LogQuotaUnreachable(logger, ex.StatusCode);
            return null;
        }
    }

    public async Task<(JsonObject Limits, JsonObject Pricing)> ExplainAsync(Principal principal, string provider, string model, long estimatedInputTokens,
        long maxOutputTokens, CancellationToken cancellationToken)
    {
        try
        {
            var rules = new JsonArray();
            var budgets = new JsonArray();
            foreach (var subject in SubjectsOf(principal, provider))
            {
                var status = await quota.StatusAsync(new StatusRequest { Subject = subject }, deadline: Deadline(), cancellationToken: cancellationToken);
                foreach (var r in status.Rules)
                {
                    rules.Add(new JsonObject { ["label"] = r.Label, ["subject"] = subject.Id, ["limit"] = r.Limit, ["remaining"] = r.Remaining, ["reset_at"] = r.ResetAt.ToDateTimeOffset() });
                }
                foreach (var b in status.Budgets)
                {
                    budgets.Add(new JsonObject
                    {
                        ["label"] = b.Label, ["subject"] = subject.Id,
                        ["limit_weighted_tokens"] = b.LimitWeightedTokens == 0 ? null : b.LimitWeightedTokens, ["used_weighted_tokens"] = b.UsedWeightedTokens,
                        ["limit_usd"] = b.LimitMicroUsd == 0 ? null : b.LimitMicroUsd / 1_000_000m, ["used_usd"] = b.UsedMicroUsd / 1_000_000m,
                        ["period_ends_at"] = b.PeriodEndsAt.ToDateTimeOffset(),
                    });
                }
            }
            var quote = await quota.QuoteAsync(new QuoteRequest { Model = model, InputTokens = estimatedInputTokens, OutputTokens = maxOutputTokens },
                deadline: Deadline(), cancellationToken: cancellationToken);
            var decimals = (string text) => decimal.Parse(text, CultureInfo.InvariantCulture);
            return (
                new JsonObject { ["enforced"] = true, ["rules"] = rules, ["budgets"] = budgets },
                new JsonObject
                {
                    ["estimated_input_tokens"] = estimatedInputTokens,
                    ["max_output_tokens"] = maxOutputTokens,
                    ["price_entry"] = quote.MatchedEntry.Length == 0 ? null : quote.MatchedEntry,
                    ["usd_per_million_tokens"] = new JsonObject
                    {
                        ["input"] = decimals(quote.InputUsdPerMtok), ["output"] = decimals(quote.OutputUsdPerMtok), ["cached_input"] = decimals(quote.CachedInputUsdPerMtok),
                    },
                    ["weights"] = new JsonObject
                    {
                        ["input"] = decimals(quote.InputWeight), ["output"] = decimals(quote.OutputWeight), ["cached_input"] = decimals(quote.CachedInputWeight),
                    },
                    ["max_weighted_tokens"] = quote.WeightedTokens,
                    ["max_cost_usd"] = quote.CostMicroUsd / 1_000_000m,
                    ["detail"] = "Input estimated at about four characters per token; the maximum assumes every allowed output token is used.",
                });
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled)
        {
            var unreachable = new JsonObject { ["enforced"] = null, ["detail"] = $"The Quota service could not be reached ({ex.StatusCode})." };
            return (unreachable, (JsonObject)unreachable.DeepClone());
        }
    }

    /// <summary>Identity's limit subjects for the key (api key, user, teams) and the provider that serves the model.</summary>
    private static List<Subject> SubjectsOf(Principal principal, string provider) => WithProvider(principal.LimitSubjects, provider);

    private static List<Subject> WithProvider(IEnumerable<Subject> subjects, string provider) =>
        provider.Length > 0 ? [.. subjects, new Subject { Kind = SubjectKind.Provider, Id = provider }] : [.. subjects];

    // gRPC deadlines are wall-clock times.
    private DateTime Deadline() => DateTime.UtcNow + options.Value.QuotaTimeout;

    /// <summary>OpenAI's rate-limit headers, from the request and token rules with the least room left.</summary>
    private void WriteHeaders(HttpResponse response, IEnumerable<LimitState> limits)
    {
        foreach (var (metric, tightest) in limits.GroupBy(l => l.Label.Contains(":tokens/", StringComparison.Ordinal) ? "tokens" : "requests")
                     .Select(g => (g.Key, g.MinBy(l => l.Remaining)!)))
        {
            var reset = Math.Max(0, Math.Ceiling((tightest.ResetAt.ToDateTimeOffset() - time.GetUtcNow()).TotalSeconds));
            response.Headers[$"x-ratelimit-limit-{metric}"] = tightest.Limit.ToString(CultureInfo.InvariantCulture);
            response.Headers[$"x-ratelimit-remaining-{metric}"] = tightest.Remaining.ToString(CultureInfo.InvariantCulture);
            response.Headers[$"x-ratelimit-reset-{metric}"] = $"{reset.ToString(CultureInfo.InvariantCulture)}s";
        }
    }

    [LoggerMessage(EventId = 4401, Level = LogLevel.Warning, Message = "The Quota service could not be reached ({Status})")]
    private static partial void LogQuotaUnreachable(ILogger logger, StatusCode status);
}
