using System.ComponentModel.DataAnnotations;
using MassTransit;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Identity.V1;

namespace ThinkWatch.Integrations;

public sealed class ApiKeyOptions
{
    public const string Section = "ApiKeys";

    /// <summary>How long a key's principal is reused without asking Identity (changes and revocations drop it at once).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a refusal is remembered (a key created a moment ago is not refused for long).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RejectionCacheTtl { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Who a presented `tw-` key belongs to, for one surface (AI or MCP gateway). Answers come from
/// Identity (KeyService over gRPC) and are cached by key hash — principals for
/// <see cref="ApiKeyOptions.CacheTtl"/>, refusals briefly — and dropped the moment Identity
/// announces a change to the key (<see cref="ApiKeyEventsConsumer"/>). While those announcements
/// cannot arrive (the broadcast subscription is lost) nothing cached is trusted, and all of it is
/// forgotten when they can again.
/// </summary>
public sealed class ApiKeyValidator(KeyService.KeyServiceClient keys, IMemoryCache cache, BroadcastSubscription broadcast, IOptions<ApiKeyOptions> options,
    TimeProvider time, Surface surface)
{
    // Part of every cache key: a new generation forgets every answer at once.
    private int _generation;

    private static readonly ValidateKeyResponse NotAKey = new() { Rejection = new KeyRejection { Reason = RejectionReason.Unknown, Message = "Unknown API key." } };

    /// <summary>Identity's answer for <paramref name="presented"/>; a gRPC failure is the caller's to report.</summary>
    public async Task<ValidateKeyResponse> ValidateAsync(string? presented, CancellationToken cancellationToken)
    {
        if (presented is null || !presented.StartsWith("tw-", StringComparison.Ordinal) || presented.Length > 200)
        {
            return NotAKey;
        }
        var hash = Security.TokenHash.Of(presented);
        var cacheKey = CacheKey(Convert.ToHexStringLower(hash));
        if (!broadcast.Listening || !cache.TryGetValue(cacheKey, out ValidateKeyResponse? answer) || answer is null)
        {
            answer = await keys.ValidateAsync(new ValidateKeyRequest { KeyHash = Google.Protobuf.ByteString.CopyFrom(hash), Surface = surface },
                cancellationToken: cancellationToken);
            var o = options.Value;
            cache.Set(cacheKey, answer, answer.ResultCase == ValidateKeyResponse.ResultOneofCase.Principal ? o.CacheTtl : o.RejectionCacheTtl);
        }
        // A cached principal still expires on time.
        if (answer.Principal?.ExpiresAt is { } expires && expires.ToDateTimeOffset() <= time.GetUtcNow())
        {
            return new ValidateKeyResponse { Rejection = new KeyRejection { Reason = RejectionReason.Expired, Message = "This API key expired." } };
        }
        return answer;
    }

    /// <summary>The key a request presents: `Authorization: Bearer …` or `x-api-key`.</summary>
    public static string? Presented(Microsoft.AspNetCore.Http.HttpRequest request) =>
        request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? auth[7..].Trim()
            : request.Headers["x-api-key"].ToString() is { Length: > 0 } key ? key : null;

    public void Forget(string keyHashHex) => cache.Remove(CacheKey(keyHashHex));

    /// <summary>Forgets every cached answer (they age out of the cache unread).</summary>
    public void ForgetAll() => Interlocked.Increment(ref _generation);

    private string CacheKey(string hex) => $"key:{Volatile.Read(ref _generation)}:{hex}";
}

/// <summary>Drops cached answers for keys Identity changed or revoked (on every gateway replica).</summary>
public sealed class ApiKeyEventsConsumer(ApiKeyValidator validator) : IConsumer<KeyRevoked>, IConsumer<KeyChanged>
{
    public Task Consume(ConsumeContext<KeyRevoked> context)
    {
        validator.Forget(context.Message.KeyHashHex);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<KeyChanged> context)
    {
        validator.Forget(context.Message.KeyHashHex);
        return Task.CompletedTask;
    }
}

public static class ApiKeyExtensions
{
    /// <summary>Key validation against Identity's KeyService (the "identity" gRPC client must be registered) for <paramref name="surface"/>.</summary>
    public static IHostApplicationBuilder AddApiKeyValidation(this IHostApplicationBuilder builder, Surface surface)
    {
        builder.Services.AddOptions<ApiKeyOptions>().BindConfiguration(ApiKeyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddMemoryCache();
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ApiKeyValidator>(sp, surface));
        builder.Services.ResetOnBroadcastResumed<ApiKeyValidator>(v => v.ForgetAll());
        return builder;
    }
}
