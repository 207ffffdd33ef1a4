using System.ComponentModel.DataAnnotations;

namespace ThinkWatch.Identity.Sso;

/// <summary>One OpenID Connect provider, under `Identity:Sso:Providers:{name}`.</summary>
public sealed class SsoProviderOptions
{
    /// <summary>The issuer URL; its /.well-known/openid-configuration is read from there.</summary>
    [Required]
    public string Authority { get; set; } = "";

    [Required]
    public string ClientId { get; set; } = "";

    public string ClientSecret { get; set; } = "";

    /// <summary>This provider's callback on the console, registered at the provider: …/api/auth/sso/{name}/callback.</summary>
    [Required]
    public string RedirectUri { get; set; } = "";

    public string Scopes { get; set; } = "openid email profile";

    public string DisplayName { get; set; } = "";

    /// <summary>Create a user on first sign-in (with <see cref="DefaultRole"/>); otherwise only existing users may sign in.</summary>
    public bool AutoProvision { get; set; } = true;

    public string DefaultRole { get; set; } = Security.Roles.Developer;

    /// <summary>When set, only emails in these domains may sign in.</summary>
    public string[] AllowedEmailDomains { get; set; } = [];

    /// <summary>Only for a provider on the same host in tests or labs: allow an http:// authority.</summary>
    public bool AllowHttp { get; set; }
}

public sealed class SsoOptions
{
    public const string Section = "Identity:Sso";

    public Dictionary<string, SsoProviderOptions> Providers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long a sign-in may take between start and callback.</summary>
    public TimeSpan RequestLifetime { get; set; } = TimeSpan.FromMinutes(10);
}
