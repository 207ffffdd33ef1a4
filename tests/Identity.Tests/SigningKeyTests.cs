using ThinkWatch.Security;

namespace ThinkWatch.Identity.Tests;

[TestFixture]
public sealed class SigningKeyTests
{
    [TestCase(null, "is not set")]
    [TestCase("short-but-random-Zx81", "at least 32")]
    [TestCase("changeme-changeme-changeme-changeme!", "placeholder")]
    [TestCase("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "predictable")]
    [TestCase("abcdefghijklmnopqrstuvwxyz0123456789ABCD", "predictable")]
    [TestCase("abababababababababababababababababababab", "predictable")]
    public void Weak_keys_are_refused_with_the_reason(string? key, string reason) =>
        Assert.That(SecretStrength.Problem(key, "ConsoleAuth:SigningKey"), Does.Contain(reason).And.Contain("openssl rand"));

    [Test]
    public void Random_keys_pass()
    {
        for (var i = 0; i < 200; i++)
        {
            var base64 = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            var hex = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            Assert.That(SecretStrength.Problem(base64, "k"), Is.Null, base64);
            Assert.That(SecretStrength.Problem(hex, "k"), Is.Null, hex);
        }
    }

    [TestCase("ConsoleAuth:SigningKey", "too-short", "ConsoleAuth:SigningKey must be at least 32 characters")]
    [TestCase("Vault:Keys:1", null, "Vault:Keys:1 is not set")]
    [TestCase("InternalAuth:Token", "", "InternalAuth:Token is not set")]
    [TestCase("Vault:Keys:1", "changeme-changeme-changeme-changeme!", "Vault:Keys:1 looks like a placeholder")]
    public void The_service_refuses_to_start_without_strong_secrets(string setting, string? value, string message)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:identitydb"] = "Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x",
            ["ConnectionStrings:rabbitmq"] = "amqp://guest:guest@127.0.0.1:1/",
            ["ConsoleAuth:SigningKey"] = IdentityHost.SigningKey,
            ["Vault:Keys:1"] = IdentityHost.VaultKey,
            ["InternalAuth:Token"] = IdentityHost.InternalToken,
        };
        settings[setting] = value;
        using var host = new ThinkWatch.Testing.ServiceHost<IdentityOptions>(settings);

        var ex = Assert.Catch(() => host.CreateClient());

        Assert.That(ex!.ToString(), Does.Contain(message));
    }
}
