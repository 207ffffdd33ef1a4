using ThinkWatch.Identity.Setup;

namespace ThinkWatch.Identity.Auth;

public sealed record LoginRequest(string? Email, string? Password);

public sealed record RefreshRequest(string? RefreshToken);

/// <summary>A console session's tokens: a short-lived access token and a refresh token bound to the client's IP.</summary>
public sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, DateTimeOffset ExpiresAt, string RefreshToken, UserView User);

/// <summary>The signed-in user as the database has them now (role changes show at once).</summary>
public sealed record MeResponse(UserView User, IReadOnlyList<string> Permissions);
