using Microsoft.AspNetCore.Http.Features;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Proxy;

namespace ThinkWatch.AiGateway.Apis;

/// <summary>
/// Errors ASP.NET Core writes itself under /v1 (no such path, wrong method, an unhandled fault) in
/// the shape the client's SDK parses — Anthropic's under /v1/messages, OpenAI's elsewhere — instead
/// of ProblemDetails, which those SDKs cannot read.
/// </summary>
public sealed class ModelApiErrors : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => context.HttpContext.Request.Path.StartsWithSegments("/v1");

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var request = http.Request;
        var path = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value;
        var status = http.Response.StatusCode;
        var error = status switch
        {
            StatusCodes.Status404NotFound => new GatewayError(ErrorKind.NotFound, $"There is no API at {request.Method} {path}."),
            StatusCodes.Status405MethodNotAllowed => new GatewayError(ErrorKind.InvalidRequest, $"{request.Path} does not accept {request.Method}.", UpstreamStatus: status),
            >= 500 => GatewayError.Fault(status),
            _ => new GatewayError(ErrorKind.InvalidRequest, context.ProblemDetails.Title ?? "The request was refused.", UpstreamStatus: status),
        };
        var format = request.Path.StartsWithSegments("/v1/messages") ? ClientFormat.Anthropic : ClientFormat.OpenAiChat;
        return new ValueTask(ClientErrors.WriteAsync(http, format, error));
    }
}
