using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Testing;
using static ThinkWatch.AiGateway.Tests.ClientErrorShapes;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>
/// What a corpus of bad and odd requests found (issue 17): each answered in the client's own error
/// shape with the status the imitated API uses, nothing sent upstream, and a usage record for every
/// request that carried a valid key.
/// </summary>
[TestFixture]
public sealed class BadInputTests : GatewayFixture
{
    private BusProbe<UsageRecorded> _bus = null!;

    [OneTimeSetUp]
    public async Task StartProbe() => _bus = await BusProbe<UsageRecorded>.StartAsync(Gateway.Identity.RabbitMqUri!);

    [OneTimeTearDown]
    public async Task StopProbe() => await _bus.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonObject Body)> Send(string path, byte[] body, string? tag = null, HttpMethod? method = null)
    {
        using var http = Gateway.Http();
        using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path);
        if (method is null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Gateway.Key);
        if (tag is not null)
        {
            request.Headers.Add("X-ThinkWatch-Tag", tag);
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"), text);
        return (response.StatusCode, JsonNode.Parse(text)!.AsObject());
    }

    private Task<(HttpStatusCode Status, JsonObject Body)> Send(string path, string body, string? tag = null) => Send(path, Encoding.UTF8.GetBytes(body), tag);

    private static string Tag() => "bad-" + Guid.NewGuid().ToString("N")[..12];

    private const string Messages = "v1/messages";
    private const string Chat = "v1/chat/completions";

    private static readonly string[] ModelApis =
        [Chat, Messages, "v1/responses", "v1/embeddings", "v1/messages/count_tokens", "v1/explain"];

    // ---- duplicate names and bytes that are not text ------------------------------------------

    [TestCaseSource(nameof(ModelApis))]
    public async Task Duplicate_property_names_are_refused_at_any_depth(string path)
    {
        var top = await Send(path, """{"model":"gpt-4o","model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"input":"x"}""");
        var deep = await Send(path, """{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi","role":"system"}],"input":"x"}""");

        Assert.That((top.Status, deep.Status), Is.EqualTo((HttpStatusCode.BadRequest, HttpStatusCode.BadRequest)));
        AssertError(path, top.Body, "invalid_request_error", "Duplicate property 'model'");
        AssertError(path, deep.Body, "invalid_request_error", "Duplicate property 'role'");
        Assert.That(Gateway.Upstream.Requests, Is.Empty);
    }

    [TestCaseSource(nameof(ModelApis))]
    public async Task Invalid_utf8_and_unpaired_surrogates_are_400s(string path)
    {
        var prefix = Encoding.UTF8.GetBytes("""{"model":"gpt-4o","max_tokens":5,"input":"x","messages":[{"role":"user","content":"caf""");
        var suffix = Encoding.UTF8.GetBytes("\"}]}");
        byte[] invalid = [.. prefix, 0xC3, 0x28, .. suffix]; // 0xC3 starts a two-byte sequence that 0x28 does not continue

        var bytes = await Send(path, invalid);
        var surrogate = await Send(path, """{"model":"gpt-4o","max_tokens":5,"input":"x","messages":[{"role":"user","content":"half \ud800 a pair"}]}""");

        Assert.That(bytes.Status, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertError(path, bytes.Body, "invalid_request_error", $"not valid UTF-8 (first bad byte at offset {prefix.Length})");
        Assert.That(surrogate.Status, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertError(path, surrogate.Body, "invalid_request_error", "unpaired UTF-16 surrogate");
        Assert.That(Gateway.Upstream.Requests, Is.Empty);
    }

    [Test]
    public async Task A_refused_request_with_a_valid_key_leaves_a_usage_record_with_its_status()
    {
        var tag = Tag();

        var (status, _) = await Send(Chat, """{"model":"gpt-4o","model":"gpt-4o","messages":[]}""", tag);
        var (record, _) = await _bus.WaitAsync(r => r.Tags.Contains(tag), TimeSpan.FromSeconds(30));

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((record.Status, record.InputTokens, record.OutputTokens, record.Endpoint), Is.EqualTo((400, 0L, 0L, "/v1/chat/completions")));
    }

    // ---- ranges and structure -----------------------------------------------------------------

    [TestCase(Chat, """{"model":"gpt-4o","max_tokens":-1,"messages":[{"role":"user","content":"hi"}]}""", "'max_tokens' must be at least 1")]
    [TestCase(Chat, """{"model":"gpt-4o","max_completion_tokens":0,"messages":[{"role":"user","content":"hi"}]}""", "'max_completion_tokens' must be at least 1")]
    [TestCase(Chat, """{"model":"gpt-4o","messages":[]}""", "'messages' must not be empty")]
    [TestCase("v1/responses", """{"model":"gpt-4o","max_output_tokens":-5,"input":"hi"}""", "'max_output_tokens' must be at least 1")]
    [TestCase(Messages, """{"model":"claude-sonnet-4-5","max_tokens":-1,"messages":[{"role":"user","content":"hi"}]}""", "'max_tokens' must be at least 1")]
    [TestCase(Messages, """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[]}""", "'messages' must not be empty")]
    [TestCase(Messages, """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":"{}"}]}]}""", "'messages[1].content[0].input' must be an object")]
    [TestCase(Messages, """{"model":"claude-sonnet-4-5","max_tokens":10,"tools":[{"name":"f","input_schema":"{}"}],"messages":[{"role":"user","content":"hi"}]}""", "'tools[0].input_schema' must be an object")]
    [TestCase("v1/embeddings", """{"model":"text-embedding-3-small"}""", "'input' is required")]
    [TestCase("v1/embeddings", """{"model":"text-embedding-3-small","input":{"text":"hi"}}""", "'input' must be a string")]
    [TestCase("v1/embeddings", """{"model":"text-embedding-3-small","input":[]}""", "'input' must be a string")]
    [TestCase(Chat, """{"model":"","messages":[{"role":"user","content":"hi"}]}""", "'model' must name a model")]
    public async Task Fields_the_gateway_reads_are_checked_like_the_imitated_api_does(string path, string body, string message)
    {
        var (status, answer) = await Send(path, body);

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertError(path, answer, "invalid_request_error", message);
        Assert.That(Gateway.Upstream.Requests, Is.Empty, "nothing forwarded");
    }

    [Test]
    public async Task Token_arrays_are_accepted_as_embeddings_input()
    {
        Gateway.Upstream.On("POST", "/v1/embeddings").Respond(FakeResponse.Json("""{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":3,"total_tokens":3}}"""));

        var (status, _) = await Send("v1/embeddings", """{"model":"text-embedding-3-small","input":[[1,2,3]]}""");

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
    }

    // ---- what ASP.NET Core answers by itself under /v1 ----------------------------------------

    [TestCase("GET", Chat, "invalid_request_error", HttpStatusCode.MethodNotAllowed, "does not accept GET")]
    [TestCase("PUT", Messages, "invalid_request_error", HttpStatusCode.MethodNotAllowed, "does not accept PUT")]
    [TestCase("DELETE", "v1/responses", "invalid_request_error", HttpStatusCode.MethodNotAllowed, "does not accept DELETE")]
    [TestCase("GET", "v1/models/%2e%2e", "not_found_error", HttpStatusCode.NotFound, "There is no API at GET")]
    [TestCase("GET", "v1/no-such-api", "not_found_error", HttpStatusCode.NotFound, "There is no API at GET /v1/no-such-api")]
    public async Task Wrong_methods_and_paths_answer_in_the_apis_shape(string method, string path, string type, HttpStatusCode expected, string message)
    {
        var (status, body) = await Send(path, [], method: new HttpMethod(method));

        Assert.That(status, Is.EqualTo(expected));
        AssertError(path, body, type, message);
        Assert.That(body.ContainsKey("title"), Is.False, "not ProblemDetails");
    }

    // ---- an upstream that answers a stream with JSON --------------------------------------------

    private OpenAIClient OpenAi() => new(new ApiKeyCredential(Gateway.Key), new OpenAIClientOptions
    {
        Endpoint = new Uri(Gateway.Address, "v1"),
        RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
    });

    private AnthropicClient Anthropic() => new() { BaseUrl = Gateway.Address.ToString().TrimEnd('/'), ApiKey = Gateway.Key, MaxRetries = 0 };

    [Test]
    public async Task A_stream_answered_with_plain_json_reaches_the_openai_sdk_as_a_stream_and_is_recorded_as_it_happened()
    {
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "Whole answer", promptTokens: 9, completionTokens: 2)));
        var before = DateTimeOffset.UtcNow;

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in OpenAi().GetChatClient("gpt-4o").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            usage ??= update.Usage;
        }
        var (record, _) = await _bus.WaitAsync(r => r.Model == "gpt-4o" && r.Stream && r.OccurredAt >= before.AddSeconds(-1) && r.InputTokens == 9, TimeSpan.FromSeconds(30));

        Assert.That(text.ToString(), Is.EqualTo("Whole answer"));
        Assert.That((usage?.InputTokenCount, usage?.OutputTokenCount), Is.EqualTo(((int?)9, (int?)2)));
        Assert.That((record.Status, record.OutputTokens, record.TokensEstimated), Is.EqualTo((200, 2L, false)));
    }

    [Test]
    public async Task A_stream_answered_with_plain_json_reaches_the_anthropic_sdk_as_a_stream()
    {
        Gateway.Upstream.On("POST", "/v1/messages").Respond(FakeResponse.Json(AnthropicShapes.Message("claude-sonnet-4-5", "Entire reply", 6, 3)));

        var text = new StringBuilder();
        long output = 0;
        await foreach (var e in Anthropic().Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5", MaxTokens = 50, Messages = [new UserMessageParam { Content = "hi" }],
        }))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var piece))
            {
                text.Append(piece!.Text);
            }
            else if (e.TryPickDelta(out var messageDelta))
            {
                output = messageDelta!.Usage.OutputTokens;
            }
        }

        Assert.That(text.ToString(), Is.EqualTo("Entire reply"));
        Assert.That(output, Is.EqualTo(3));
    }

    // ---- aliases answer with the name the client asked for ------------------------------------

    [Test]
    public async Task An_alias_is_answered_under_its_own_name_plain_and_streamed()
    {
        var alias = "house-" + Guid.NewGuid().ToString("N")[..8];
        await Gateway.RegisterModelAsync(alias, "openai-main", upstreamModel: "gpt-4o-mini");
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(
            FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o-mini-2024-07-18", "Plain")),
            FakeResponse.Sse(OpenAiShapes.ChatStream("gpt-4o-mini-2024-07-18", ["Str", "eamed"])));
        var client = OpenAi().GetChatClient(alias);

        var plain = (await client.CompleteChatAsync([new UserChatMessage("hi")])).Value;
        var models = new List<string>();
        var text = new StringBuilder();
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            models.Add(update.Model);
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
        }

        Assert.That((plain.Model, plain.Content[0].Text), Is.EqualTo((alias, "Plain")));
        Assert.That(text.ToString(), Is.EqualTo("Streamed"));
        Assert.That(models, Is.Not.Empty.And.All.EqualTo(alias));
        Assert.That(Gateway.Upstream.Requests.Select(r => JsonNode.Parse(r.Body)!["model"]!.GetValue<string>()), Is.All.EqualTo("gpt-4o-mini"));
        var (record, _) = await _bus.WaitAsync(r => r.Model == alias, TimeSpan.FromSeconds(30));
        Assert.That(record.UpstreamModel, Is.EqualTo("gpt-4o-mini"), "the upstream's name belongs in the usage record");
    }
}
