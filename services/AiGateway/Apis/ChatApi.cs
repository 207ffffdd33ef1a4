using ThinkWatch.AiGateway.Proxy;

namespace ThinkWatch.AiGateway.Apis;

/// <summary>The model endpoints clients and SDKs call, in OpenAI and Anthropic formats on one port.</summary>
public static class ChatApi
{
    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapPost("/chat/completions", (HttpContext context, ChatPipeline pipeline) => pipeline.HandleAsync(context, ClientFormat.OpenAiChat));
        v1.MapPost("/responses", (HttpContext context, ChatPipeline pipeline) => pipeline.HandleAsync(context, ClientFormat.OpenAiResponses));
        v1.MapPost("/messages", (HttpContext context, ChatPipeline pipeline) => pipeline.HandleAsync(context, ClientFormat.Anthropic));
        v1.MapPost("/messages/count_tokens", (HttpContext context, ChatPipeline pipeline) => pipeline.HandleAsync(context, ClientFormat.AnthropicCountTokens));
        v1.MapPost("/explain", (HttpContext context, ChatPipeline pipeline) => Explainer.HandleAsync(context, pipeline));
        v1.MapPost("/embeddings", (HttpContext context, ChatPipeline pipeline) => pipeline.HandleAsync(context, ClientFormat.OpenAiEmbeddings));
        return app;
    }
}
