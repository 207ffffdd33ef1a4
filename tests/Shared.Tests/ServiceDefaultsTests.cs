using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

[TestFixture]
public sealed class ServiceDefaultsTests
{
    private FakeUpstream _fake = null!;

    [SetUp]
    public async Task Start() => _fake = await FakeUpstream.StartAsync();

    [TearDown]
    public async Task Stop() => await _fake.DisposeAsync();

    private static WebApplication Build(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGet("/hello", () => "hi");
        return app;
    }

    [Test]
    public async Task Http_clients_resolve_peer_services_from_the_services_variables()
    {
        _fake.On("GET", "/ping").Respond(FakeResponse.Json("{\"ok\":true}"));
        await using var app = Build(new() { ["services:quota:http:0"] = _fake.BaseAddress.ToString().TrimEnd('/') });
        var client = app.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var body = await client.GetStringAsync("http://quota/ping");

        Assert.That(body, Is.EqualTo("{\"ok\":true}"));
        Assert.That(_fake.Requests.Single().Path, Is.EqualTo("/ping"));
    }

    [Test]
    public async Task Traces_are_exported_over_otlp_when_an_endpoint_is_configured()
    {
        _fake.On("POST", "/v1/traces").Respond(FakeResponse.Json("{}"));
        _fake.On("POST", "/v1/metrics").Respond(FakeResponse.Json("{}"));
        _fake.On("POST", "/v1/logs").Respond(FakeResponse.Json("{}"));
        var app = Build(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _fake.BaseAddress.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "defaults-test",
        });
        await app.StartAsync();
        using (var http = new HttpClient())
        {
            Assert.That(await http.GetStringAsync(app.Urls.First() + "/hello"), Is.EqualTo("hi"));
        }

        await app.StopAsync();
        await app.DisposeAsync(); // flushes the exporters

        var traces = _fake.Requests.Where(r => r.Path == "/v1/traces").ToList();
        Assert.That(traces, Is.Not.Empty);
        Assert.That(traces[0].Headers["Content-Type"], Is.EqualTo("application/x-protobuf"));
        Assert.That(string.Concat(traces.Select(t => t.Body)), Does.Contain("defaults-test").And.Contain("/hello"));
    }
}
