using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ThinkWatch.Security;

/// <summary>What a management operation came to; the API maps it to a status code.</summary>
public abstract record Outcome<T>
{
    public sealed record Done(T Value) : Outcome<T>;
    public sealed record NotFound : Outcome<T>;
    public sealed record Forbidden(string Message) : Outcome<T>;
    public sealed record Invalid(Dictionary<string, string[]> Errors) : Outcome<T>;
}

/// <summary>Outcomes as HTTP answers: 200/201, 400 with field errors, 403 with the reason, 404.</summary>
public static class OutcomeResults
{
    public static Results<Ok<T>, ValidationProblem, ProblemHttpResult, NotFound> Map<T>(Outcome<T> outcome) =>
        outcome is Outcome<T>.Done done ? TypedResults.Ok(done.Value) : Failure<Ok<T>, T>(outcome);

    public static Results<Created<T>, ValidationProblem, ProblemHttpResult, NotFound> Created<T>(Outcome<T> outcome, Func<T, string> location) =>
        outcome is Outcome<T>.Done done ? TypedResults.Created(location(done.Value), done.Value) : Failure<Created<T>, T>(outcome);

    private static Results<TSuccess, ValidationProblem, ProblemHttpResult, NotFound> Failure<TSuccess, T>(Outcome<T> outcome) where TSuccess : IResult =>
        outcome switch
        {
            Outcome<T>.Invalid invalid => TypedResults.ValidationProblem(invalid.Errors),
            Outcome<T>.Forbidden forbidden => TypedResults.Problem(forbidden.Message, statusCode: StatusCodes.Status403Forbidden, title: "Not allowed"),
            Outcome<T>.NotFound => TypedResults.NotFound(),
            _ => throw new InvalidOperationException(outcome.GetType().Name),
        };
}
