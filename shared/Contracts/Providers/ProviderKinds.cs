namespace ThinkWatch.Contracts.Providers;

/// <summary>The upstream provider kinds (Identity stores them, the AI gateway speaks to them).</summary>
public static class ProviderKinds
{
    public const string OpenAi = "openai";
    public const string Anthropic = "anthropic";
    public const string Gemini = "gemini";
    public const string AzureOpenAi = "azure_openai";
    public const string Bedrock = "bedrock";
    public const string OpenAiCompatible = "openai_compatible";
    public static IReadOnlyList<string> All { get; } = [OpenAi, Anthropic, Gemini, AzureOpenAi, Bedrock, OpenAiCompatible];
}
