using Aspire.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ThinkWatch.Testing;

namespace ThinkWatch.AppHost.Tests;

/// <summary>The AppHost's liveness probing: what counts as a failure, and when a run of failures means "restart".</summary>
[TestFixture]
public sealed class LivenessProbeTests
{
    private static readonly LivenessPolicy Quick = new(TimeSpan.FromMilliseconds(5), 3, TimeSpan.FromMilliseconds(300));

    [Test]
    public async Task Only_failures_in_a_row_count_a_success_starts_the_count_again()
    {
        var answers = new Queue<string?>(["503 Service Unavailable", "connection refused", null, "503 Service Unavailable", "503 Service Unavailable", "no answer within 5 s", null]);
        var probes = 0;

        var failure = await LivenessProbe.FirstFailureStreakAsync(() => { probes++; return Task.FromResult(answers.Dequeue()); },
            Quick, TimeProvider.System, CancellationToken.None);

        Assert.That(probes, Is.EqualTo(6), "two failures, a success, then three failures");
        Assert.That(failure, Is.EqualTo("no answer within 5 s"));
    }

    [Test]
    public async Task A_probe_fails_on_an_error_status_a_refused_connection_and_silence_and_passes_on_2xx()
    {
        var (app, baseAddress) = await LoopbackServer.StartAsync(web =>
        {
            web.MapGet("/live", () => Results.Ok());
            web.MapGet("/sick", () => Results.StatusCode(503));
            web.MapGet("/stuck", async (CancellationToken ct) => { await Task.Delay(Timeout.Infinite, ct); return Results.Ok(); });
        });
        await using var _ = app;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var impatient = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };

        Assert.That(await LivenessProbe.AnswersAsync(http, new Uri(baseAddress, "live"), CancellationToken.None), Is.Null);
        Assert.That(await LivenessProbe.AnswersAsync(http, new Uri(baseAddress, "sick"), CancellationToken.None), Is.EqualTo("503 Service Unavailable"));
        Assert.That(await LivenessProbe.AnswersAsync(http, new Uri($"http://127.0.0.1:{LoopbackPorts.Closed()}/health/live"), CancellationToken.None),
            Is.EqualTo("connection refused"));
        Assert.That(await LivenessProbe.AnswersAsync(impatient, new Uri(baseAddress, "stuck"), CancellationToken.None), Is.EqualTo("no answer within 1 s"));
    }
}
