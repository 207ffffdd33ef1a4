using System.Diagnostics;
using System.Net;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>
/// One chat request is one trace across the services it reaches — the gateway, Identity (key validation over gRPC),
/// Quota (check, and the settle that runs after the answer, off the request) and RabbitMQ (the usage event, published
/// later from the spool, and its consumer) — as the dashboard shows it. Every service here runs in this process.
/// </summary>
[TestFixture]
public sealed class TracingTests : GatewayFixture
{
    [Test]
    public async Task A_chat_request_its_identity_and_quota_calls_its_usage_event_and_that_events_consumer_share_one_trace()
    {
        using var traces = new TraceRecorder("Microsoft.AspNetCore", "System.Net.Http", "MassTransit", "ThinkWatch.*");
        await using var consumer = await BusProbe<UsageRecorded>.StartAsync(Gateway.Identity.RabbitMqUri);
        // A key the gateway has not cached: it asks Identity.
        var (keyId, key) = await Gateway.CreateKeyAsync(["*"]);
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "Hi", promptTokens: 12, completionTokens: 3)));
        var (status, trace, caller) = await Gateway.ChatInTraceAsync(key);

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        var (usage, _) = await consumer.WaitAsync(r => r.ApiKeyId == keyId, TimeSpan.FromSeconds(30));
        Activity? publish = null;
        await Poll.UntilAsync(() => (publish = traces.InTrace(trace).FirstOrDefault(a => a.Kind == ActivityKind.Producer && TraceRecorder.Names(a, nameof(UsageRecorded)))) is { } p
            && traces.InTrace(trace).Any(a => a.Kind == ActivityKind.Consumer && a.ParentSpanId == p.SpanId), TimeSpan.FromSeconds(10), "the usage event's publish and its consumer");

        var spans = traces.InTrace(trace);
        Assert.Multiple(() =>
        {
            Assert.That(usage.TraceId, Is.EqualTo(trace.ToHexString()), "the usage record names the request's trace");
            Assert.That(spans.Where(a => a.Kind == ActivityKind.Server && TraceRecorder.Names(a, "/v1/chat/completions")).Select(a => a.ParentSpanId), Is.EqualTo(new[] { caller }),
                "the gateway continues the caller's trace\n" + TraceRecorder.Describe(spans));
            foreach (var call in new[] { "KeyService/Validate", "QuotaService/Check", "QuotaService/Settle" })
            {
                Assert.That(spans.Any(a => a.Kind == ActivityKind.Server && TraceRecorder.Names(a, call)), Is.True, $"{call} is in the trace\n" + TraceRecorder.Describe(spans));
            }
            Assert.That(publish!.Source.Name, Is.EqualTo("MassTransit"), "MassTransit's publish, whose consumer's activity is its child\n" + TraceRecorder.Describe(spans));
        });
    }
}
