using Anthropic;
using Anthropic.Models.Messages;
using System.Text.Json.Nodes;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>POST /v1/messages/count_tokens through the official Anthropic SDK.</summary>
[TestFixture]
public sealed class CountTokensTests : GatewayFixture
{
    private AnthropicClient Client() => new() { BaseUrl = Gateway.Address.ToString().TrimEnd('/'), ApiKey = Gateway.Key, MaxRetries = 0 };

    private static MessageCountTokensParams Count(string model, string text) => new()
    {
        Model = model,
        System = "Be brief.",
        Messages = [new UserMessageParam { Content = text }],
    };

    [Test]
    public async Task Anthropic_models_are_counted_by_anthropic_with_the_providers_key()
    {
        Gateway.Upstream.On("POST", "/v1/messages/count_tokens").Respond(FakeResponse.Json("""{"input_tokens":42}"""));

        var counted = await Client().Messages.CountTokens(Count("claude-sonnet-4-5", "How many tokens is this?"));

        Assert.That(counted.InputTokens, Is.EqualTo(42));
        var sent = Gateway.Upstream.Requests.Single();
        Assert.That(sent.Headers["x-api-key"], Is.EqualTo(GatewayHost.AnthropicUpstreamKey));
        Assert.That(JsonNode.Parse(sent.Body)!["messages"]![0]!["content"]!.ToJsonString(), Does.Contain("How many tokens is this?"));
    }

    [Test]
    public async Task Models_without_a_counting_upstream_get_an_estimate_that_grows_with_the_prompt()
    {
        var shortPrompt = await Client().Messages.CountTokens(Count("gpt-4o", "Hi"));
        var longPrompt = await Client().Messages.CountTokens(Count("gpt-4o", string.Concat(Enumerable.Repeat("a sentence of several words ", 100))));

        Assert.That(Gateway.Upstream.Requests, Is.Empty, "no upstream is called to estimate");
        Assert.That(shortPrompt.InputTokens, Is.GreaterThan(0));
        // 2 800 characters more is about 700 tokens more.
        Assert.That(longPrompt.InputTokens - shortPrompt.InputTokens, Is.InRange(600, 800));
    }

    [Test]
    public async Task A_bad_count_request_is_refused_in_anthropics_shape()
    {
        using var http = Gateway.Http();
        http.DefaultRequestHeaders.Add("x-api-key", Gateway.Key);
        using var response = await http.PostAsync("/v1/messages/count_tokens",
            new StringContent("""{"model":"gpt-4o","messages":"not a list"}""", System.Text.Encoding.UTF8, "application/json"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.That((int)response.StatusCode, Is.EqualTo(400));
        Assert.That(body["type"]!.GetValue<string>(), Is.EqualTo("error"));
        Assert.That(body["error"]!["type"]!.GetValue<string>(), Is.EqualTo("invalid_request_error"));
    }
}
