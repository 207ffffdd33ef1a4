namespace ThinkWatch.AiGateway.Conversion;

public enum ErrorKind
{
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimited,
    Api,
    Overloaded,
    UpstreamTimeout,
    /// <summary>A fault of the gateway's own (a bug): 500, logged, no details for the client.</summary>
    Internal,
}

/// <summary>An error for the client, written in its API's shape (see Errors) with the matching status.</summary>
public sealed record GatewayError(ErrorKind Kind, string Message, string? Param = null, TimeSpan? RetryAfter = null, int? UpstreamStatus = null)
{
    public int Status => UpstreamStatus ?? Kind switch
    {
        ErrorKind.InvalidRequest => 400,
        ErrorKind.Authentication => 401,
        ErrorKind.Permission => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.RequestTooLarge => 413,
        ErrorKind.RateLimited => 429,
        ErrorKind.Overloaded => 503,
        ErrorKind.UpstreamTimeout => 504,
        ErrorKind.Internal => 500,
        _ => 502,
    };

    /// <summary>Anthropic's error type names, used in both shapes (OpenAI clients read the message and the status).</summary>
    public string Type => Kind switch
    {
        ErrorKind.InvalidRequest => "invalid_request_error",
        ErrorKind.Authentication => "authentication_error",
        ErrorKind.Permission => "permission_error",
        ErrorKind.NotFound => "not_found_error",
        ErrorKind.RequestTooLarge => "request_too_large",
        ErrorKind.RateLimited => "rate_limit_error",
        ErrorKind.Overloaded => "overloaded_error",
        ErrorKind.UpstreamTimeout => "timeout_error",
        _ => "api_error",
    };

    public static GatewayError Invalid(string message, string? param = null) => new(ErrorKind.InvalidRequest, message, param);

    /// <summary>A fault of the gateway's own: the client learns only that it is logged (<paramref name="status"/>: another 5xx than 500).</summary>
    public static GatewayError Fault(int? status = null) =>
        new(ErrorKind.Internal, "The gateway failed while handling this request; the failure is logged.", UpstreamStatus: status);

    /// <summary>A feature of the request that the chosen upstream cannot express.</summary>
    public static GatewayError Unsupported(string feature, string upstream) =>
        new(ErrorKind.InvalidRequest, $"{feature} cannot be sent to {upstream}: it has no equivalent there, and the gateway does not drop it silently.");
}

/// <summary>Thrown while reading or converting a request; the endpoint turns it into the client's error shape.</summary>
public sealed class GatewayException(GatewayError error) : Exception(error.Message)
{
    public GatewayError Error { get; } = error;

    public static GatewayException Invalid(string message, string? param = null) => new(GatewayError.Invalid(message, param));

    public static GatewayException Unsupported(string feature, string upstream) => new(GatewayError.Unsupported(feature, upstream));

    /// <summary>Something the gateway holds in memory (providers, models) could not be loaded: 503.</summary>
    public static GatewayException Unavailable(string what) => new(new GatewayError(ErrorKind.Overloaded, $"The gateway cannot load its {what} right now; try again shortly."));
}
