using Microsoft.FluentUI.AspNetCore.Components;
using ThinkWatch.Security;
using Icons = Microsoft.FluentUI.AspNetCore.Components.Icons;

namespace ThinkWatch.Console.Components.Layout;

/// <summary>One navigation entry: shown when the role holds <see cref="Permission"/>. Each new page adds its line here.</summary>
public sealed record NavItem(string Key, string Href, string Label, string Permission, Icon Icon);

public static class NavItems
{
    public static IReadOnlyList<NavItem> All { get; } =
    [
        new("keys", "/keys", "Nav.Keys", Permissions.KeysRead, new Icons.Regular.Size20.Key()),
    ];

    public static IEnumerable<NavItem> For(string? role) =>
        Roles.IsRole(role) ? All.Where(i => Roles.Has(role!, i.Permission)) : [];
}
