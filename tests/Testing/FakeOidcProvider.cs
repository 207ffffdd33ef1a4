using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ThinkWatch.Testing;

/// <summary>
/// An OpenID Connect provider on a free loopback port: discovery, JWKS, an authorize endpoint
/// that signs the scripted user in at once, and a token endpoint that checks the client
/// secret, the redirect URI and the PKCE verifier before issuing an RS256-signed ID token.
/// </summary>
public sealed class FakeOidcProvider : IAsyncDisposable
{
    public const string ClientId = "thinkwatch-console";
    public const string ClientSecret = "fake-oidc-client-secret";

    private WebApplication _app = null!;
    private readonly RsaSecurityKey _key = new(RSA.Create(2048)) { KeyId = "fake-key-1" };
    private readonly RsaSecurityKey _rogue = new(RSA.Create(2048)) { KeyId = "fake-key-1" };
    private readonly ConcurrentDictionary<string, (string Nonce, string Challenge, string RedirectUri, Dictionary<string, object> Claims)> _codes = new();
    private readonly Func<DateTimeOffset> _now;

    private FakeOidcProvider(Func<DateTimeOffset> now) => _now = now;

    public Uri Issuer { get; private set; } = null!;

    /// <summary>Who signs in next.</summary>
    public Dictionary<string, object> User { get; set; } = new() { ["sub"] = "user-1", ["email"] = "ada@corp.example", ["email_verified"] = true, ["name"] = "Ada" };

    /// <summary>Misbehaviours to test that the relying party notices.</summary>
    public bool SignWithUnknownKey { get; set; }
    public bool WrongNonce { get; set; }

    public int TokenRequests;

    public static async Task<FakeOidcProvider> StartAsync(Func<DateTimeOffset> now)
    {
        var fake = new FakeOidcProvider(now);
        (fake._app, var address) = await LoopbackServer.StartAsync(app => fake.Map(app));
        fake.Issuer = new Uri(address.ToString().TrimEnd('/'));
        return fake;
    }

    private void Map(WebApplication app)
    {
        var fake = this;
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = fake.IssuerName, ["authorization_endpoint"] = fake.IssuerName + "/authorize", ["token_endpoint"] = fake.IssuerName + "/token",
            ["jwks_uri"] = fake.IssuerName + "/jwks", ["response_types_supported"] = new[] { "code" }, ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" }, ["code_challenge_methods_supported"] = new[] { "S256" },
        }));
        app.MapGet("/jwks", () =>
        {
            var p = fake._key.Rsa.ExportParameters(false);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = fake._key.KeyId, n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) } } });
        });
        app.MapGet("/authorize", (HttpRequest r) =>
        {
            var q = r.Query;
            if (q["client_id"] != ClientId || q["response_type"] != "code" || q["code_challenge_method"] != "S256" || string.IsNullOrEmpty(q["code_challenge"]))
            {
                return Results.BadRequest("invalid_request");
            }
            var code = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
            fake._codes[code] = (q["nonce"]!, q["code_challenge"]!, q["redirect_uri"]!, new Dictionary<string, object>(fake.User));
            return Results.Redirect($"{q["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(q["state"]!)}");
        });
        app.MapPost("/token", async (HttpRequest r) =>
        {
            Interlocked.Increment(ref fake.TokenRequests);
            var form = await r.ReadFormAsync();
            if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret || form["grant_type"] != "authorization_code"
                || !fake._codes.TryRemove(form["code"].ToString(), out var grant) || grant.RedirectUri != form["redirect_uri"]
                || Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))) != grant.Challenge)
            {
                return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
            }
            var now = fake._now();
            var claims = new Dictionary<string, object>(grant.Claims) { ["nonce"] = fake.WrongNonce ? "not-the-nonce" : grant.Nonce };
            var idToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = fake.IssuerName, Audience = ClientId, Claims = claims,
                IssuedAt = now.UtcDateTime, NotBefore = now.UtcDateTime, Expires = now.AddMinutes(5).UtcDateTime,
                SigningCredentials = new SigningCredentials(fake.SignWithUnknownKey ? fake._rogue : fake._key, SecurityAlgorithms.RsaSha256),
            });
            return Results.Json(new { access_token = "opaque", token_type = "Bearer", expires_in = 300, id_token = idToken });
        });
    }

    private string IssuerName => Issuer.ToString().TrimEnd('/');

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Rsa.Dispose();
        _rogue.Rsa.Dispose();
    }
}
