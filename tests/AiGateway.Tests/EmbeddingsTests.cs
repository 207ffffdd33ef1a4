using System.ClientModel;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Embeddings;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>POST /v1/embeddings through the official OpenAI SDK.</summary>
[TestFixture]
public sealed class EmbeddingsTests : GatewayFixture
{
    private EmbeddingClient Client(string model) => new(model, new ApiKeyCredential(Gateway.Key), new OpenAIClientOptions
    {
        Endpoint = new Uri(Gateway.Address, "v1"),
        RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
    });

    private static string Embeddings(string model, params float[][] vectors) => new JsonObject
    {
        ["object"] = "list",
        ["data"] = new JsonArray([.. vectors.Select((v, i) => (JsonNode)new JsonObject
        {
            ["object"] = "embedding",
            ["index"] = i,
            ["embedding"] = new JsonArray([.. v.Select(x => (JsonNode)JsonValue.Create(x))]),
        })]),
        ["model"] = model,
        ["usage"] = new JsonObject { ["prompt_tokens"] = 8, ["total_tokens"] = 8 },
    }.ToJsonString();

    [Test]
    public async Task Embeddings_are_forwarded_with_the_providers_key_and_come_back_intact()
    {
        Gateway.Upstream.On("POST", "/v1/embeddings").Respond(FakeResponse.Json(Embeddings("text-embedding-3-small", [0.25f, -0.5f, 1f], [0f, 0.125f, -1f])));

        var result = (await Client("text-embedding-3-small").GenerateEmbeddingsAsync(["first", "second"])).Value;

        Assert.That(result, Has.Count.EqualTo(2));
        Assert.That(result[0].ToFloats().ToArray(), Is.EqualTo(new[] { 0.25f, -0.5f, 1f }));
        Assert.That(result[1].ToFloats().ToArray(), Is.EqualTo(new[] { 0f, 0.125f, -1f }));
        Assert.That(result.Usage.InputTokenCount, Is.EqualTo(8));
        var sent = Gateway.Upstream.Requests.Single();
        Assert.That(sent.Headers["Authorization"], Is.EqualTo($"Bearer {GatewayHost.OpenAiUpstreamKey}"));
        var body = JsonNode.Parse(sent.Body)!;
        Assert.That(body["input"]!.AsArray().Select(i => i!.GetValue<string>()), Is.EqualTo(new[] { "first", "second" }));
    }

    [Test]
    public async Task Embeddings_on_a_provider_without_them_are_a_clear_400()
    {
        var model = $"embed-{Guid.NewGuid():N}"[..14];
        await Gateway.RegisterModelAsync(model, "anthropic-main", "claude-sonnet-4-5");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client(model).GenerateEmbeddingAsync("text"));

        Assert.That(error!.Status, Is.EqualTo(400));
        Assert.That(error.Message, Does.Contain("Embeddings cannot be sent to anthropic"));
    }
}
