using Microsoft.AspNetCore.Http.HttpResults;
using ThinkWatch.Quota.Limiting;
using ThinkWatch.Quota.Pricing;
using ThinkWatch.Quota.Rules;
using ThinkWatch.Security;

namespace ThinkWatch.Quota.Apis;

/// <summary>Current usage of one subject: every rule and budget that applies to it, with what is used now.</summary>
public sealed record SubjectUsage(string SubjectKind, string SubjectId, IReadOnlyList<RuleState> Rules, IReadOnlyList<BudgetState> Budgets);

/// <summary>/api/limits (rules, budgets, usage) and /api/pricing on the console side: reading needs limits:read, changing limits:manage.</summary>
public static class LimitsApi
{
    public static IEndpointRouteBuilder MapLimitsApi(this IEndpointRouteBuilder app)
    {
        var rules = app.MapGroup("/api/limits/rules").WithTags("Rate limits");
        rules.MapGet("/", (LimitsStore s, string? subjectKind, string? subjectId, CancellationToken ct) => s.ListRulesAsync(subjectKind, subjectId, ct))
            .RequirePermission(Permissions.LimitsRead);
        rules.MapPost("/", async (LimitsStore s, HttpContext http, RuleInput input, CancellationToken ct) =>
            OutcomeResults.Created(await s.CreateRuleAsync(ConsoleActor.From(http), input, ct), r => $"/api/limits/rules/{r.Id}")).RequirePermission(Permissions.LimitsManage);
        rules.MapPut("/{id:guid}", async (LimitsStore s, HttpContext http, Guid id, RuleInput input, CancellationToken ct) =>
            OutcomeResults.Map(await s.UpdateRuleAsync(ConsoleActor.From(http), id, input, ct))).RequirePermission(Permissions.LimitsManage);
        rules.MapDelete("/{id:guid}", async (LimitsStore s, HttpContext http, Guid id, CancellationToken ct) =>
            OutcomeResults.Map(await s.DeleteRuleAsync(ConsoleActor.From(http), id, ct))).RequirePermission(Permissions.LimitsManage);

        var budgets = app.MapGroup("/api/limits/budgets").WithTags("Budgets");
        budgets.MapGet("/", (LimitsStore s, string? subjectKind, string? subjectId, CancellationToken ct) => s.ListBudgetsAsync(subjectKind, subjectId, ct))
            .RequirePermission(Permissions.LimitsRead);
        budgets.MapPost("/", async (LimitsStore s, HttpContext http, BudgetInput input, CancellationToken ct) =>
            OutcomeResults.Created(await s.CreateBudgetAsync(ConsoleActor.From(http), input, ct), b => $"/api/limits/budgets/{b.Id}")).RequirePermission(Permissions.LimitsManage);
        budgets.MapPut("/{id:guid}", async (LimitsStore s, HttpContext http, Guid id, BudgetInput input, CancellationToken ct) =>
            OutcomeResults.Map(await s.UpdateBudgetAsync(ConsoleActor.From(http), id, input, ct))).RequirePermission(Permissions.LimitsManage);
        budgets.MapDelete("/{id:guid}", async (LimitsStore s, HttpContext http, Guid id, CancellationToken ct) =>
            OutcomeResults.Map(await s.DeleteBudgetAsync(ConsoleActor.From(http), id, ct))).RequirePermission(Permissions.LimitsManage);

        app.MapGet("/api/limits/usage", Usage).WithTags("Usage").RequirePermission(Permissions.LimitsRead);

        var pricing = app.MapGroup("/api/pricing").WithTags("Pricing");
        pricing.MapGet("/", (PricingStore s, CancellationToken ct) => s.ListAsync(ct)).RequirePermission(Permissions.LimitsRead);
        pricing.MapGet("/resolve", Resolve).RequirePermission(Permissions.LimitsRead);
        pricing.MapPut("/{*model}", async (PricingStore s, HttpContext http, string model, PriceInput input, CancellationToken ct) =>
            OutcomeResults.Map(await s.SetAsync(ConsoleActor.From(http), model, input, ct))).RequirePermission(Permissions.LimitsManage);
        pricing.MapDelete("/{*model}", async (PricingStore s, HttpContext http, string model, CancellationToken ct) =>
            OutcomeResults.Map(await s.DeleteAsync(ConsoleActor.From(http), model, ct))).RequirePermission(Permissions.LimitsManage);
        return app;
    }

    public static async Task<Results<Ok<SubjectUsage>, ValidationProblem, ProblemHttpResult>> Usage(
        string? subjectKind, string? subjectId, Limiter limiter, CancellationToken cancellationToken)
    {
        if (subjectKind is null || !Vocabulary.SubjectKinds.ContainsKey(subjectKind) || string.IsNullOrEmpty(subjectId) || subjectId == Vocabulary.EverySubject)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["subjectKind"] = [$"Required: subjectKind (one of {string.Join(", ", Vocabulary.SubjectKinds.Keys.Order(StringComparer.Ordinal))}) and a subjectId."],
            });
        }
        var status = await limiter.StatusAsync(new SubjectRef(subjectKind, subjectId), cancellationToken);
        return status is { } s
            ? TypedResults.Ok(new SubjectUsage(subjectKind, subjectId, s.Rules, s.Budgets))
            : TypedResults.Problem("The rate limiter (Redis) is unreachable; usage cannot be read right now.", statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>Which price applies to a model, and why (exact entry, prefix, or none).</summary>
    public static async Task<Ok<ResolvedPrice>> Resolve(string? model, RuleBookCache cache, CancellationToken cancellationToken)
    {
        var book = await cache.GetAsync(cancellationToken);
        var found = string.IsNullOrEmpty(model) ? null : book.Prices.Find(model);
        return TypedResults.Ok(new ResolvedPrice(model ?? "", found?.Model, found ?? ModelPrice.Unpriced with { Model = "" }));
    }
}

/// <summary>The price a model gets: <see cref="MatchedEntry"/> is null when no entry matches (weights 1, cost 0).</summary>
public sealed record ResolvedPrice(string Model, string? MatchedEntry, ModelPrice Price);
