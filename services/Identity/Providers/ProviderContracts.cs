namespace ThinkWatch.Identity.Providers;

public sealed record ProviderCredentialsInput(string? ApiKey, string? AccessKeyId, string? SecretAccessKey, string? SessionToken);

public sealed record CreateProviderRequest(string? Name, string? Kind, string? BaseUrl, Dictionary<string, string>? Settings, ProviderCredentialsInput? Credentials);

public sealed record UpdateProviderRequest(string? Name, string? BaseUrl, Dictionary<string, string>? Settings, ProviderCredentialsInput? Credentials);

/// <summary>A provider as the console sees it: the credentials only as a hint.</summary>
public sealed record ProviderView(Guid Id, string Name, string Kind, string? BaseUrl, IReadOnlyDictionary<string, string> Settings,
    string CredentialsHint, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
