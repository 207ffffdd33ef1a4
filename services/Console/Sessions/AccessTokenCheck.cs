using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using ThinkWatch.Security;

namespace ThinkWatch.Console.Sessions;

/// <summary>
/// Who a browser session belongs to is read from the access token Identity signed (checked with the shared signing
/// key), not from the JSON around it: the role that decides what the console offers is the role the services enforce.
/// </summary>
public sealed class AccessTokenCheck(IOptions<ConsoleAuthOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new();

    public async Task<ClaimsPrincipal?> PrincipalOfAsync(TokenAnswer tokens)
    {
        var result = await _handler.ValidateTokenAsync(tokens.AccessToken, ConsoleTokenIssuer.ValidationParameters(options.Value, time));
        if (!result.IsValid || result.ClaimsIdentity.FindFirst(ConsoleClaims.UserId)?.Value != tokens.User.Id.ToString())
        {
            return null;
        }
        return new ClaimsPrincipal(new ClaimsIdentity(
        [
            new Claim(ConsoleClaims.UserId, tokens.User.Id.ToString()),
            new Claim(ConsoleClaims.Email, result.ClaimsIdentity.FindFirst(ConsoleClaims.Email)?.Value ?? tokens.User.Email),
            new Claim(ClaimTypes.Name, tokens.User.DisplayName),
            new Claim(ConsoleClaims.Role, result.ClaimsIdentity.FindFirst(ConsoleClaims.Role)?.Value ?? Roles.Viewer),
        ], CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, ConsoleClaims.Role));
    }
}
