using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Models;
using ThinkWatch.Contracts.Providers;

namespace ThinkWatch.AiGateway.Routing;

/// <summary>The upstream wire format a provider kind speaks.</summary>
public enum UpstreamFormat { OpenAiChat, Anthropic, Gemini, Bedrock }

/// <summary>One way to serve a model: a provider and the model's name there.</summary>
public sealed record UpstreamRoute(UpstreamProvider Provider, string UpstreamModel, UpstreamFormat Format)
{
    public IUpstreamCodec Codec => Format switch
    {
        UpstreamFormat.Anthropic => AnthropicCodec.Instance,
        UpstreamFormat.Gemini => GeminiCodec.Instance,
        UpstreamFormat.Bedrock => BedrockCodec.Instance,
        _ => OpenAiChatCodec.Instance,
    };
}

/// <summary>
/// Which upstreams serve a model, in the order to try them. A model in the model table goes to
/// its registrations: by priority (lower first), and among equal priorities in a random order
/// drawn by weight. Any other model routes by name prefix (gpt-/o1-/o3-/o4- → OpenAI,
/// claude- → Anthropic, gemini- → Gemini) to every provider of that kind, by provider name.
/// </summary>
public static class ModelRouter
{
    private static readonly (string Prefix, string Kind)[] Prefixes =
    [
        ("gpt-", ProviderKinds.OpenAi), ("o1-", ProviderKinds.OpenAi), ("o3-", ProviderKinds.OpenAi), ("o4-", ProviderKinds.OpenAi),
        ("chatgpt-", ProviderKinds.OpenAi), ("text-embedding-", ProviderKinds.OpenAi), ("claude-", ProviderKinds.Anthropic), ("gemini-", ProviderKinds.Gemini),
    ];

    private static readonly HashSet<string> BareOpenAiModels = ["o1", "o3", "o4-mini"];

    public static IReadOnlyList<UpstreamRoute> Resolve(string model, IReadOnlyList<UpstreamProvider> providers, ModelTable table, Random random)
    {
        var registrations = table.For(model);
        if (registrations.Count > 0)
        {
            var routes = new List<UpstreamRoute>(registrations.Count);
            foreach (var group in registrations.GroupBy(r => r.Priority).OrderBy(g => g.Key))
            {
                foreach (var registration in WeightedOrder(group.ToList(), random))
                {
                    if (providers.FirstOrDefault(p => p.Id == registration.ProviderId) is { } provider && FormatOf(provider.Kind) is { } format)
                    {
                        routes.Add(new UpstreamRoute(provider, registration.UpstreamModel, format));
                    }
                }
            }
            return routes;
        }
        var kind = BareOpenAiModels.Contains(model) ? ProviderKinds.OpenAi
            : Prefixes.FirstOrDefault(p => model.StartsWith(p.Prefix, StringComparison.Ordinal)).Kind;
        if (kind is null)
        {
            return [];
        }
        return [.. providers.Where(p => p.Kind == kind).OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => new UpstreamRoute(p, model, FormatOf(p.Kind)!.Value))];
    }

    /// <summary>A random order in which each registration comes first with probability weight / total weight.</summary>
    internal static IEnumerable<ModelRegistration> WeightedOrder(List<ModelRegistration> group, Random random)
    {
        while (group.Count > 0)
        {
            var ticket = random.Next(group.Sum(r => r.Weight));
            var index = 0;
            while (ticket >= group[index].Weight)
            {
                ticket -= group[index].Weight;
                index++;
            }
            yield return group[index];
            group.RemoveAt(index);
        }
    }

    /// <summary>The wire format of a provider kind, or null for kinds this gateway cannot call yet.</summary>
    public static UpstreamFormat? FormatOf(string kind) => kind switch
    {
        ProviderKinds.Anthropic => UpstreamFormat.Anthropic,
        ProviderKinds.OpenAi or ProviderKinds.OpenAiCompatible or ProviderKinds.AzureOpenAi => UpstreamFormat.OpenAiChat,
        ProviderKinds.Gemini => UpstreamFormat.Gemini,
        ProviderKinds.Bedrock => UpstreamFormat.Bedrock,
        _ => null,
    };
}
