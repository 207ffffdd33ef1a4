using System.Collections;
using System.Globalization;
using System.Resources;
using System.Text.RegularExpressions;
using ThinkWatch.Console.Components.Layout;
using ThinkWatch.Console.Localization;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.Console.Tests;

[TestFixture]
public sealed partial class LocalizationTests
{
    private static readonly ResourceManager Resources = new(typeof(Strings));

    private static Dictionary<string, string> Table(string culture) =>
        Resources.GetResourceSet(culture.Length == 0 ? CultureInfo.InvariantCulture : CultureInfo.GetCultureInfo(culture), true, tryParents: false)!
            .Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string)e.Value!);

    [Test]
    public void English_and_simplified_chinese_have_the_same_strings_and_none_is_empty()
    {
        var english = Table("");
        var chinese = Table("zh-Hans");

        Assert.That(chinese.Keys.Except(english.Keys), Is.Empty, "only in 简体中文");
        Assert.That(english.Keys.Except(chinese.Keys), Is.Empty, "missing in 简体中文");
        Assert.That(english.Where(e => string.IsNullOrWhiteSpace(e.Value)).Select(e => e.Key), Is.Empty);
        Assert.That(chinese.Where(e => string.IsNullOrWhiteSpace(e.Value)).Select(e => e.Key), Is.Empty);
        Assert.That(english.Keys.Where(k => english[k] == chinese[k] && !k.StartsWith("Brand", StringComparison.Ordinal)), Is.Empty,
            "a 简体中文 string equal to the English one was not translated");
    }

    [Test]
    public void Every_string_a_component_asks_for_exists()
    {
        var english = Table("");
        var used = Directory.EnumerateFiles(Path.Combine(Repository.Root, "services", "Console"), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".razor", StringComparison.Ordinal) || f.EndsWith(".cs", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => Key().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Concat(NavItems.All.Select(i => i.Label))
            // Keys built from values: every role and every key status the API reports.
            .Concat(Roles.All.Select(r => "Role." + r))
            .Concat(new[] { "active", "rotating", "rotated", "revoked", "expired", "inactive", "owner_disabled" }.Select(s => "Status." + s))
            .Where(k => !k.EndsWith('.'))
            .ToHashSet();

        Assert.That(used, Is.Not.Empty);
        Assert.That(used.Except(english.Keys), Is.Empty, "asked for but not in Strings.resx");
    }

    [GeneratedRegex("""L\["([A-Za-z_.]+)"[\],]""")]
    private static partial Regex Key();
}

[TestFixture]
public sealed class NavigationTests
{
    [TestCase(Roles.SuperAdmin, new[] { "keys" })]
    [TestCase(Roles.Developer, new[] { "keys" })]
    [TestCase(Roles.Viewer, new string[0])]
    [TestCase("nobody", new string[0])]
    public void The_navigation_offers_only_what_the_role_may_do(string role, string[] expected)
    {
        Assert.That(NavItems.For(role).Select(i => i.Key), Is.EqualTo(expected));
    }
}
