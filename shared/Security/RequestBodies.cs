using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ThinkWatch.Security;

/// <summary>
/// Management request bodies follow their contract exactly: a field the contract does not have is refused with a
/// 400 naming it rather than ignored — a misspelt "allowedMcpToolz" would otherwise create a key that can call no tool.
/// This governs only bodies bound to endpoint parameters; the model APIs (/v1) and /mcp read their bodies
/// themselves with their own options, since the formats they pass through carry fields we do not model.
/// </summary>
public static partial class RequestBodies
{
    public static IServiceCollection AddStrictRequestBodies(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            // A name given twice is refused as on the model APIs: no reader may see another value than ours.
            o.SerializerOptions.AllowDuplicateProperties = false;
        });
        // Otherwise a body that does not bind becomes a bare 400 and the reason is lost before anything can report it.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler<BadRequestProblems>();
        return services;
    }

    /// <summary>A request that could not be bound, as a ProblemDetails; a body the serializer refused names the field.</summary>
    private sealed class BadRequestProblems(IProblemDetailsService problems, ILogger<BadRequestProblems> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is not BadHttpRequestException bad)
            {
                return false;
            }
            ProblemDetails problem = bad.InnerException is JsonException json
                ? new HttpValidationProblemDetails(new Dictionary<string, string[]> { [FieldOf(json)] = [Reason(json)] })
                {
                    Title = "The request body is not valid.",
                }
                : new ProblemDetails { Title = "Bad request", Detail = bad.Message };
            problem.Status = context.Response.StatusCode = bad.StatusCode;
            // Handled exceptions are not logged by the exception handler; the reason is still worth having when a client asks why.
            LogRefused(logger, context.Request.Method, context.Request.Path, bad.StatusCode, bad.InnerException?.Message ?? bad.Message);
            return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
        }

        /// <summary>"$.apiKey.allowedMcpToolz" → "apiKey.allowedMcpToolz": the field as the client wrote it; "$" for the body as a whole.</summary>
        private static string FieldOf(JsonException json) => json.Path switch
        {
            null or "$" => "$",
            { } path when path.StartsWith("$.", StringComparison.Ordinal) => path[2..],
            { } path => path,
        };

        // System.Text.Json reports a member the type lacks, or a name given twice, only through its message (no error code of its own).
        private static string Reason(JsonException json) =>
            json.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal) ? "unknown field"
            : json.Message.Contains("Duplicate property", StringComparison.Ordinal) ? "given more than once"
            : "not a valid value here";
    }

    [LoggerMessage(EventId = 1402, Level = LogLevel.Debug, Message = "Refused {Method} {Path} with {Status}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, PathString path, int status, string reason);
}
