using System.Net.Http.Headers;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.Contracts.Providers;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>What is asked of an upstream.</summary>
public enum UpstreamOperation { Chat, Embeddings, CountTokens }

/// <summary>Where and how to call a provider: URL, credentials, version headers, signatures. Only the provider's own credentials go to it.</summary>
public static class UpstreamRequests
{
    public const string DefaultAnthropicVersion = "2023-06-01";
    public const string DefaultAzureApiVersion = "2024-10-21";

    public static HttpRequestMessage Create(UpstreamRoute route, UpstreamOperation operation, byte[] body, bool stream, HttpRequest client, DateTimeOffset now)
    {
        var provider = route.Provider;
        var request = new HttpRequestMessage(HttpMethod.Post, UriOf(route, operation, stream))
        {
            Version = System.Net.HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var credentials = provider.Credentials;
        switch (provider.Kind)
        {
            case ProviderKinds.Anthropic:
                request.Headers.TryAddWithoutValidation("x-api-key", credentials.ApiKey);
                var version = client.Headers["anthropic-version"].ToString();
                request.Headers.TryAddWithoutValidation("anthropic-version", version.Length > 0 ? version : DefaultAnthropicVersion);
                if (client.Headers["anthropic-beta"].ToString() is { Length: > 0 } beta)
                {
                    request.Headers.TryAddWithoutValidation("anthropic-beta", beta);
                }
                break;
            case ProviderKinds.AzureOpenAi:
                request.Headers.TryAddWithoutValidation("api-key", credentials.ApiKey);
                break;
            case ProviderKinds.Gemini:
                request.Headers.TryAddWithoutValidation("x-goog-api-key", credentials.ApiKey);
                break;
            case ProviderKinds.Bedrock:
                SigV4.Sign(request, body, new AwsCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken),
                    Region(route), "bedrock", now);
                break;
            default:
                if (!string.IsNullOrEmpty(credentials.ApiKey))
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credentials.ApiKey);
                }
                break;
        }
        return request;
    }

    private static string Region(UpstreamRoute route) => route.Provider.Settings.GetValueOrDefault("region") ?? "us-east-1";

    public static Uri UriOf(UpstreamRoute route, UpstreamOperation operation, bool stream)
    {
        var provider = route.Provider;
        var openAiPath = operation == UpstreamOperation.Embeddings ? "/embeddings" : "/chat/completions";
        var model = Uri.EscapeDataString(route.UpstreamModel);
        return provider.Kind switch
        {
            ProviderKinds.Anthropic => new Uri((provider.BaseUrl ?? "https://api.anthropic.com") + (operation == UpstreamOperation.CountTokens ? "/v1/messages/count_tokens" : "/v1/messages")),
            ProviderKinds.OpenAi => new Uri((provider.BaseUrl ?? "https://api.openai.com/v1") + openAiPath),
            // Azure addresses a deployment (the registered upstream model) and pins an API version.
            ProviderKinds.AzureOpenAi => new Uri($"{provider.BaseUrl?.TrimEnd('/')}/openai/deployments/{model}{openAiPath}"
                + $"?api-version={Uri.EscapeDataString(provider.Settings.GetValueOrDefault("api_version") ?? DefaultAzureApiVersion)}"),
            ProviderKinds.Gemini => new Uri($"{(provider.BaseUrl ?? "https://generativelanguage.googleapis.com").TrimEnd('/')}/v1beta/models/{model}"
                + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent")),
            // A base URL replaces the regional endpoint (VPC endpoints, proxies); model ids such as "…-v1:0" are escaped.
            ProviderKinds.Bedrock => new Uri($"{(provider.BaseUrl ?? $"https://bedrock-runtime.{Region(route)}.amazonaws.com").TrimEnd('/')}/model/{model}"
                + (stream ? "/converse-stream" : "/converse")),
            _ => new Uri(provider.BaseUrl + openAiPath),
        };
    }
}
