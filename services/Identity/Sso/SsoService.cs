using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using ThinkWatch.Identity.Auth;
using ThinkWatch.Identity.Setup;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Sso;

/// <summary>
/// OpenID Connect authorization code flow with PKCE against any provider configured by issuer:
/// start (state, nonce, S256 challenge kept server-side, single use), callback (code exchange,
/// ID token validated against the provider's published keys, issuer, audience and nonce), then
/// the user is found by linked identity or email, or provisioned, and gets a console session.
/// </summary>
public sealed partial class SsoService(
    NpgsqlDataSource dataSource, IOptions<SsoOptions> options, IHttpClientFactory http, SessionService sessions,
    TimeProvider time, ILogger<SsoService> logger)
{
    private readonly ConcurrentDictionary<string, ConfigurationManager<OpenIdConnectConfiguration>> _discovery = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<(string Name, string DisplayName)> Providers =>
        [.. options.Value.Providers.Select(p => (p.Key, p.Value.DisplayName.Length > 0 ? p.Value.DisplayName : p.Key))];

    /// <summary>The provider's authorization URL for a new sign-in; null for an unknown provider.</summary>
    public async Task<Uri?> StartAsync(string provider, IPAddress? ip, CancellationToken cancellationToken)
    {
        if (!options.Value.Providers.TryGetValue(provider, out var p))
        {
            return null;
        }
        var configuration = await DiscoveryFor(provider, p).GetConfigurationAsync(cancellationToken);
        var state = Random(32);
        var nonce = Random(32);
        var verifier = Random(32);
        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            DELETE FROM sso_requests WHERE created_at < @expired;
            INSERT INTO sso_requests (state_hash, provider, nonce, code_verifier, client_ip, created_at) VALUES (@hash, @provider, @nonce, @verifier, @ip::inet, @now);
            """, new { hash = Hash(state), provider, nonce, verifier, ip = ip?.ToString(), now = time.GetUtcNow(), expired = time.GetUtcNow() - options.Value.RequestLifetime },
            cancellationToken: cancellationToken));
        var query = new Dictionary<string, string>
        {
            ["response_type"] = "code", ["client_id"] = p.ClientId, ["redirect_uri"] = p.RedirectUri, ["scope"] = p.Scopes,
            ["state"] = state, ["nonce"] = nonce, ["code_challenge"] = challenge, ["code_challenge_method"] = "S256",
        };
        return new Uri(configuration.AuthorizationEndpoint + "?" + string.Join('&', query.Select(kv => $"{kv.Key}={Uri.EscapeDataString(kv.Value)}")));
    }

    public async Task<SignInOutcome> CallbackAsync(string provider, string? code, string? state, string? error, IPAddress? ip, string? userAgent, CancellationToken cancellationToken)
    {
        const string refused = "Single sign-on did not complete; start again.";
        if (!options.Value.Providers.TryGetValue(provider, out var p) || string.IsNullOrEmpty(code) || string.IsNullOrEmpty(state) || error is not null)
        {
            return new SignInOutcome.Refused(error is null ? refused : $"The identity provider refused the sign-in ({error}).");
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // Single use: the request row is gone whatever happens next.
        var pending = await connection.QuerySingleOrDefaultAsync<(string Nonce, string Verifier, string? Ip, DateTime CreatedAt)?>(new CommandDefinition("""
            DELETE FROM sso_requests WHERE state_hash = @hash AND provider = @provider
            RETURNING nonce, code_verifier, host(client_ip), created_at
            """, new { hash = Hash(state), provider }, cancellationToken: cancellationToken));
        if (pending is not { } request || request.CreatedAt + options.Value.RequestLifetime < time.GetUtcNow().UtcDateTime || request.Ip != ip?.ToString())
        {
            return new SignInOutcome.Refused(refused);
        }

        var configuration = await DiscoveryFor(provider, p).GetConfigurationAsync(cancellationToken);
        using var exchange = await http.CreateClient("sso").PostAsync(configuration.TokenEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code, ["redirect_uri"] = p.RedirectUri,
            ["client_id"] = p.ClientId, ["client_secret"] = p.ClientSecret, ["code_verifier"] = request.Verifier,
        }), cancellationToken);
        var body = await exchange.Content.ReadAsStringAsync(cancellationToken);
        if (!exchange.IsSuccessStatusCode || JsonDocument.Parse(body).RootElement.TryGetProperty("id_token", out var idTokenElement) is false)
        {
            LogExchangeFailed(logger, provider, (int)exchange.StatusCode);
            return new SignInOutcome.Refused(refused);
        }
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(idTokenElement.GetString(), new TokenValidationParameters
        {
            ValidIssuer = configuration.Issuer,
            ValidAudience = p.ClientId,
            IssuerSigningKeys = configuration.SigningKeys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.RsaSsaPssSha256],
            LifetimeValidator = (nbf, exp, _, _) => exp is { } e && time.GetUtcNow().UtcDateTime < e.AddMinutes(1),
        });
        object? Claim(string name) => validation.Claims.TryGetValue(name, out var value) ? value : null;
        if (!validation.IsValid || Claim("nonce") as string != request.Nonce)
        {
            LogTokenRefused(logger, validation.Exception, provider);
            return new SignInOutcome.Refused(refused);
        }
        var subject = Claim("sub") as string;
        var email = Claim("email") as string;
        var verified = Claim("email_verified") is not false and not "false";
        var name = Claim("name") as string ?? email;
        if (string.IsNullOrEmpty(subject) || string.IsNullOrEmpty(email) || !verified
            || (p.AllowedEmailDomains.Length > 0 && !p.AllowedEmailDomains.Any(d => email.EndsWith("@" + d, StringComparison.OrdinalIgnoreCase))))
        {
            return new SignInOutcome.Refused("This account may not sign in to ThinkWatch.");
        }
        return await FindOrProvisionAsync(connection, provider, p, subject, email, name!, cancellationToken) is { } user
            ? new SignInOutcome.Success(await sessions.StartSessionAsync(user, ip, userAgent, cancellationToken))
            : new SignInOutcome.Refused("This account may not sign in to ThinkWatch.");
    }

    private async Task<UserView?> FindOrProvisionAsync(NpgsqlConnection connection, string provider, SsoProviderOptions p, string subject, string email, string name, CancellationToken cancellationToken)
    {
        const string select = "SELECT u.id, u.email, u.display_name AS DisplayName, u.role FROM users u";
        var linked = await connection.QuerySingleOrDefaultAsync<UserView>(new CommandDefinition(
            select + " JOIN user_identities i ON i.user_id = u.id WHERE i.provider = @provider AND i.subject = @subject AND u.deleted_at IS NULL AND NOT u.disabled",
            new { provider, subject }, cancellationToken: cancellationToken));
        if (linked is not null)
        {
            return linked;
        }
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var now = time.GetUtcNow();
        var user = await connection.QuerySingleOrDefaultAsync<UserView>(new CommandDefinition(
            select + " WHERE lower(u.email) = lower(@email) AND u.deleted_at IS NULL AND NOT u.disabled", new { email }, tx, cancellationToken: cancellationToken));
        if (user is null)
        {
            if (!p.AutoProvision)
            {
                return null;
            }
            user = new UserView(Guid.CreateVersion7(), email, name.Length > 100 ? name[..100] : name, Roles.IsRole(p.DefaultRole) ? p.DefaultRole : Roles.Viewer);
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO users (id, email, display_name, role, created_at, updated_at) VALUES (@Id, @Email, @DisplayName, @Role, @now, @now)
                """, new { user.Id, user.Email, user.DisplayName, user.Role, now }, tx, cancellationToken: cancellationToken));
        }
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO user_identities (provider, subject, user_id, created_at) VALUES (@provider, @subject, @Id, @now) ON CONFLICT DO NOTHING
            """, new { provider, subject, user.Id, now }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
        return user;
    }

    private ConfigurationManager<OpenIdConnectConfiguration> DiscoveryFor(string name, SsoProviderOptions p) =>
        _discovery.GetOrAdd(name, _ => new ConfigurationManager<OpenIdConnectConfiguration>(
            p.Authority.TrimEnd('/') + "/.well-known/openid-configuration",
            new OpenIdConnectConfigurationRetriever(),
            new HttpDocumentRetriever(http.CreateClient("sso")) { RequireHttps = !p.AllowHttp }));

    private static string Random(int bytes) => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(bytes));

    private static byte[] Hash(string value) => TokenHash.Of(value);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "SSO code exchange with {Provider} failed with status {Status}")]
    private static partial void LogExchangeFailed(ILogger logger, string provider, int status);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "SSO ID token from {Provider} refused")]
    private static partial void LogTokenRefused(ILogger logger, Exception? exception, string provider);
}
