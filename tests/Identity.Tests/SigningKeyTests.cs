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

    [Test]
    public void The_service_refuses_to_start_with_a_weak_signing_key()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:identitydb"] = "Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x",
            ["ConsoleAuth:SigningKey"] = "too-short",
            ["ConnectionStrings:rabbitmq"] = "amqp://guest:guest@127.0.0.1:1/",
        };
        using var host = new ThinkWatch.Testing.ServiceHost<IdentityOptions>(settings);

        var ex = Assert.Catch(() => host.CreateClient());

        Assert.That(ex!.ToString(), Does.Contain("ConsoleAuth:SigningKey must be at least 32 characters"));
    }
}
