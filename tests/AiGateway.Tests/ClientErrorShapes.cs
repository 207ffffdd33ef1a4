using System.Text.Json.Nodes;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>The error bodies the official SDKs parse: OpenAI's <c>{"error":{…}}</c>, Anthropic's <c>{"type":"error","error":{…}}</c>.</summary>
internal static class ClientErrorShapes
{
    public static void AssertOpenAiError(JsonObject body, string type, string messagePart)
    {
        Assert.That(body["error"]!["type"]!.GetValue<string>(), Is.EqualTo(type), body.ToJsonString());
        Assert.That(body["error"]!["message"]!.GetValue<string>(), Does.Contain(messagePart));
    }

    public static void AssertAnthropicError(JsonObject body, string type, string messagePart)
    {
        Assert.That(body["type"]!.GetValue<string>(), Is.EqualTo("error"), body.ToJsonString());
        AssertOpenAiError(body, type, messagePart);
    }

    /// <summary>The shape the SDK of <paramref name="path"/> parses: Anthropic's under v1/messages, OpenAI's elsewhere.</summary>
    public static void AssertError(string path, JsonObject body, string type, string messagePart)
    {
        if (path.StartsWith("v1/messages", StringComparison.Ordinal))
        {
            AssertAnthropicError(body, type, messagePart);
        }
        else
        {
            AssertOpenAiError(body, type, messagePart);
        }
    }
}
