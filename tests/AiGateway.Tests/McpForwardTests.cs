using System.Net;
using System.Text;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>/mcp on the gateway's port reaches the MCP gateway unchanged, streams included.</summary>
[TestFixture]
public sealed class McpForwardTests : GatewayFixture
{
    private const string Initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    [Test]
    public async Task A_json_rpc_post_goes_through_unchanged_both_ways()
    {
        Gateway.Upstream.On("POST", "/mcp").Respond(FakeResponse.Json("""{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}}""", 200,
            new Dictionary<string, string> { ["Mcp-Session-Id"] = "session-42" }));
        using var http = Gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "mcp?trace=1") { Content = new StringContent(Initialize, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", Gateway.Key);
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.TryAddWithoutValidation("Mcp-Protocol-Version", "2025-06-18");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("Mcp-Session-Id").Single(), Is.EqualTo("session-42"));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("""{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}}"""));
        var forwarded = Gateway.Upstream.Requests.Single();
        Assert.That(forwarded.Body, Is.EqualTo(Initialize));
        Assert.That(forwarded.Query, Is.EqualTo("?trace=1"));
        Assert.That(forwarded.Headers["Authorization"], Is.EqualTo("Bearer " + Gateway.Key), "the MCP gateway authenticates the key itself");
        Assert.That(forwarded.Headers["Mcp-Protocol-Version"], Is.EqualTo("2025-06-18"));
    }

    [Test]
    public async Task A_server_stream_reaches_the_client_event_by_event()
    {
        var release = new TaskCompletionSource();
        Gateway.Upstream.On("GET", "/mcp").Respond(FakeResponse.Sse(
            [new SseEvent("""{"jsonrpc":"2.0","method":"notifications/message"}"""), new SseEvent("""{"jsonrpc":"2.0","method":"notifications/progress"}""")],
            holdAfterFirst: release.Task));
        using var http = Gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Get, "mcp");
        request.Headers.Accept.ParseAdd("text/event-stream");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var secondSentBeforeFirstArrived = release.Task.IsCompleted;
        release.SetResult();
        var rest = await reader.ReadToEndAsync();

        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        Assert.That(first, Does.Contain("notifications/message"));
        Assert.That(secondSentBeforeFirstArrived, Is.False, "the first event arrived while the upstream still held the second");
        Assert.That(rest, Does.Contain("notifications/progress"));
    }

    [Test]
    public async Task A_client_that_leaves_cancels_the_forwarded_stream()
    {
        var route = Gateway.Upstream.On("GET", "/mcp").Respond(FakeResponse.Sse(
            [new SseEvent("""{"n":1}"""), new SseEvent("""{"n":2}""")], holdAfterFirst: new TaskCompletionSource().Task));
        using (var http = Gateway.Http())
        {
            using var response = await http.GetAsync("mcp", HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.That(await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)), Does.Contain("\"n\":1"));
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (route.Cancelled == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.That(route.Cancelled, Is.EqualTo(1));
    }

    [Test]
    public async Task An_unreachable_mcp_gateway_is_a_502_with_a_reason()
    {
        await using var gateway = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["AiGateway:McpGatewayUrl"] = $"http://127.0.0.1:{ServiceReadinessTests<AiGatewayOptions>.ClosedPort()}",
        });
        using var http = gateway.Http();

        using var response = await http.PostAsync("mcp", new StringContent(Initialize, Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("The MCP gateway could not be reached."));
    }
}
