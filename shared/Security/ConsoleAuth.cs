using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ThinkWatch.Security;

/// <summary>
/// Console access tokens: short-lived HS256 JWTs that Identity issues at sign-in and every
/// service validates locally with the shared signing key (no call to Identity per request).
/// </summary>
public sealed class ConsoleAuthOptions
{
    public const string Section = "ConsoleAuth";

    /// <summary>At least 32 characters of real randomness, e.g. `openssl rand -base64 48`. The AppHost generates one.</summary>
    public string SigningKey { get; set; } = "";

    public string Issuer { get; set; } = "thinkwatch";

    public string Audience { get; set; } = "thinkwatch-console";

    [Range(typeof(TimeSpan), "00:01:00", "01:00:00")]
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    public SymmetricSecurityKey Key() => new(Encoding.UTF8.GetBytes(SigningKey));
}

/// <summary>Claim names in console tokens.</summary>
public static class ConsoleClaims
{
    public const string UserId = "sub";
    public const string Role = "role";
    public const string Email = "email";
    public const string SessionId = "sid";

    public static Guid? UserIdOf(this ClaimsPrincipal user) => Guid.TryParse(user.FindFirstValue(UserId), out var id) ? id : null;
    public static string? RoleOf(this ClaimsPrincipal user) => user.FindFirstValue(Role);
    public static Guid? SessionIdOf(this ClaimsPrincipal user) => Guid.TryParse(user.FindFirstValue(SessionId), out var id) ? id : null;
    public static bool Can(this ClaimsPrincipal user, string permission) => user.RoleOf() is { } role && Roles.Has(role, permission);
}

internal sealed class ConsoleAuthOptionsValidator : IValidateOptions<ConsoleAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, ConsoleAuthOptions options) =>
        SecretStrength.Problem(options.SigningKey, $"{ConsoleAuthOptions.Section}:SigningKey") is { } problem
            ? ValidateOptionsResult.Fail(problem)
            : ValidateOptionsResult.Success;
}

public static class ConsoleAuthExtensions
{
    /// <summary>The console token settings (ConsoleAuth:*); startup fails if the signing key is missing or weak.</summary>
    public static IServiceCollection AddConsoleAuthOptions(this IServiceCollection services)
    {
        services.AddOptions<ConsoleAuthOptions>()
            .BindConfiguration(ConsoleAuthOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConsoleAuthOptions>, ConsoleAuthOptionsValidator>());
        return services;
    }

    /// <summary>Validates console tokens on this service; startup fails if the signing key is missing or weak.</summary>
    public static IHostApplicationBuilder AddConsoleAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddConsoleAuthOptions();
        builder.Services.AddSingleton<ConsoleTokenIssuer>();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<ConsoleAuthOptions>, TimeProvider>((jwt, console, time) =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = ConsoleTokenIssuer.ValidationParameters(console.Value, time);
            });
        builder.Services.AddAuthorization();
        return builder;
    }

    /// <summary>Signed-in, and the role grants <paramref name="permission"/>.</summary>
    public static TBuilder RequirePermission<TBuilder>(this TBuilder endpoint, string permission) where TBuilder : IEndpointConventionBuilder =>
        endpoint.RequireAuthorization(policy => policy
            .RequireAuthenticatedUser()
            .RequireAssertion(context => context.User.Can(permission)));
}

/// <summary>Issues console access tokens (Identity) and describes how to validate them (everyone).</summary>
public sealed class ConsoleTokenIssuer(IOptions<ConsoleAuthOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new();

    public (string Token, DateTimeOffset ExpiresAt) Issue(Guid userId, string email, string role, Guid sessionId)
    {
        var o = options.Value;
        var now = time.GetUtcNow();
        var expires = now + o.AccessTokenLifetime;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = o.Issuer,
            Audience = o.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(o.Key(), SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object>
            {
                [ConsoleClaims.UserId] = userId.ToString(),
                [ConsoleClaims.Email] = email,
                [ConsoleClaims.Role] = role,
                [ConsoleClaims.SessionId] = sessionId.ToString(),
            },
        });
        return (token, expires);
    }

    /// <summary>Lifetime is checked against <paramref name="time"/>, the clock the rest of the service uses.</summary>
    public static TokenValidationParameters ValidationParameters(ConsoleAuthOptions o, TimeProvider time) => new()
    {
        LifetimeValidator = (notBefore, expires, _, parameters) =>
        {
            var now = time.GetUtcNow().UtcDateTime;
            return expires is { } exp && now < exp + parameters.ClockSkew && (notBefore is not { } nbf || now >= nbf - parameters.ClockSkew);
        },
        ValidIssuer = o.Issuer,
        ValidAudience = o.Audience,
        IssuerSigningKey = o.Key(),
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        RequireExpirationTime = true,
        ClockSkew = TimeSpan.FromSeconds(30),
        NameClaimType = ConsoleClaims.UserId,
        RoleClaimType = ConsoleClaims.Role,
    };
}

/// <summary>Who acts on a console API, from where (for audit records).</summary>
public sealed record ConsoleActor(Guid UserId, string Role, string? ClientIp)
{
    public static ConsoleActor From(HttpContext http) =>
        new(http.User.UserIdOf() ?? throw new InvalidOperationException("no signed-in user"), http.User.RoleOf() ?? "", http.Connection.RemoteIpAddress?.ToString());
}
