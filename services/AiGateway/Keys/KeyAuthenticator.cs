using MassTransit;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Identity.V1;

namespace ThinkWatch.AiGateway.Keys;

/// <summary>
/// Who a presented `tw-` key belongs to. Answers come from Identity (KeyService over gRPC) and
/// are cached by key hash — principals for <see cref="AiGatewayOptions.KeyCacheTtl"/>, refusals
/// briefly — and dropped the moment Identity announces a change to the key.
/// </summary>
public sealed class KeyAuthenticator(KeyService.KeyServiceClient keys, IMemoryCache cache, IOptions<AiGatewayOptions> options, TimeProvider time)
{
    private static readonly ValidateKeyResponse NotAKey = new() { Rejection = new KeyRejection { Reason = RejectionReason.Unknown, Message = "Unknown API key." } };

    /// <summary>The principal behind the request's key (Bearer or x-api-key), or a client-facing refusal.</summary>
    public async Task<Principal> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var presented = request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? auth[7..].Trim()
            : request.Headers["x-api-key"].ToString();
        if (string.IsNullOrEmpty(presented))
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

    public async Task<ValidateKeyResponse> AuthenticateAsync(string? presented, CancellationToken cancellationToken)
    {
        if (presented is null || !presented.StartsWith("tw-", StringComparison.Ordinal) || presented.Length > 200)
        {
            return NotAKey;
        }
        var hash = Security.TokenHash.Of(presented);
        var cacheKey = CacheKey(Convert.ToHexStringLower(hash));
        if (!cache.TryGetValue(cacheKey, out ValidateKeyResponse? answer) || answer is null)
        {
            answer = await keys.ValidateAsync(new ValidateKeyRequest { KeyHash = Google.Protobuf.ByteString.CopyFrom(hash), Surface = Surface.AiGateway },
                cancellationToken: cancellationToken);
            var o = options.Value;
            cache.Set(cacheKey, answer, answer.ResultCase == ValidateKeyResponse.ResultOneofCase.Principal ? o.KeyCacheTtl : o.RejectionCacheTtl);
        }
        // A cached principal still expires on time.
        if (answer.Principal?.ExpiresAt is { } expires && expires.ToDateTimeOffset() <= time.GetUtcNow())
        {
            return new ValidateKeyResponse { Rejection = new KeyRejection { Reason = RejectionReason.Expired, Message = "This API key expired." } };
        }
        return answer;
    }

    public void Forget(string keyHashHex) => cache.Remove(CacheKey(keyHashHex));

    private static string CacheKey(string hex) => "key:" + hex;
}

/// <summary>Drops cached answers for keys Identity changed or revoked (on every gateway replica).</summary>
public sealed class KeyEventsConsumer(KeyAuthenticator authenticator) : IConsumer<KeyRevoked>, IConsumer<KeyChanged>
{
    public Task Consume(ConsumeContext<KeyRevoked> context)
    {
        authenticator.Forget(context.Message.KeyHashHex);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<KeyChanged> context)
    {
        authenticator.Forget(context.Message.KeyHashHex);
        return Task.CompletedTask;
    }
}
