using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ThinkWatch.Testing;
using static ThinkWatch.AiGateway.Tests.ClientErrorShapes;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>Bad input, refused keys, upstream errors and streaming behaviour, over raw HTTP on the gateway's port.</summary>
[TestFixture]
public sealed class GatewayBehaviourTests
{
    private GatewayHost _gateway = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _gateway = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["AiGateway:MaxRequestBodyBytes"] = "65536" });
        _http = _gateway.Http();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
    }

    [SetUp]
    public void Reset() => _gateway.Upstream.Reset();

    private const string Chat = "v1/chat/completions";
    private const string Messages = "v1/messages";

    private static string Hello(string model, bool stream = false) =>
        $$"""{"model":"{{model}}","max_tokens":64,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""";

    private async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> Send(string path, string body, string? key = "default", bool anthropicHeader = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        key = key == "default" ? _gateway.Key : key;
        if (key is not null)
        {
            if (anthropicHeader)
            {
                request.Headers.Add("x-api-key", key);
            }
            else
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
        }
        var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text)!.AsObject(), response);
    }

    // ---- bad input ----------------------------------------------------------------------------

    [Test]
    public async Task Malformed_json_is_a_400_that_points_at_the_problem()
    {
        var (status, body, _) = await Send(Chat, """{"model":"gpt-4o", "messages": [}""");

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertOpenAiError(body, "invalid_request_error", "not valid JSON");
        Assert.That(body["error"]!["message"]!.GetValue<string>(), Does.Contain("BytePositionInLine: 32"));
    }

    [TestCase("""{"messages":[]}""", "'model' is required")]
    [TestCase("""{"model":42,"messages":[]}""", "'model' must be a string")]
    [TestCase("""[1,2]""", "must be a JSON object")]
    [TestCase("", "body is empty")]
    public async Task Bodies_without_a_usable_model_are_400s(string json, string message)
    {
        var (status, body, _) = await Send(Chat, json);

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertOpenAiError(body, "invalid_request_error", message);
    }

    [Test]
    public async Task Wrong_types_deep_in_a_converted_request_name_the_field()
    {
        var (status, body, _) = await Send(Chat, """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""");
        var (status2, body2, _) = await Send(Messages, """{"model":"gpt-4o","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":7}]}]}""", anthropicHeader: true);

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertOpenAiError(body, "invalid_request_error", "'temperature' must be a number");
        Assert.That(body["error"]!["param"]!.GetValue<string>(), Is.EqualTo("temperature"));
        Assert.That(status2, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertAnthropicError(body2, "invalid_request_error", "'messages[0].content[0].text' must be a string");
    }

    [Test]
    public async Task A_body_over_the_limit_is_a_413_in_the_clients_shape()
    {
        var huge = $$"""{"model":"gpt-4o","messages":[{"role":"user","content":"{{new string('x', 70_000)}}"}]}""";

        var (status, body, _) = await Send(Messages, huge, anthropicHeader: true);

        Assert.That(status, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        AssertAnthropicError(body, "request_too_large", "65536 bytes");
        Assert.That(_gateway.Upstream.Requests, Is.Empty);
    }

    [Test]
    public async Task Features_an_upstream_cannot_express_are_refused_not_dropped()
    {
        var (status, body, _) = await Send(Chat, """{"model":"claude-sonnet-4-5","n":3,"messages":[{"role":"user","content":"hi"}]}""");
        var (status2, body2, _) = await Send(Messages, """{"model":"gpt-4o","max_tokens":10,"top_k":5,"messages":[{"role":"user","content":"hi"}]}""");
        var (status3, body3, _) = await Send(Chat, """{"model":"claude-sonnet-4-5","logprobs":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertOpenAiError(body, "invalid_request_error", "'n' above 1 cannot be sent to Anthropic Messages");
        Assert.That(status2, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertAnthropicError(body2, "invalid_request_error", "'top_k' cannot be sent to OpenAI Chat Completions");
        Assert.That(status3, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertOpenAiError(body3, "invalid_request_error", "'logprobs'");
        Assert.That(_gateway.Upstream.Requests, Is.Empty);
    }

    // ---- keys and models ----------------------------------------------------------------------

    [Test]
    public async Task Missing_and_unknown_keys_are_401s_in_each_shape()
    {
        var (noKey, noKeyBody, _) = await Send(Chat, Hello("gpt-4o"), key: null);
        var (unknown, unknownBody, _) = await Send(Messages, Hello("claude-sonnet-4-5"), key: "tw-" + new string('A', 44), anthropicHeader: true);
        var (foreign, _, _) = await Send(Chat, Hello("gpt-4o"), key: "sk-proj-someone-elses");

        Assert.That(noKey, Is.EqualTo(HttpStatusCode.Unauthorized));
        AssertOpenAiError(noKeyBody, "authentication_error", "Missing API key");
        Assert.That(unknown, Is.EqualTo(HttpStatusCode.Unauthorized));
        AssertAnthropicError(unknownBody, "authentication_error", "Unknown API key");
        Assert.That(foreign, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task A_revoked_key_is_a_401_and_a_key_for_another_surface_a_403()
    {
        var (_, mcpOnly) = await _gateway.CreateKeyAsync(["*"], ["mcp_gateway"]);
        var (id, revoked) = await _gateway.CreateKeyAsync(["*"]);
        using (var revoke = await _gateway.Admin.PostAsync($"/api/keys/{id}/revoke", null))
        {
            Assert.That(revoke.IsSuccessStatusCode, Is.True);
        }

        var (surface, surfaceBody, _) = await Send(Chat, Hello("gpt-4o"), key: mcpOnly);
        var (gone, goneBody, _) = await Send(Chat, Hello("gpt-4o"), key: revoked);

        Assert.That(surface, Is.EqualTo(HttpStatusCode.Forbidden));
        AssertOpenAiError(surfaceBody, "permission_error", "");
        Assert.That(gone, Is.EqualTo(HttpStatusCode.Unauthorized));
        AssertOpenAiError(goneBody, "authentication_error", "revoked");
    }

    [Test]
    public async Task A_model_outside_the_keys_patterns_is_a_403_and_an_unknown_model_a_404()
    {
        var (_, gptOnly) = await _gateway.CreateKeyAsync(["gpt-4o*"]);

        var (denied, deniedBody, _) = await Send(Messages, Hello("claude-sonnet-4-5"), key: gptOnly, anthropicHeader: true);
        var (unknown, unknownBody, _) = await Send(Chat, Hello("llama-3-70b"));

        Assert.That(denied, Is.EqualTo(HttpStatusCode.Forbidden));
        AssertAnthropicError(denied == HttpStatusCode.Forbidden ? deniedBody : [], "permission_error", "may not use the model 'claude-sonnet-4-5'");
        Assert.That(unknown, Is.EqualTo(HttpStatusCode.NotFound));
        AssertOpenAiError(unknownBody, "not_found_error", "'llama-3-70b'");
        Assert.That(unknownBody["error"]!["code"]!.GetValue<string>(), Is.EqualTo("model_not_found"));
    }

    // ---- upstream errors ----------------------------------------------------------------------

    [Test]
    public async Task Upstream_rate_limits_keep_their_status_message_and_retry_after()
    {
        _gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Error(429, OpenAiShapes.Error("Rate limit reached for gpt-4o", "rate_limit_exceeded"), TimeSpan.FromSeconds(7)));

        var (status, body, response) = await Send(Messages, Hello("gpt-4o"), anthropicHeader: true);

        Assert.That(status, Is.EqualTo(HttpStatusCode.TooManyRequests));
        AssertAnthropicError(body, "rate_limit_error", "Rate limit reached for gpt-4o");
        Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(7)));
    }

    [Test]
    public async Task Upstream_failures_become_502_and_refused_provider_credentials_are_not_blamed_on_the_client()
    {
        var route = _gateway.Upstream.On("POST", "/v1/messages").Respond(
            FakeResponse.Error(500, AnthropicShapes.Error("Internal server error")),
            FakeResponse.Error(500, AnthropicShapes.Error("Internal server error")),
            FakeResponse.Error(401, AnthropicShapes.Error("invalid x-api-key", "authentication_error")));

        var (failed, failedBody, _) = await Send(Chat, Hello("claude-sonnet-4-5"));
        Assert.That(route.Calls, Is.EqualTo(2), "a 500 is retried once (RetryAttempts = 1), then reported");
        var (refused, refusedBody, _) = await Send(Chat, Hello("claude-sonnet-4-5"));
        Assert.That(route.Calls, Is.EqualTo(3), "a 401 is not retried");

        Assert.That(failed, Is.EqualTo(HttpStatusCode.BadGateway));
        AssertOpenAiError(failedBody, "api_error", "Internal server error");
        Assert.That(refused, Is.EqualTo(HttpStatusCode.BadGateway));
        AssertOpenAiError(refusedBody, "api_error", "refused the gateway's credentials");
    }

    // ---- streaming ----------------------------------------------------------------------------

    [TestCase("gpt-4o-mini", Chat)]
    [TestCase("claude-sonnet-4-5", Chat)]
    [TestCase("gpt-4o-mini", Messages)]
    public async Task The_first_event_reaches_the_client_while_the_upstream_is_still_generating(string model, string path)
    {
        var release = new TaskCompletionSource();
        var stream = model.StartsWith("gpt", StringComparison.Ordinal)
            ? FakeResponse.Sse(OpenAiShapes.ChatStream(model, ["first", "second"]), holdAfterFirst: release.Task)
            : FakeResponse.Sse(AnthropicShapes.MessageStream(model, ["first", "second"]), holdAfterFirst: release.Task);
        _gateway.Upstream.On("POST", model.StartsWith("gpt", StringComparison.Ordinal) ? "/v1/chat/completions" : "/v1/messages").Respond(stream);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(Hello(model, stream: true), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gateway.Key);

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var firstLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var upstreamStillHeld = !release.Task.IsCompleted;
        release.SetResult();
        var rest = await reader.ReadToEndAsync();

        Assert.That(firstLine, Does.StartWith("data: ").Or.StartWith("event: "), "an event arrived before the upstream was released");
        Assert.That(upstreamStillHeld, Is.True);
        Assert.That(rest, Does.Contain("second"));
    }

    [TestCase("gpt-4o-mini")]
    [TestCase("claude-sonnet-4-5")]
    public async Task A_client_that_leaves_mid_stream_cancels_the_upstream_call(string model)
    {
        var never = new TaskCompletionSource();
        var route = _gateway.Upstream.On("POST", "/v1/chat/completions");
        route.Respond(FakeResponse.Sse(OpenAiShapes.ChatStream(model, ["a", "b"]), holdAfterFirst: never.Task));
        var anthropicRoute = _gateway.Upstream.On("POST", "/v1/messages");
        anthropicRoute.Respond(FakeResponse.Sse(AnthropicShapes.MessageStream(model, ["a", "b"]), holdAfterFirst: never.Task));
        using var request = new HttpRequestMessage(HttpMethod.Post, Chat) { Content = new StringContent(Hello(model, stream: true), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gateway.Key);

        using (var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.That(await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)), Does.StartWith("data: "));
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (route.Cancelled + anthropicRoute.Cancelled == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(route.Cancelled + anthropicRoute.Cancelled, Is.EqualTo(1), "the upstream saw the call end before it finished");
    }

    [Test]
    public async Task An_upstream_that_breaks_off_mid_stream_is_reported_as_an_error_event_when_converting()
    {
        var breakNow = new TaskCompletionSource();
        _gateway.Upstream.On("POST", "/v1/messages").Respond(async context =>
        {
            await FakeResponse.Sse(AnthropicShapes.MessageStream("claude-sonnet-4-5", ["partial"]).Take(3))(context);
            await breakNow.Task.WaitAsync(context.RequestAborted);
            context.Abort();
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, Chat) { Content = new StringContent(Hello("claude-sonnet-4-5", stream: true), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gateway.Key);

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var before = new StringBuilder();
        while (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) is { } line && !before.Append(line).ToString().Contains("partial", StringComparison.Ordinal))
        {
        }
        breakNow.SetResult();
        var after = await reader.ReadToEndAsync();

        Assert.That(before.ToString(), Does.Contain("\"content\":\"partial\""));
        Assert.That(after, Does.Contain("\"error\"").And.Contain("ended the stream early"));
        Assert.That(after, Does.Not.Contain("[DONE]"));
    }
}
