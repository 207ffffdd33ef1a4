using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ThinkWatch.Identity.Tests;

/// <summary>A fresh Identity per test, set up, with a client signed in as its super admin.</summary>
public abstract class SignedInFixture
{
    protected IdentityHost Host { get; private set; } = null!;
    protected HttpClient Root { get; private set; } = null!;

    [SetUp]
    public async Task StartIdentity()
    {
        Host = await IdentityHost.StartAsync();
        Root = await Host.SetUpAsync();
    }

    [TearDown]
    public async Task StopIdentity()
    {
        Root.Dispose();
        await Host.DisposeAsync();
    }

    /// <summary>One API call; the body parsed as JSON when there is one.</summary>
    protected static async Task<(HttpStatusCode Status, JsonElement Body)> Send(HttpClient client, string method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }
}
