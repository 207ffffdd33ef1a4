using Microsoft.AspNetCore.Http.HttpResults;

namespace ThinkWatch.Identity.Setup;

public static class SetupApi
{
    public static RouteGroupBuilder MapSetupApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/setup").WithTags("Setup");
        group.MapGet("/", GetStatus);
        group.MapPost("/", Setup);
        return group;
    }

    public static async Task<Ok<SetupStatusResponse>> GetStatus(SetupStatus status, CancellationToken cancellationToken) =>
        TypedResults.Ok(new SetupStatusResponse(!await status.IsCompleteAsync(cancellationToken)));

    public static async Task<Results<Created<SetupResponse>, ValidationProblem, ProblemHttpResult>> Setup(
        SetupRequest request, SetupService setup, TimeProvider time, CancellationToken cancellationToken)
    {
        if (SetupService.Validate(request, time.GetUtcNow()) is { Count: > 0 } errors)
        {
            return TypedResults.ValidationProblem(errors, title: "The setup request is not valid.");
        }
        return await setup.RunAsync(request, cancellationToken) is { } done
            ? TypedResults.Created("/api/me", done)
            : TypedResults.Problem("ThinkWatch is already set up; sign in instead.", statusCode: StatusCodes.Status409Conflict, title: "Already set up");
    }
}

/// <summary>Until setup has happened, every /api endpoint but /api/setup answers 503 (health still works).</summary>
public sealed class SetupGate(SetupStatus status) : IMiddleware
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/api") && !path.StartsWithSegments("/api/setup") && !path.StartsWithSegments("/api/openapi")
            && !path.StartsWithSegments(Security.ConsoleApiExtensions.ReferencePath) && !await status.IsCompleteAsync(context.RequestAborted))
        {
            await TypedResults.Problem(
                "ThinkWatch is not set up yet: create the first administrator with POST /api/setup.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Setup required", type: "setup_required").ExecuteAsync(context);
            return;
        }
        await next(context);
    }
}
