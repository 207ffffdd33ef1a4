using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using ThinkWatch.Testing;

namespace ThinkWatch.AppHost.Tests;

/// <summary>
/// The whole app model started as `dotnet run --project AppHost` starts it (DCP, the four servers, the five services), on
/// ports shifted away from a developer's instance and the test infrastructure: every service becomes healthy, the first
/// run's setup works through the console, a chat call through the gateway reaches a fake upstream with the official
/// OpenAI SDK, a second run on the same data folder is refused, and stopping leaves no process or listener behind.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class RunTests
{
    // Every shifted port (12000 … 27123) stays below Linux's ephemeral range (32768+), where a port-0 listener of a test
    // running in parallel can land (CI once saw the gateway fail to bind there).
    private const int PortOffset = 9000;
    private static readonly string[] Services = ["auditingest", "quota", "identity", "console", "mcpgateway", "aigateway"];
    private static readonly int[] Ports = [3000, 3001, 13110, 13111, 13120, 13121, 13130, 13140, 15432, 16379, 15672, 18123];

    private static string DataDirectory =>
        Path.Combine(Path.GetDirectoryName(TestInfrastructure.DataDirectory)!, "apphost");

    [Test]
    [CancelAfter(420_000)]
    public async Task The_whole_model_runs_answers_a_chat_call_refuses_a_second_run_and_stops_cleanly(CancellationToken cancellationToken)
    {
        // A first run: setup must still be open.
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.AnswersModels = true;
        string[] args = ["--data", DataDirectory, "--port-offset", $"{PortOffset}"];
        // With the dashboard (the testing builder leaves it out by default), open to anyone on loopback for the browser.
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [.. args, "--ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true"], (options, _) => options.DisableDashboard = false, cancellationToken);
        var app = await builder.BuildAsync(cancellationToken);
        var pids = new List<int>();
        try
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            await app.StartAsync(cancellationToken);

            // 1. Every service healthy (its /health/ready answered Aspire's check), after every server it waits for.
            foreach (var service in Services)
            {
                await app.ResourceNotifications.WaitForResourceHealthyAsync(service, cancellationToken);
                await TestContext.Out.WriteLineAsync($"{service} healthy after {started.Elapsed.TotalSeconds:0.0} s");
            }
            foreach (var resource in app.Services.GetRequiredService<DistributedApplicationModel>().Resources
                         .Where(r => r is ProjectResource or ExecutableResource))
            {
                pids.AddRange(await ProcessIdsAsync(app, resource.Name, cancellationToken));
            }

            // 2. First run: setup through the console (:3001 + offset) with a provider whose upstream is the fake.
            using var console = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{3001 + PortOffset}") };
            using var setup = await console.PostAsJsonAsync("/api/setup", new
            {
                email = "admin@example.com",
                displayName = "Admin",
                password = "Choose-a-good-one-1",
                apiKey = new { name = "first key", surfaces = new[] { "ai_gateway" }, allowedModels = new[] { "gpt-4o*" } },
                provider = new { name = "openai", kind = "openai", baseUrl = new Uri(upstream.BaseAddress, "v1").ToString(), credentials = new { apiKey = "sk-upstream-secret" } },
            }, cancellationToken);
            var created = await setup.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            Assert.That((int)setup.StatusCode, Is.EqualTo(201), created.ToString());
            var key = created.GetProperty("apiKey").GetProperty("key").GetString()!;

            // 3. A chat call through the gateway (:3000 + offset) with the official SDK reaches the upstream with the provider's key.
            // The call starts a trace of the test's choosing (the gateway continues a caller's traceparent; it sends none upstream).
            var traceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
            var options = new OpenAIClientOptions { Endpoint = new Uri($"http://127.0.0.1:{3000 + PortOffset}/v1") };
            options.AddPolicy(new RequestHeaderPolicy("traceparent", $"00-{traceId}-{System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString()}-01"), PipelinePosition.PerCall);
            var client = new OpenAIClient(new ApiKeyCredential(key), options);
            var completion = await client.GetChatClient("gpt-4o-mini").CompleteChatAsync([new UserChatMessage("Hello")], cancellationToken: cancellationToken);
            Assert.That(completion.Value.Content[0].Text, Is.Not.Empty);
            var forwarded = upstream.Requests.Single(r => r.Path == "/v1/chat/completions");
            Assert.That(forwarded.Headers["Authorization"], Is.EqualTo("Bearer sk-upstream-secret"));
            Assert.That(forwarded.Headers.Values, Has.None.Contain(key), "the virtual key never reaches the upstream");
            Assert.That(forwarded.Headers.Values, Has.None.Contain(traceId), "nor the caller's trace");

            // 4. The dashboard shows every resource, and the chat call as one trace across the services it went through.
            // (The testing builder gives the dashboard a port of its own choosing: read it from the dashboard resource.)
            var dashboardResource = await app.ResourceNotifications.WaitForResourceAsync("aspire-dashboard", e => !e.Snapshot.Urls.IsEmpty, cancellationToken);
            await using (var dashboard = await DashboardPages.OpenAsync(DashboardUrl(dashboardResource)))
            {
                await dashboard.WaitForTextsAsync("/", [.. Services, "postgres", "redis", "rabbitmq", "clickhouse"], TimeSpan.FromSeconds(60));
                await dashboard.ScreenshotAsync("dashboard-resources.png");
                await dashboard.WaitForTextsAsync($"/traces/detail/{traceId}", ["aigateway", "identity", "quota", "auditingest"], TimeSpan.FromSeconds(90));
                await dashboard.ScreenshotAsync("dashboard-chat-trace.png");
            }

            // 5. A second run on the same data folder stops before starting anything.
            var (exit, log) = await AppHostProcess.RunAsync(args, TimeSpan.FromMinutes(2));
            Assert.That(exit, Is.EqualTo(3), log);
            Assert.That(log, Does.Contain("already running").And.Not.Contain("   at "), "one plain sentence, no stack trace");
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }

        // 6. Stopped: every process of the run gone, every port free again.
        Assert.That(pids, Has.Count.GreaterThanOrEqualTo(Services.Length + 4), "every service and every server had a PID");
        await Poll.UntilAsync(() => pids.All(pid => !Directory.Exists($"/proc/{pid}")), TimeSpan.FromSeconds(30), "every process of the run to exit");
        Assert.That(Ports.Select(p => p + PortOffset).Where(p => !LoopbackPorts.IsFree(p)), Is.Empty, "nothing listens on the run's ports");
    }

    /// <summary>The dashboard's own page (its resource also lists the OTLP endpoints, which speak gRPC or only take POSTs).</summary>
    private static Uri DashboardUrl(ResourceEvent dashboard)
    {
        var urls = dashboard.Snapshot.Urls;
        var page = urls.FirstOrDefault(u => u.Name is "http" or "https");
        Assert.That(page, Is.Not.Null, () => "no dashboard page among " + string.Join(", ", urls.Select(u => $"{u.Name}={u.Url}")));
        return new Uri(page!.Url);
    }

    /// <summary>The PID DCP reports for a running resource (Aspire's "executable.pid" property); none for one that finished.</summary>
    private static async Task<IEnumerable<int>> ProcessIdsAsync(DistributedApplication app, string resource, CancellationToken cancellationToken)
    {
        var current = await app.ResourceNotifications.WaitForResourceAsync(resource, _ => true, cancellationToken);
        return current.Snapshot.Properties.Where(p => p.Name == "executable.pid" && p.Value is not null)
            .Select(p => Convert.ToInt32(p.Value, System.Globalization.CultureInfo.InvariantCulture));
    }
}
