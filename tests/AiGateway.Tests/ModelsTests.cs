using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using OpenAI;
using OpenAI.Chat;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>The model table through /api/models (console token), aliases on the request path, and /v1/models for keys.</summary>
[TestFixture]
public sealed class ModelsTests : GatewayFixture
{
    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    private OpenAIClient OpenAi(string key) => new(new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(Gateway.Address, "v1"),
        RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
    });

    [Test]
    public async Task An_alias_routes_to_its_upstream_model()
    {
        var alias = Unique("fast");
        var registered = await Gateway.RegisterModelAsync(alias, "openai-main", upstreamModel: "gpt-4o-mini");
        Assert.That(registered.GetProperty("provider").GetString(), Is.EqualTo("openai-main"));
        Assert.That(registered.GetProperty("providerKind").GetString(), Is.EqualTo("openai"));
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o-mini-2024-07-18", "Quick.")));

        var completion = (await OpenAi(Gateway.Key).GetChatClient(alias).CompleteChatAsync([new UserChatMessage("hi")])).Value;

        Assert.That(completion.Content[0].Text, Is.EqualTo("Quick."));
        Assert.That(completion.Model, Is.EqualTo(alias), "same format: passed through, but under the name the client asked for");
        var sent = JsonNode.Parse(Gateway.Upstream.Requests.Single().Body)!;
        Assert.That(sent["model"]!.GetValue<string>(), Is.EqualTo("gpt-4o-mini"));
    }

    [Test]
    public async Task An_alias_on_the_other_format_converts()
    {
        var alias = Unique("smart");
        await Gateway.RegisterModelAsync(alias, "anthropic-main", upstreamModel: "claude-sonnet-4-5");
        Gateway.Upstream.On("POST", "/v1/messages").Respond(FakeResponse.Json(AnthropicShapes.Message("claude-sonnet-4-5", "Converted.")));

        var completion = (await OpenAi(Gateway.Key).GetChatClient(alias).CompleteChatAsync([new UserChatMessage("hi")])).Value;

        Assert.That(completion.Content[0].Text, Is.EqualTo("Converted."));
        Assert.That(JsonNode.Parse(Gateway.Upstream.Requests.Single().Body)!["model"]!.GetValue<string>(), Is.EqualTo("claude-sonnet-4-5"));
    }

    [Test]
    public async Task Registrations_are_listed_updated_and_deleted_and_a_deleted_alias_is_unknown()
    {
        var alias = Unique("tmp");
        var id = (await Gateway.RegisterModelAsync(alias, "openai-main", "gpt-4o", priority: 3, weight: 7)).GetProperty("id").GetString();
        using var console = Gateway.Console();

        var listed = await console.GetFromJsonAsync<JsonElement>("/api/models");
        var mine = listed.EnumerateArray().Single(m => m.GetProperty("id").GetString() == id);
        Assert.That((mine.GetProperty("priority").GetInt32(), mine.GetProperty("weight").GetInt32()), Is.EqualTo((3, 7)));

        using (var update = await console.PutAsJsonAsync($"/api/models/{id}", new { name = alias, provider = "openai-main", upstreamModel = "gpt-4.1", priority = 1, weight = 2 }))
        {
            var updated = await update.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(update.StatusCode, Is.EqualTo(HttpStatusCode.OK), updated.ToString());
            Assert.That(updated.GetProperty("upstreamModel").GetString(), Is.EqualTo("gpt-4.1"));
        }
        using (var delete = await console.DeleteAsync($"/api/models/{id}"))
        {
            Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        using (var again = await console.DeleteAsync($"/api/models/{id}"))
        {
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        }

        var ex = await Assert.ThrowsAsync<ClientResultException>(() => OpenAi(Gateway.Key).GetChatClient(alias).CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.That(ex!.Status, Is.EqualTo(404));
    }

    [Test]
    public async Task Bad_registrations_are_400_with_the_field_and_nothing_is_written()
    {
        using var console = Gateway.Console();
        var before = (await console.GetFromJsonAsync<JsonElement>("/api/models")).GetArrayLength();
        var alias = Unique("dup");
        await Gateway.RegisterModelAsync(alias, "openai-main");

        (object Input, string Field)[] cases =
        [
            (new { name = "", provider = "openai-main" }, "name"),
            (new { name = "has space", provider = "openai-main" }, "name"),
            (new { name = "x", provider = "no-such-provider" }, "provider"),
            (new { name = "x" }, "provider"),
            (new { name = "x", provider = "openai-main", priority = -1 }, "priority"),
            (new { name = "x", provider = "openai-main", weight = 0 }, "weight"),
            (new { name = "x", provider = "openai-main", upstreamModel = "" }, "upstreamModel"),
            (new { name = alias, provider = "openai-main" }, "name"),
        ];
        foreach (var (input, field) in cases)
        {
            using var response = await console.PostAsJsonAsync("/api/models", input);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), JsonSerializer.Serialize(input));
            Assert.That(body.GetProperty("errors").TryGetProperty(field, out _), Is.True, body.ToString());
        }
        Assert.That((await console.GetFromJsonAsync<JsonElement>("/api/models")).GetArrayLength(), Is.EqualTo(before + 1));
    }

    [Test]
    public async Task A_registration_field_the_contract_lacks_is_refused_while_model_requests_keep_fields_we_do_not_model()
    {
        using var console = Gateway.Console();
        var alias = Unique("strict");
        using var registration = await console.PostAsJsonAsync("/api/models", new { name = alias, provider = "openai-main", upstream_model = "gpt-4o" });
        var problem = await registration.Content.ReadFromJsonAsync<JsonElement>();
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o-mini", "Still here.")));
        using var chat = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"vendor_knob":{"level":3}}""",
                System.Text.Encoding.UTF8, "application/json"),
        };
        chat.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Gateway.Key);
        using var http = Gateway.Http();

        using var answer = await http.SendAsync(chat);

        Assert.That(registration.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem.GetProperty("errors").ToString(), Is.EqualTo("""{"upstream_model":["unknown field"]}"""));
        Assert.That((await console.GetStringAsync("/api/models")), Does.Not.Contain(alias));
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK), await answer.Content.ReadAsStringAsync());
        Assert.That(JsonNode.Parse(Gateway.Upstream.Requests.Single().Body)!["vendor_knob"]?["level"]?.GetValue<int>(), Is.EqualTo(3),
            "the model APIs pass fields through, unknown to us or not");
    }

    [Test]
    public async Task The_console_api_needs_a_token_with_the_right_permission()
    {
        using var anonymous = Gateway.Http();
        using (var response = await anonymous.GetAsync("/api/models"))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }
        using var developer = Gateway.Console(Roles.Developer);
        using (var read = await developer.GetAsync("/api/models"))
        {
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK), await read.Content.ReadAsStringAsync());
        }
        using (var write = await developer.PostAsJsonAsync("/api/models", new { name = "x", provider = "openai-main" }))
        {
            Assert.That(write.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
        using (var health = await developer.GetAsync("/api/models/upstreams"))
        {
            Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "upstream health needs providers:read");
        }
        using var key = new HttpClient { BaseAddress = Gateway.Address };
        key.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Gateway.Key);
        using (var withApiKey = await key.GetAsync("/api/models"))
        {
            Assert.That(withApiKey.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "an API key is not a console token");
        }
    }

    [Test]
    public async Task Models_list_shows_what_the_key_may_use_in_both_sdks()
    {
        var alias = Unique("listed");
        var hidden = Unique("hidden");
        await Gateway.RegisterModelAsync(alias, "openai-main", "gpt-4o");
        await Gateway.RegisterModelAsync(hidden, "openai-main", "gpt-4o");
        var (_, key) = await Gateway.CreateKeyAsync([alias, "gpt-4o", "claude-*", "no-provider-serves-this"]);

        var openAi = (await OpenAi(key).GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToList();
        Assert.That(openAi, Is.EquivalentTo(new[] { alias, "gpt-4o" }), "registered or literal, allowed, and routable; patterns name no model");
        var one = (await OpenAi(key).GetOpenAIModelClient().GetModelAsync(alias)).Value;
        Assert.That(one.OwnedBy, Is.EqualTo("openai-main"));
        var forbidden = await Assert.ThrowsAsync<ClientResultException>(() => OpenAi(key).GetOpenAIModelClient().GetModelAsync(hidden));
        Assert.That(forbidden!.Status, Is.EqualTo(404));

        var anthropic = new AnthropicClient { BaseUrl = Gateway.Address.ToString().TrimEnd('/'), ApiKey = key, MaxRetries = 0 };
        var page = await anthropic.Models.List();
        Assert.That(page.Items.Select(m => m.ID), Is.EquivalentTo(new[] { alias, "gpt-4o" }));
        Assert.That(page.Items.Select(m => m.DisplayName), Is.EquivalentTo(new[] { alias, "gpt-4o" }));
    }

    [Test]
    public async Task Models_list_refuses_a_bad_key_in_the_clients_format()
    {
        using var http = Gateway.Http();
        http.DefaultRequestHeaders.Add("x-api-key", "tw-not-a-real-key-0000000000000000000000000");
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        using var response = await http.GetAsync("/v1/models");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(body["type"]!.GetValue<string>(), Is.EqualTo("error"));
        Assert.That(body["error"]!["type"]!.GetValue<string>(), Is.EqualTo("authentication_error"));
    }
}
