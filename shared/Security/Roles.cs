using System.Collections.Frozen;

namespace ThinkWatch.Security;

/// <summary>What a role may do. Other services check these names in tokens and principals.</summary>
public static class Permissions
{
    public const string UsersRead = "users:read";
    public const string UsersManage = "users:manage";
    public const string TeamsRead = "teams:read";
    public const string TeamsManage = "teams:manage";
    public const string KeysCreate = "keys:create";
    public const string KeysRead = "keys:read";
    public const string KeysManage = "keys:manage";
    public const string ProvidersRead = "providers:read";
    public const string ProvidersManage = "providers:manage";
    public const string ModelsRead = "models:read";
    public const string LimitsRead = "limits:read";
    public const string LimitsManage = "limits:manage";
    public const string McpConnect = "mcp:connect";
    public const string McpManage = "mcp:manage";
    public const string LogsRead = "logs:read";
    public const string AnalyticsRead = "analytics:read";
    public const string SettingsManage = "settings:manage";

    public static IReadOnlyList<string> All { get; } =
    [
        UsersRead, UsersManage, TeamsRead, TeamsManage, KeysCreate, KeysRead, KeysManage,
        ProvidersRead, ProvidersManage, ModelsRead, LimitsRead, LimitsManage,
        McpConnect, McpManage, LogsRead, AnalyticsRead, SettingsManage,
    ];
}

/// <summary>
/// The five roles and their fixed permission matrix. Scope is enforced where the data is:
/// team managers act only on their teams, developers only on their own keys.
/// </summary>
public static class Roles
{
    public const string SuperAdmin = "super_admin";
    public const string Admin = "admin";
    public const string TeamManager = "team_manager";
    public const string Developer = "developer";
    public const string Viewer = "viewer";

    public static IReadOnlyList<string> All { get; } = [SuperAdmin, Admin, TeamManager, Developer, Viewer];

    private static readonly FrozenDictionary<string, FrozenSet<string>> Matrix = new Dictionary<string, FrozenSet<string>>
    {
        [SuperAdmin] = Permissions.All.ToFrozenSet(),
        [Admin] = Permissions.All.Except([Permissions.SettingsManage]).ToFrozenSet(),
        [TeamManager] = new[]
        {
            Permissions.UsersRead, Permissions.TeamsRead, Permissions.TeamsManage, Permissions.KeysCreate, Permissions.KeysRead,
            Permissions.KeysManage, Permissions.ModelsRead, Permissions.LimitsRead, Permissions.McpConnect, Permissions.LogsRead,
            Permissions.AnalyticsRead,
        }.ToFrozenSet(),
        [Developer] = new[] { Permissions.KeysCreate, Permissions.KeysRead, Permissions.ModelsRead, Permissions.McpConnect, Permissions.AnalyticsRead }.ToFrozenSet(),
        [Viewer] = new[] { Permissions.ModelsRead, Permissions.AnalyticsRead }.ToFrozenSet(),
    }.ToFrozenDictionary();

    public static bool IsRole(string? role) => role is not null && Matrix.ContainsKey(role);

    public static IReadOnlySet<string> PermissionsOf(string role) =>
        Matrix.TryGetValue(role, out var permissions) ? permissions : throw new ArgumentException($"unknown role '{role}'", nameof(role));

    public static bool Has(string role, string permission) => Matrix.TryGetValue(role, out var p) && p.Contains(permission);

    /// <summary>Roles rank: an actor may only grant roles below its own (a super admin any).</summary>
    public static int Rank(string role) => role switch
    {
        SuperAdmin => 4,
        Admin => 3,
        TeamManager => 2,
        Developer => 1,
        Viewer => 0,
        _ => throw new ArgumentException($"unknown role '{role}'", nameof(role)),
    };
}
