using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Integrations;

namespace ThinkWatch.AiGateway.Keys;

/// <summary>The request's `tw-` key checked by <see cref="ApiKeyValidator"/> (AI surface), refusals in the client's error shape.</summary>
public sealed class KeyAuthenticator(ApiKeyValidator validator)
{
    /// <summary>The principal behind the request's key (Bearer or x-api-key), or a client-facing refusal.</summary>
    public async Task<Principal> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (ApiKeyValidator.Presented(request) is not { } presented)
        {
            throw new GatewayException(new GatewayError(ErrorKind.Authentication, "Missing API key: send 'Authorization: Bearer tw-…' or 'x-api-key: tw-…'."));
        }
        ValidateKeyResponse answer;
        try
        {
            answer = await AuthenticateAsync(presented, cancellationToken);
        }
        catch (Grpc.Core.RpcException ex) when (ex.StatusCode != Grpc.Core.StatusCode.Cancelled)
        {
            throw new GatewayException(new GatewayError(ErrorKind.Overloaded, "The gateway cannot check API keys right now; try again shortly."));
        }
        return answer.Principal ?? throw new GatewayException(new GatewayError(
            answer.Rejection.Reason == RejectionReason.WrongSurface ? ErrorKind.Permission : ErrorKind.Authentication, answer.Rejection.Message));
    }

    public Task<ValidateKeyResponse> AuthenticateAsync(string? presented, CancellationToken cancellationToken) => validator.ValidateAsync(presented, cancellationToken);
}
