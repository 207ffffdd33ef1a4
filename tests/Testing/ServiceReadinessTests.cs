using System.Net;
using System.Text.Json;
using NUnit.Framework;

namespace ThinkWatch.Testing;

/// <summary>
/// What every service must show: /health/ready answers 200 with each of its dependencies
/// healthy against the real infrastructure, and 503 naming the dependency when one is down.
/// </summary>
public abstract class ServiceReadinessTests<TEntryPoint> where TEntryPoint : class
{
    protected InfraEndpoints Infra { get; private set; } = null!;

    /// <summary>The readiness checks this service must report, e.g. "postgres", "migrations".</summary>
    protected abstract IReadOnlyList<string> ReadyChecks { get; }

    /// <summary>Dependencies that can be taken away, each with the check that must then fail.</summary>
    protected abstract IReadOnlyList<(string Dependency, string FailingCheck)> Dependencies { get; }

    /// <summary>The service's settings against the test infrastructure, with <paramref name="down"/> (if any) pointed at <paramref name="closedPort"/>.</summary>
    protected abstract Dictionary<string, string?> Settings(string? down, int closedPort);

    /// <summary>
    /// A RabbitMQ virtual host of this fixture's own: on the shared one, a service started here would
    /// consume the durable queues other test assemblies filled (thousands of usage events, each
    /// faulting against a dependency that is down, each logged).
    /// </summary>
    protected string VirtualHost { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartInfrastructure()
    {
        Infra = await TestInfrastructure.EnsureStartedAsync();
        VirtualHost = await TestInfrastructure.CreateVirtualHostAsync(InfraEndpoints.UniqueName("ready"));
    }

    [OneTimeTearDown]
    public Task DeleteVirtualHost() => TestInfrastructure.DeleteVirtualHostAsync(VirtualHost);

    /// <summary>The broker's URI for the service, on this fixture's virtual host; <paramref name="closedPort"/> when RabbitMQ is the dependency down.</summary>
    protected string RabbitMq(string? down, int closedPort) => Infra.RabbitMqUri(down == "rabbitmq" ? closedPort : null, VirtualHost);

    [Test]
    public async Task Reports_ready_with_every_dependency_healthy()
    {
        await using var host = new ServiceHost<TEntryPoint>(Settings(null, 0));

        var (status, body) = await host.WaitForReadyAsync(TimeSpan.FromSeconds(60));

        Assert.That(status, Is.EqualTo(200), body);
        var checks = Checks(body);
        Assert.That(checks.Keys, Is.SupersetOf(ReadyChecks), body);
        Assert.That(checks.Values, Is.All.EqualTo("Healthy"), body);
    }

    [Test]
    public async Task Reports_not_ready_naming_a_dependency_that_is_down()
    {
        foreach (var (dependency, failingCheck) in Dependencies)
        {
            await using var host = new ServiceHost<TEntryPoint>(Settings(dependency, ClosedPort()));

            var (status, body) = await host.WaitForReadyAsync(TimeSpan.FromSeconds(2));

            Assert.That(status, Is.EqualTo(503), $"{dependency} down: {body}");
            Assert.That(Checks(body).GetValueOrDefault(failingCheck), Is.EqualTo("Unhealthy"), $"{dependency} down: {body}");
        }
    }

    [Test]
    public async Task Liveness_does_not_depend_on_infrastructure()
    {
        await using var host = new ServiceHost<TEntryPoint>(Settings(Dependencies[0].Dependency, ClosedPort()));
        using var client = host.CreateClient();

        using var response = await client.GetAsync("/health/live");

        Assert.That((int)response.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task Metrics_are_served_only_when_a_bearer_token_is_set_and_only_to_its_bearer()
    {
        await using (var closed = new ServiceHost<TEntryPoint>(Settings(null, 0)))
        {
            using var client = closed.CreateClient();
            using var response = await client.GetAsync("/metrics");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "no METRICS_BEARER_TOKEN, no /metrics");
        }

        const string Token = "metrics-token-0123456789";
        await using var host = new ServiceHost<TEntryPoint>(new Dictionary<string, string?>(Settings(null, 0)) { ["METRICS_BEARER_TOKEN"] = Token });
        using var http = host.CreateClient();
        await http.GetAsync("/health/live");
        foreach (var wrong in new[] { null, "Bearer not-the-token-at-all", "Basic " + Token, "Bearer " + Token + "x" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            request.Headers.TryAddWithoutValidation("Authorization", wrong);
            using var refused = await http.SendAsync(request);
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), wrong ?? "no Authorization");
        }
        using var ok = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        ok.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        using var answer = await http.SendAsync(ok);
        var text = await answer.Content.ReadAsStringAsync();
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        Assert.That(answer.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
        Assert.That(text, Does.Contain("http_request_duration_seconds_bucket").And.Contain("http_requests_received_total"), "request counts and duration histograms");
        Assert.That(text, Does.Contain("endpoint=\"/health/live\""), "the request made above is counted by endpoint");
    }

    private static Dictionary<string, string> Checks(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("checks").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetProperty("status").GetString()!);
    }

    /// <summary>A loopback port nothing listens on (see <see cref="LoopbackPorts.Closed"/>).</summary>
    public static int ClosedPort() => LoopbackPorts.Closed();
}
