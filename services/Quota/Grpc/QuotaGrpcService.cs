using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Quota.V1;
using ThinkWatch.Quota.Limiting;
using ThinkWatch.Quota.Pricing;
using ThinkWatch.Quota.Rules;

namespace ThinkWatch.Quota.Grpc;

/// <summary>Check, Settle and Status for the gateways, budgets for analytics (internal token required, see AddInternalGrpc).</summary>
public sealed class QuotaGrpcService(Limiter limiter, BudgetAlerts alerts, QuotaMetrics metrics, RuleBookCache rules, LimitsStore store, TimeProvider time)
    : QuotaService.QuotaServiceBase
{
    public override async Task<ListBudgetsResponse> ListBudgets(ListBudgetsRequest request, ServerCallContext context)
    {
        var now = time.GetUtcNow();
        var response = new ListBudgetsResponse();
        foreach (var b in (await store.ListBudgetsAsync(null, null, context.CancellationToken)).Where(b => b.Enabled))
        {
            var (start, end) = Vocabulary.PeriodOf(b.Period, now);
            response.Budgets.Add(new Contracts.Quota.V1.Budget
            {
                Id = b.Id.ToString(),
                Subject = new Subject { Kind = Vocabulary.SubjectKinds[b.SubjectKind], Id = b.SubjectId },
                Period = b.Period,
                LimitWeightedTokens = b.LimitWeightedTokens ?? 0,
                LimitMicroUsd = b.LimitUsd is { } usd ? (long)(usd * 1_000_000m) : 0,
                Action = b.Action,
                PeriodStartsAt = Timestamp.FromDateTimeOffset(start),
                PeriodEndsAt = Timestamp.FromDateTimeOffset(end),
                Label = b.Label,
            });
        }
        return response;
    }

    public override async Task<QuoteResponse> Quote(QuoteRequest request, ServerCallContext context)
    {
        var book = await Run(async () => await rules.GetAsync(context.CancellationToken));
        var price = book.Prices.Find(request.Model);
        var p = price ?? ModelPrice.Unpriced;
        var charge = PriceBook.Charge(p, new TokenCount(Math.Max(0, request.InputTokens), Math.Max(0, request.OutputTokens), Math.Max(0, request.CachedInputTokens)));
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        return new QuoteResponse
        {
            MatchedEntry = price?.Model ?? "",
            InputUsdPerMtok = p.InputUsdPerMtok.ToString(invariant),
            OutputUsdPerMtok = p.OutputUsdPerMtok.ToString(invariant),
            CachedInputUsdPerMtok = p.CachedInputUsdPerMtok.ToString(invariant),
            InputWeight = p.InputWeight.ToString(invariant),
            OutputWeight = p.OutputWeight.ToString(invariant),
            CachedInputWeight = p.CachedInputWeight.ToString(invariant),
            WeightedTokens = charge.WeightedTokens,
            CostMicroUsd = charge.CostMicroUsd,
        };
    }

    public override async Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        var input = new CheckInput(SurfaceOf(request.Surface), Subjects(request.Subjects), request.Model, request.EstimatedInputTokens, request.MaxOutputTokens);
        var result = await Run(() => limiter.CheckAsync(input, context.CancellationToken));
        metrics.Checks.Add(1, new KeyValuePair<string, object?>("outcome", result.Degraded ? "degraded" : result.Allowed ? "allowed" : "rejected"),
            new KeyValuePair<string, object?>("surface", input.Surface));
        var response = new CheckResponse
        {
            Allowed = result.Allowed,
            ReservationId = result.ReservationId ?? "",
            RuleLabel = result.RuleLabel ?? "",
            Degraded = result.Degraded,
            Reason = result.Reason ?? "",
        };
        if (result.RetryAfter is { } retry)
        {
            response.RetryAfter = Duration.FromTimeSpan(retry);
        }
        response.Limits.AddRange(result.Limits.Select(State));
        return response;
    }

    public override async Task<SettleResponse> Settle(SettleRequest request, ServerCallContext context)
    {
        var input = new SettleInput(string.IsNullOrEmpty(request.ReservationId) ? null : request.ReservationId, SurfaceOf(request.Surface), Subjects(request.Subjects),
            request.Model, new TokenCount(Math.Max(0, request.InputTokens), Math.Max(0, request.OutputTokens), Math.Max(0, request.CachedInputTokens)));
        var result = await Run(() => limiter.SettleAsync(input, context.CancellationToken));
        await alerts.AnnounceAsync(result.Alerts, context.CancellationToken);
        return new SettleResponse { WeightedTokens = result.Charge.WeightedTokens, CostMicroUsd = result.Charge.CostMicroUsd };
    }

    public override async Task<StatusResponse> Status(StatusRequest request, ServerCallContext context)
    {
        var subject = Subjects([request.Subject])[0];
        var status = await Run(() => limiter.StatusAsync(subject, context.CancellationToken))
            ?? throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unavailable, "The rate limiter (Redis) is unreachable."));
        var response = new StatusResponse();
        response.Rules.AddRange(status.Rules.Select(State));
        response.Budgets.AddRange(status.Budgets.Select(b => new Contracts.Quota.V1.BudgetState
        {
            Label = b.Label,
            LimitWeightedTokens = b.LimitWeightedTokens ?? 0,
            UsedWeightedTokens = b.UsedWeightedTokens,
            LimitMicroUsd = b.LimitMicroUsd ?? 0,
            UsedMicroUsd = b.UsedMicroUsd,
            ReservedWeightedTokens = b.ReservedWeightedTokens,
            PeriodEndsAt = Timestamp.FromDateTimeOffset(b.PeriodEnd),
        }));
        return response;
    }

    private static LimitState State(RuleState s) => new()
    {
        Label = s.Label,
        Limit = s.Limit,
        Remaining = s.Remaining,
        ResetAt = Timestamp.FromDateTimeOffset(s.ResetAt),
    };

    private static async Task<T> Run<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (QuotaUnavailableException ex)
        {
            throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unavailable, ex.Message));
        }
    }

    private static string SurfaceOf(Surface surface) => surface is Surface.AiGateway or Surface.McpGateway
        ? Vocabulary.NameOf(surface)
        : throw new RpcException(new global::Grpc.Core.Status(StatusCode.InvalidArgument, "surface is required"));

    private static List<SubjectRef> Subjects(IEnumerable<Subject> subjects) =>
        [.. subjects.Select(s => s.Kind != SubjectKind.Unspecified && !string.IsNullOrEmpty(s.Id) && s.Id != Vocabulary.EverySubject
            ? SubjectRef.From(s)
            : throw new RpcException(new global::Grpc.Core.Status(StatusCode.InvalidArgument, "every subject needs a kind and an id")))];
}
