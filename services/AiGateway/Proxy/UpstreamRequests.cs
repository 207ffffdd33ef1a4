using System.Net.Http.Headers;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.Contracts.Providers;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>What is asked of an upstream.</summary>
public enum UpstreamOperation { Chat, Embeddings, CountTokens }

/// <summary>Where and how to call a provider: URL, credentials, version headers. Only the provider's own credentials go to it.</summary>
public static class UpstreamRequests
{
    public const string DefaultAnthropicVersion = "2023-06-01";

    public static HttpRequestMessage Create(UpstreamRoute route, UpstreamOperation operation, byte[] body, HttpRequest client)
    {
        var provider = route.Provider;
        var request = new HttpRequestMessage(HttpMethod.Post, UriOf(route, operation))
        {
            Version = System.Net.HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        switch (provider.Kind)
        {
            case ProviderKinds.Anthropic:
                request.Headers.TryAddWithoutValidation("x-api-key", provider.Credentials.ApiKey);
                var version = client.Headers["anthropic-version"].ToString();
                request.Headers.TryAddWithoutValidation("anthropic-version", version.Length > 0 ? version : DefaultAnthropicVersion);
                if (client.Headers["anthropic-beta"].ToString() is { Length: > 0 } beta)
                {
                    request.Headers.TryAddWithoutValidation("anthropic-beta", beta);
                }
                break;
            case ProviderKinds.AzureOpenAi:
                request.Headers.TryAddWithoutValidation("api-key", provider.Credentials.ApiKey);
                break;
            default:
                if (!string.IsNullOrEmpty(provider.Credentials.ApiKey))
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", provider.Credentials.ApiKey);
                }
                break;
        }
        return request;
    }

    public const string DefaultAzureApiVersion = "2024-10-21";

    private static Uri UriOf(UpstreamRoute route, UpstreamOperation operation)
    {
        var provider = route.Provider;
        var openAiPath = operation == UpstreamOperation.Embeddings ? "/embeddings" : "/chat/completions";
        return provider.Kind switch
        {
            ProviderKinds.Anthropic => new Uri((provider.BaseUrl ?? "https://api.anthropic.com") + (operation == UpstreamOperation.CountTokens ? "/v1/messages/count_tokens" : "/v1/messages")),
            ProviderKinds.OpenAi => new Uri((provider.BaseUrl ?? "https://api.openai.com/v1") + openAiPath),
            // Azure addresses a deployment (the registered upstream model) and pins an API version.
            ProviderKinds.AzureOpenAi => new Uri($"{provider.BaseUrl?.TrimEnd('/')}/openai/deployments/{Uri.EscapeDataString(route.UpstreamModel)}{openAiPath}"
                + $"?api-version={Uri.EscapeDataString(provider.Settings.GetValueOrDefault("api_version") ?? DefaultAzureApiVersion)}"),
            _ => new Uri(provider.BaseUrl + openAiPath),
        };
    }
}
