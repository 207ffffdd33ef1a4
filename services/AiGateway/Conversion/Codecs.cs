using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Streaming;

namespace ThinkWatch.AiGateway.Conversion;

/// <summary>
/// A client API on the gateway: how its requests read into the canonical conversation and how
/// answers are written back, whole or streamed.
/// </summary>
public interface IClientCodec
{
    string Name { get; }
    ChatRequest ParseRequest(JsonObject body, string target);
    JsonObject WriteResponse(ChatResponse response, string model, long created);
    StreamEncoder CreateEncoder(string model, long created, bool includeUsage);
}

/// <summary>What an upstream writer may need beyond the request itself.</summary>
public sealed record UpstreamTarget(string Description, string ProviderKind, int DefaultMaxTokens);

/// <summary>An upstream wire format: requests written from the canonical conversation, answers and streams read back.</summary>
public interface IUpstreamCodec
{
    string Name { get; }
    JsonObject WriteRequest(ChatRequest request, string upstreamModel, UpstreamTarget target);
    ChatResponse ParseResponse(JsonObject body);
    Usage? UsageOf(JsonObject body);
    StreamDecoder CreateDecoder();
}

public sealed class OpenAiChatCodec : IClientCodec, IUpstreamCodec
{
    public static readonly OpenAiChatCodec Instance = new();
    public string Name => OpenAiChat.Name;
    public ChatRequest ParseRequest(JsonObject body, string target) => OpenAiChat.ParseRequest(body, target);
    public JsonObject WriteResponse(ChatResponse response, string model, long created) => OpenAiChat.WriteResponse(response, model, created);
    public StreamEncoder CreateEncoder(string model, long created, bool includeUsage) => new OpenAiChatEncoder(model, created, includeUsage);

    // OpenAI-compatible servers (vLLM, Ollama, LM Studio …) mostly know only the older max_tokens.
    public JsonObject WriteRequest(ChatRequest request, string upstreamModel, UpstreamTarget target) =>
        OpenAiChat.WriteRequest(request, upstreamModel, target.Description, legacyMaxTokens: target.ProviderKind == Contracts.Providers.ProviderKinds.OpenAiCompatible);

    public ChatResponse ParseResponse(JsonObject body) => OpenAiChat.ParseResponse(body);
    public Usage? UsageOf(JsonObject body) => OpenAiChat.UsageFrom(body["usage"] as JsonObject);
    public StreamDecoder CreateDecoder() => new OpenAiChatDecoder();
}

public sealed class AnthropicCodec : IClientCodec, IUpstreamCodec
{
    public static readonly AnthropicCodec Instance = new();
    public string Name => AnthropicMessages.Name;
    public ChatRequest ParseRequest(JsonObject body, string target) => AnthropicMessages.ParseRequest(body, target);
    public JsonObject WriteResponse(ChatResponse response, string model, long created) => AnthropicMessages.WriteResponse(response, model);
    public StreamEncoder CreateEncoder(string model, long created, bool includeUsage) => new AnthropicEncoder(model);

    public JsonObject WriteRequest(ChatRequest request, string upstreamModel, UpstreamTarget target) =>
        AnthropicMessages.WriteRequest(request, upstreamModel, target.Description, target.DefaultMaxTokens);

    public ChatResponse ParseResponse(JsonObject body) => AnthropicMessages.ParseResponse(body);
    public Usage? UsageOf(JsonObject body) => AnthropicMessages.UsageFrom(body["usage"] as JsonObject);
    public StreamDecoder CreateDecoder() => new AnthropicDecoder();
}

public sealed class OpenAiResponsesCodec : IClientCodec
{
    public static readonly OpenAiResponsesCodec Instance = new();
    public string Name => OpenAiResponses.Name;
    public ChatRequest ParseRequest(JsonObject body, string target) => OpenAiResponses.ParseRequest(body, target);
    public JsonObject WriteResponse(ChatResponse response, string model, long created) => OpenAiResponses.WriteResponse(response, model, created);
    public StreamEncoder CreateEncoder(string model, long created, bool includeUsage) => new OpenAiResponsesEncoder(model, created);
}

public sealed class GeminiCodec : IUpstreamCodec
{
    public static readonly GeminiCodec Instance = new();
    public string Name => Gemini.Name;
    public JsonObject WriteRequest(ChatRequest request, string upstreamModel, UpstreamTarget target) => Gemini.WriteRequest(request, target.Description);
    public ChatResponse ParseResponse(JsonObject body) => Gemini.ParseResponse(body);
    public Usage? UsageOf(JsonObject body) => Gemini.UsageFrom(body["usageMetadata"] as JsonObject);
    public StreamDecoder CreateDecoder() => new GeminiDecoder();
}

public sealed class BedrockCodec : IUpstreamCodec
{
    public static readonly BedrockCodec Instance = new();
    public string Name => BedrockConverse.Name;
    public JsonObject WriteRequest(ChatRequest request, string upstreamModel, UpstreamTarget target) =>
        BedrockConverse.WriteRequest(request, target.Description, target.DefaultMaxTokens);

    public ChatResponse ParseResponse(JsonObject body) => BedrockConverse.ParseResponse(body);
    public Usage? UsageOf(JsonObject body) => BedrockConverse.UsageFrom(body["usage"] as JsonObject);
    public StreamDecoder CreateDecoder() => new BedrockDecoder();
}
