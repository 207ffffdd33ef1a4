using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ThinkWatch.Security;

/// <summary>
/// A shared secret that service-to-service gRPC calls carry, so that reaching an internal port
/// is not enough to validate keys or read provider credentials. The AppHost generates it.
/// </summary>
public sealed class InternalAuthOptions
{
    public const string Section = "InternalAuth";
    public const string Header = "x-thinkwatch-internal";

    public string Token { get; set; } = "";
}

internal sealed class InternalAuthOptionsValidator : IValidateOptions<InternalAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, InternalAuthOptions options) =>
        SecretStrength.Problem(options.Token, $"{InternalAuthOptions.Section}:Token") is { } problem
            ? ValidateOptionsResult.Fail(problem)
            : ValidateOptionsResult.Success;
}

/// <summary>Refuses gRPC calls without the internal token (constant-time comparison), whatever their streaming shape.</summary>
public sealed class InternalTokenInterceptor(IOptions<InternalAuthOptions> options) : Interceptor
{
    private readonly byte[] _expected = Encoding.UTF8.GetBytes(options.Value.Token);

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authenticate(ServerCallContext context)
    {
        var presented = context.RequestHeaders.GetValue(InternalAuthOptions.Header);
        if (presented is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _expected))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "internal calls need the service token"));
        }
    }
}

/// <summary>Adds the internal token to every call of an internal gRPC client.</summary>
public sealed class InternalTokenHandler(IOptions<InternalAuthOptions> options) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.TryAddWithoutValidation(InternalAuthOptions.Header, options.Value.Token);
        return base.SendAsync(request, cancellationToken);
    }
}

public static class InternalAuthExtensions
{
    /// <summary>
    /// A gRPC client for another ThinkWatch service's internal endpoint, found by service
    /// discovery (services__{service}__grpc__0), carrying the internal token.
    /// </summary>
    public static IHttpClientBuilder AddInternalGrpcClient<TClient>(this IHostApplicationBuilder builder, string service) where TClient : class
    {
        builder.AddInternalAuthOptions();
        builder.Services.AddTransient<InternalTokenHandler>();
        return builder.Services.AddGrpcClient<TClient>(o => o.Address = new Uri($"http://_grpc.{service}"))
            .AddHttpMessageHandler<InternalTokenHandler>();
    }

    private static void AddInternalAuthOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<InternalAuthOptions>().BindConfiguration(InternalAuthOptions.Section).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InternalAuthOptions>, InternalAuthOptionsValidator>());
    }

    /// <summary>gRPC on this service, every call checked for the internal token; startup fails without a strong one.</summary>
    public static IHostApplicationBuilder AddInternalGrpc(this IHostApplicationBuilder builder)
    {
        builder.AddInternalAuthOptions();
        builder.Services.AddSingleton<InternalTokenInterceptor>();
        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<InternalTokenInterceptor>();
            // Internal callers (and tests) see what failed; nothing secret is in these messages.
            o.EnableDetailedErrors = builder.Environment.IsEnvironment("Testing") || builder.Environment.IsDevelopment();
        });
        return builder;
    }
}
