using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace ThinkWatch.Console.Sessions;

/// <summary>
/// Browser sessions kept on the server: the cookie carries only a random key (encrypted by the cookie handler), the
/// ticket with Identity's access and refresh tokens stays here, so no token ever reaches the browser.
/// In memory: one console replica, sessions end when it restarts (people sign in again).
/// </summary>
public sealed class BrowserSessionStore(TimeProvider time, IOptions<ConsoleOptions> options) : ITicketStore
{
    /// <summary>
    /// The key of the ticket here, on the principal requests and circuits see (the cookie handler's own session-id
    /// claim is only on the cookie's ticket, not on the one it reads back from here).
    /// </summary>
    public const string SessionKeyClaim = "tw_session_key";

    private sealed record Entry(AuthenticationTicket Ticket, DateTimeOffset LastSeen);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    public Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        if (ticket.Principal.Identity is ClaimsIdentity identity)
        {
            identity.AddClaim(new Claim(SessionKeyClaim, key));
        }
        _entries[key] = new Entry(ticket, time.GetUtcNow());
        Sweep();
        return Task.FromResult(key);
    }

    public Task RenewAsync(string key, AuthenticationTicket ticket)
    {
        if (_entries.ContainsKey(key))
        {
            _entries[key] = new Entry(ticket, time.GetUtcNow());
        }
        return Task.CompletedTask;
    }

    public Task<AuthenticationTicket?> RetrieveAsync(string key)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            return Task.FromResult<AuthenticationTicket?>(null);
        }
        if (time.GetUtcNow() - entry.LastSeen > options.Value.SessionIdleTimeout)
        {
            Forget(key);
            return Task.FromResult<AuthenticationTicket?>(null);
        }
        _entries[key] = entry with { LastSeen = time.GetUtcNow() };
        return Task.FromResult<AuthenticationTicket?>(entry.Ticket);
    }

    public Task RemoveAsync(string key)
    {
        Forget(key);
        return Task.CompletedTask;
    }

    /// <summary>One refresh at a time per session: Identity treats a reused refresh token as theft and ends the session.</summary>
    public SemaphoreSlim LockOf(string key) => _locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));

    private void Forget(string key)
    {
        _entries.TryRemove(key, out _);
        _locks.TryRemove(key, out _);
    }

    private void Sweep()
    {
        var cutoff = time.GetUtcNow() - options.Value.SessionIdleTimeout;
        foreach (var (key, entry) in _entries)
        {
            if (entry.LastSeen < cutoff)
            {
                Forget(key);
            }
        }
    }
}

/// <summary>The cookie handler's settings: only a session key in an HttpOnly, SameSite=Strict cookie.</summary>
public sealed class BrowserCookieSetup(BrowserSessionStore store, IOptions<ConsoleOptions> console) : IPostConfigureOptions<CookieAuthenticationOptions>
{
    public const string CookieName = "tw_console";

    public void PostConfigure(string? name, CookieAuthenticationOptions options)
    {
        options.SessionStore = store;
        options.Cookie.Name = CookieName;
        options.Cookie.HttpOnly = true;
        options.Cookie.SameSite = SameSiteMode.Strict;
        // Secure whenever the console is served over https.
        options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.Cookie.IsEssential = true;
        options.ExpireTimeSpan = console.Value.SessionIdleTimeout;
        options.SlidingExpiration = true;
        options.LoginPath = "/signin";
        options.LogoutPath = "/signout";
        options.AccessDeniedPath = "/forbidden";
        options.ReturnUrlParameter = "returnUrl";
    }
}
