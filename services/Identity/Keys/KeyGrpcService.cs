using Grpc.Core;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Identity.V1;

namespace ThinkWatch.Identity.Keys;

/// <summary>KeyService over gRPC: the gateways' question "who is this key?".</summary>
public sealed class KeyGrpcService(KeyValidator validator) : KeyService.KeyServiceBase
{
    public override Task<ValidateKeyResponse> Validate(ValidateKeyRequest request, ServerCallContext context)
    {
        if (request.KeyHash.Length != 32)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "key_hash must be the 32-byte SHA-256 of the key"));
        }
        if (request.Surface == Surface.Unspecified)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "surface is required"));
        }
        return validator.ValidateAsync(request.KeyHash.ToByteArray(), request.Surface, context.CancellationToken);
    }
}
