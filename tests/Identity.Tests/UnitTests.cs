using System.Security.Cryptography;
using System.Text;
using ThinkWatch.Security;
using ThinkWatch.Identity.Keys;
using ThinkWatch.Identity.Passwords;

namespace ThinkWatch.Identity.Tests;

[TestFixture]
public sealed class PasswordTests
{
    private readonly PasswordHasher _hasher = new(memoryKib: 8192, iterations: 1);

    [Test]
    public void Hashes_are_salted_argon2id_and_verify_only_the_right_password()
    {
        var a = _hasher.Hash("Correct-Horse-1");
        var b = _hasher.Hash("Correct-Horse-1");

        Assert.That(a, Does.StartWith("$argon2id$v=19$m=8192,t=1,p=1$"));
        Assert.That(a, Is.Not.EqualTo(b), "a fresh salt each time");
        Assert.That(_hasher.Verify("Correct-Horse-1", a), Is.True);
        Assert.That(_hasher.Verify("correct-Horse-1", a), Is.False);
        Assert.That(_hasher.Verify("", a), Is.False);
    }

    [TestCase("")]
    [TestCase("not a hash")]
    [TestCase("$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")]
    [TestCase("$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")]
    [TestCase("$argon2id$v=19$m=8192,t=1,p=1$!!!$aGFzaGhhc2hoYXNoaGFzaA")]
    public void Malformed_or_hostile_hashes_never_verify(string phc) =>
        Assert.That(_hasher.Verify("anything", phc), Is.False);

    [Test]
    public void Hashes_made_with_weaker_parameters_ask_for_a_rehash()
    {
        var weak = _hasher.Hash("Correct-Horse-1");
        var stronger = new PasswordHasher(memoryKib: 16384, iterations: 2);

        Assert.That(stronger.Verify("Correct-Horse-1", weak), Is.True, "old hashes keep working");
        Assert.That(stronger.NeedsRehash(weak), Is.True);
        Assert.That(_hasher.NeedsRehash(weak), Is.False);
    }

    [TestCase("Abcdefg1", 0)]
    [TestCase("Abcdef1", 1)]
    [TestCase("abcdefg1", 1)]
    [TestCase("ABCDEFG1", 1)]
    [TestCase("Abcdefgh", 1)]
    [TestCase("abc", 3)]
    [TestCase("", 1)]
    public void The_policy_names_every_broken_rule(string password, int problems) =>
        Assert.That(PasswordPolicy.Check(password), Has.Count.EqualTo(problems));
}

[TestFixture]
public sealed class RoleTests
{
    private static readonly (string Role, string Permission, bool Allowed)[] Table =
    [
        (Roles.SuperAdmin, Permissions.SettingsManage, true),
        (Roles.Admin, Permissions.SettingsManage, false),
        (Roles.Admin, Permissions.ProvidersManage, true),
        (Roles.Admin, Permissions.UsersManage, true),
        (Roles.TeamManager, Permissions.TeamsManage, true),
        (Roles.TeamManager, Permissions.UsersManage, false),
        (Roles.TeamManager, Permissions.ProvidersManage, false),
        (Roles.TeamManager, Permissions.LimitsManage, false),
        (Roles.Developer, Permissions.KeysCreate, true),
        (Roles.Developer, Permissions.McpConnect, true),
        (Roles.Developer, Permissions.KeysManage, false),
        (Roles.Developer, Permissions.LogsRead, false),
        (Roles.Viewer, Permissions.AnalyticsRead, true),
        (Roles.Viewer, Permissions.KeysCreate, false),
        (Roles.Viewer, Permissions.McpConnect, false),
    ];

    [Test]
    public void The_matrix_grants_and_withholds_as_documented()
    {
        Assert.Multiple(() =>
        {
            foreach (var (role, permission, allowed) in Table)
            {
                Assert.That(Roles.Has(role, permission), Is.EqualTo(allowed), $"{role} {permission}");
            }
        });
    }

    [Test]
    public void Each_role_holds_no_more_than_the_role_above_it()
    {
        var ordered = Roles.All.OrderByDescending(Roles.Rank).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            Assert.That(Roles.PermissionsOf(ordered[i]), Is.SubsetOf(Roles.PermissionsOf(ordered[i - 1])), ordered[i]);
        }
        Assert.That(Roles.PermissionsOf(Roles.SuperAdmin), Is.EquivalentTo(Permissions.All));
        Assert.That(Roles.IsRole("root"), Is.False);
        Assert.Throws<ArgumentException>(() => Roles.PermissionsOf("root"));
    }
}

[TestFixture]
public sealed class KeyMaterialTests
{
    [Test]
    public void Keys_are_prefixed_random_and_hashed_with_sha256()
    {
        var keys = Enumerable.Range(0, 1000).Select(_ => KeyMaterial.Generate()).ToList();

        Assert.That(keys, Is.Unique);
        Assert.That(keys, Is.All.Match("^tw-[0-9A-Za-z]{44}$"));
        Assert.That(keys.All(KeyMaterial.LooksLikeKey), Is.True);
        Assert.That(KeyMaterial.Hash(keys[0]), Is.EqualTo(SHA256.HashData(Encoding.UTF8.GetBytes(keys[0]))));
        // Every character of the alphabet shows up: the draw is not biased to a subset.
        Assert.That(string.Concat(keys.Select(k => k[3..])).Distinct().Count(), Is.EqualTo(62));
    }

    [TestCase("sk-abc")]
    [TestCase("tw-short")]
    [TestCase("tw-!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")]
    [TestCase(null)]
    public void Other_strings_do_not_look_like_keys(string? value) =>
        Assert.That(KeyMaterial.LooksLikeKey(value), Is.False);
}
