using System.Globalization;
using System.Security.Claims;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Mcp;

/// <summary>
/// Who is calling /mcp, from the request's principal: the user and role, and for a `tw-` key its
/// id, its allowed tools (null for a console token: no key narrows the role's grants), the account
/// label it is pinned to, and the subjects its rate limits and budgets count against.
/// </summary>
public sealed record McpCaller(string UserId, string Role, string? KeyId, IReadOnlyList<string>? KeyTools, string? PinnedLabel, IReadOnlyList<Subject> LimitSubjects)
{
    public static McpCaller From(ClaimsPrincipal? user)
    {
        var userId = user?.FindFirstValue(ConsoleClaims.UserId) ?? throw new InvalidOperationException("/mcp requires an authenticated caller");
        var keyId = user.FindFirstValue(McpClaims.KeyId);
        var subjects = user.FindAll(McpClaims.LimitSubject).Select(c => ParseSubject(c.Value)).ToList();
        if (subjects.Count == 0)
        {
            subjects.Add(new Subject { Kind = SubjectKind.User, Id = userId });
        }
        return new McpCaller(userId, user.FindFirstValue(ConsoleClaims.Role) ?? "", keyId,
            keyId is null ? null : [.. user.FindAll(McpClaims.AllowedTool).Select(c => c.Value)],
            user.FindFirstValue(McpClaims.AccountLabel), subjects);
    }

    public static string FormatSubject(Subject subject) => $"{(int)subject.Kind}:{subject.Id}";

    private static Subject ParseSubject(string value)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return new Subject { Kind = (SubjectKind)int.Parse(value.AsSpan(0, colon), CultureInfo.InvariantCulture), Id = value[(colon + 1)..] };
    }
}
