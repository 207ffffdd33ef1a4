namespace ThinkWatch.Identity.Providers;

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

public sealed record ProviderCredentialsInput(string? ApiKey, string? AccessKeyId, string? SecretAccessKey, string? SessionToken);

public sealed record CreateProviderRequest(string? Name, string? Kind, string? BaseUrl, Dictionary<string, string>? Settings, ProviderCredentialsInput? Credentials);

public sealed record UpdateProviderRequest(string? Name, string? BaseUrl, Dictionary<string, string>? Settings, ProviderCredentialsInput? Credentials);

/// <summary>A provider as the console sees it: the credentials only as a hint.</summary>
public sealed record ProviderView(Guid Id, string Name, string Kind, string? BaseUrl, IReadOnlyDictionary<string, string> Settings,
    string CredentialsHint, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
