using ThinkWatch.Contracts.Providers;

namespace ThinkWatch.AiGateway.Routing;

/// <summary>The upstream wire format a provider kind speaks.</summary>
public enum UpstreamFormat { OpenAiChat, Anthropic }

/// <summary>One way to serve a model: a provider and the model's name there.</summary>
public sealed record UpstreamRoute(UpstreamProvider Provider, string UpstreamModel, UpstreamFormat Format);

/// <summary>Which providers serve a model: default prefixes (gpt-/o1-/o3-/o4- → OpenAI, claude- → Anthropic).</summary>
public static class ModelRouter
{
    private static readonly (string Prefix, string Kind)[] Prefixes =
    [
        ("gpt-", ProviderKinds.OpenAi), ("o1-", ProviderKinds.OpenAi), ("o3-", ProviderKinds.OpenAi), ("o4-", ProviderKinds.OpenAi),
        ("chatgpt-", ProviderKinds.OpenAi), ("text-embedding-", ProviderKinds.OpenAi), ("claude-", ProviderKinds.Anthropic),
    ];

    private static readonly HashSet<string> BareOpenAiModels = ["o1", "o3", "o4-mini"];

    public static IReadOnlyList<UpstreamRoute> Resolve(string model, IReadOnlyList<UpstreamProvider> providers)
    {
        var kind = BareOpenAiModels.Contains(model) ? ProviderKinds.OpenAi
            : Prefixes.FirstOrDefault(p => model.StartsWith(p.Prefix, StringComparison.Ordinal)).Kind;
        if (kind is null)
        {
            return [];
        }
        return [.. providers.Where(p => p.Kind == kind).OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => new UpstreamRoute(p, model, FormatOf(p.Kind)))];
    }

    public static UpstreamFormat FormatOf(string kind) => kind switch
    {
        ProviderKinds.Anthropic => UpstreamFormat.Anthropic,
        _ => UpstreamFormat.OpenAiChat,
    };
}
