using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Localization;
using ThinkWatch.Console.Localization;

namespace ThinkWatch.Console.Sessions;

/// <summary>Signing in and out of the console, and the language choice: plain HTTP, since only a response can set a cookie.</summary>
public static class SessionEndpoints
{
    public static IEndpointRouteBuilder MapSessionEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/signout", SignOutAsync).ExcludeFromDescription();
        app.MapGet("/culture", SetCulture).ExcludeFromDescription();
        return app;
    }

    /// <summary>
    /// Signs the browser in with Identity's answer: the tokens go into the server-side ticket, the cookie gets its key
    /// only. False when the access token does not check out (then nobody is signed in).
    /// </summary>
    public static async Task<bool> SignInAsync(HttpContext http, TokenAnswer tokens)
    {
        if (await http.RequestServices.GetRequiredService<AccessTokenCheck>().PrincipalOfAsync(tokens) is not { } principal)
        {
            return false;
        }
        var properties = new AuthenticationProperties { IsPersistent = false };
        ConsoleTokens.Keep(properties, tokens);
        await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal, properties);
        return true;
    }

    /// <summary>Ends the Identity session (its refresh tokens stop working), then the browser's. A form post with an antiforgery token only.</summary>
    private static async Task<IResult> SignOutAsync(HttpContext http, IAntiforgery antiforgery, ConsoleTokens tokens, IHttpClientFactory clients,
        Forwarding.ServiceAddresses addresses, CancellationToken cancellationToken)
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return Results.Problem("The form did not come from this console.", statusCode: StatusCodes.Status400BadRequest, title: "Bad request");
        }
        if (http.User.FindFirst(BrowserSessionStore.SessionKeyClaim)?.Value is { } key
            && await tokens.CurrentAccessTokenAsync(key) is { } access && addresses.Of("identity") is { } identity)
        {
            using var client = clients.CreateClient(ConsoleApi.ClientName);
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{identity}/api/auth/logout");
            request.Headers.Authorization = new("Bearer", access);
            try
            {
                using var _ = await client.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException)
            {
                // The browser session ends anyway; Identity's ends with its refresh token's lifetime.
            }
        }
        await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Results.LocalRedirect("/signin");
    }

    /// <summary>Remembers the language in a cookie and goes back to the page.</summary>
    private static IResult SetCulture(HttpContext http, string? culture, string? returnUrl)
    {
        if (culture is not null && ConsoleCultures.Supported.Contains(culture, StringComparer.Ordinal))
        {
            http.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
                CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
                new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, MaxAge = TimeSpan.FromDays(365), IsEssential = true });
        }
        return Results.LocalRedirect(returnUrl is { Length: > 0 } && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal) ? returnUrl : "/");
    }
}
