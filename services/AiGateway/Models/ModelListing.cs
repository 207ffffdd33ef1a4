using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Keys;
using ThinkWatch.AiGateway.Proxy;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.Security;

namespace ThinkWatch.AiGateway.Models;

/// <summary>
/// GET /v1/models and /v1/models/{id} for keys: the models this key may use and some upstream
/// serves — every registered model, plus the exact names in the key's allowed list that route by
/// prefix (a pattern like "gpt-*" names no model to list). In Anthropic's shape when the client
/// sends anthropic-version, else OpenAI's.
/// </summary>
public sealed class ModelListing(KeyAuthenticator keys, ProviderCatalog providers, ModelCatalog models)
{
    private sealed record Listed(string Id, string OwnedBy, DateTime Created);

    public Task ListAsync(HttpContext context) => AnswerAsync(context, async format =>
    {
        var listed = await AvailableAsync(context);
        return format == ClientFormat.Anthropic
            ? new JsonObject
            {
                ["data"] = new JsonArray([.. listed.Select(AnthropicModel)]),
                ["has_more"] = false,
                ["first_id"] = listed.FirstOrDefault()?.Id,
                ["last_id"] = listed.LastOrDefault()?.Id,
            }
            : new JsonObject { ["object"] = "list", ["data"] = new JsonArray([.. listed.Select(OpenAiModel)]) };
    });

    public Task GetAsync(HttpContext context, string id) => AnswerAsync(context, async format =>
    {
        var model = (await AvailableAsync(context)).FirstOrDefault(m => m.Id == id)
            ?? throw new GatewayException(new GatewayError(ErrorKind.NotFound, $"The model '{id}' does not exist or this key may not use it.", "model"));
        return format == ClientFormat.Anthropic ? AnthropicModel(model) : OpenAiModel(model);
    });

    /// <summary>The body <paramref name="answer"/> builds in the client's shape, or the error in it.</summary>
    private static async Task AnswerAsync(HttpContext context, Func<ClientFormat, Task<JsonObject>> answer)
    {
        var format = context.Request.Headers.ContainsKey("anthropic-version") ? ClientFormat.Anthropic : ClientFormat.OpenAiChat;
        try
        {
            var body = await answer(format);
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(JsonWire.Bytes(body), context.RequestAborted);
        }
        catch (GatewayException ex)
        {
            await ClientErrors.WriteAsync(context, format, ex.Error);
        }
    }

    private async Task<IReadOnlyList<Listed>> AvailableAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        var principal = await keys.AuthenticateAsync(context.Request, aborted);
        var known = await providers.GetAsync(aborted);
        var table = await models.GetAsync(aborted);
        var candidates = table.Names.Concat(principal.AllowedModels.Where(p => !p.Contains('*', StringComparison.Ordinal))).Distinct(StringComparer.Ordinal);
        var listed = new List<Listed>();
        foreach (var name in candidates.Order(StringComparer.Ordinal))
        {
            if (NamePatterns.Allows(principal.AllowedModels, name) && ModelRouter.Resolve(name, known, table, Random.Shared) is [var first, ..])
            {
                var registered = table.For(name);
                listed.Add(new Listed(name, first.Provider.Name, registered.Count > 0 ? registered.Min(r => r.CreatedAt) : DateTime.UnixEpoch));
            }
        }
        return listed;
    }

    private static JsonObject OpenAiModel(Listed m) => new()
    {
        ["id"] = m.Id,
        ["object"] = "model",
        ["created"] = new DateTimeOffset(DateTime.SpecifyKind(m.Created, DateTimeKind.Utc)).ToUnixTimeSeconds(),
        ["owned_by"] = m.OwnedBy,
    };

    private static JsonObject AnthropicModel(Listed m) => new()
    {
        ["type"] = "model",
        ["id"] = m.Id,
        ["display_name"] = m.Id,
        ["created_at"] = DateTime.SpecifyKind(m.Created, DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
    };
}
