using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ThinkWatch.Security;

/// <summary>
/// The vault's keys: secrets by version (`Vault:Keys:1`, `Vault:Keys:2`, …) and which one new
/// writes use (`Vault:CurrentKeyVersion`). Old versions stay readable, so a key can be
/// rotated by adding a version and re-encrypting at leisure.
/// </summary>
public sealed class VaultOptions
{
    public const string Section = "Vault";

    public Dictionary<string, string> Keys { get; set; } = [];

    public int CurrentKeyVersion { get; set; } = 1;
}

public sealed class VaultOptionsValidator : IValidateOptions<VaultOptions>
{
    public ValidateOptionsResult Validate(string? name, VaultOptions options)
    {
        if (!options.Keys.ContainsKey(options.CurrentKeyVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            return ValidateOptionsResult.Fail(
                $"Vault:Keys:{options.CurrentKeyVersion} is not set: provider credentials cannot be stored without an encryption key (generate one with `openssl rand -base64 48`).");
        }
        var problems = options.Keys
            .Where(k => !int.TryParse(k.Key, out _) || SecretStrength.Problem(k.Value, $"Vault:Keys:{k.Key}") is not null)
            .Select(k => SecretStrength.Problem(k.Value, $"Vault:Keys:{k.Key}") ?? $"Vault:Keys:{k.Key}: versions are integers.")
            .ToList();
        return problems.Count > 0 ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
    }
}

/// <summary>
/// AES-256-GCM with per-version keys derived by HKDF-SHA256 from the configured secrets: how every
/// service stores the secrets it must be able to use again (provider keys, webhook signing secrets,
/// users' upstream credentials).
/// </summary>
public sealed class SecretBox
{
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private readonly Dictionary<int, byte[]> _keys;

    public SecretBox(IOptions<VaultOptions> options)
    {
        _keys = options.Value.Keys.ToDictionary(
            k => int.Parse(k.Key, System.Globalization.CultureInfo.InvariantCulture),
            k => HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(k.Value), 32, info: "thinkwatch-vault"u8.ToArray()));
        CurrentVersion = options.Value.CurrentKeyVersion;
    }

    public int CurrentVersion { get; }

    /// <summary>Encrypts with the current key; <paramref name="associatedData"/> (the row's id) must match at decryption.</summary>
    public byte[] Seal(string plaintext, ReadOnlySpan<byte> associatedData)
    {
        var input = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceBytes + TagBytes + input.Length];
        var nonce = output.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_keys[CurrentVersion], TagBytes);
        aes.Encrypt(nonce, input, output.AsSpan(NonceBytes + TagBytes), output.AsSpan(NonceBytes, TagBytes), associatedData);
        CryptographicOperations.ZeroMemory(input);
        return output;
    }

    /// <summary>Throws <see cref="CryptographicException"/> when the data, the id or the key version does not match.</summary>
    public string Open(byte[] sealedData, int version, ReadOnlySpan<byte> associatedData)
    {
        if (!_keys.TryGetValue(version, out var key))
        {
            throw new CryptographicException($"Vault key version {version} is not configured.");
        }
        if (sealedData.Length < NonceBytes + TagBytes)
        {
            throw new CryptographicException("Sealed data is truncated.");
        }
        var plaintext = new byte[sealedData.Length - NonceBytes - TagBytes];
        using var aes = new AesGcm(key, TagBytes);
        aes.Decrypt(sealedData.AsSpan(0, NonceBytes), sealedData.AsSpan(NonceBytes + TagBytes), sealedData.AsSpan(NonceBytes, TagBytes), plaintext, associatedData);
        return Encoding.UTF8.GetString(plaintext);
    }
}

public static class SecretBoxExtensions
{
    /// <summary>Registers <see cref="SecretBox"/> with Vault:Keys checked at start (no key, or a weak one, stops the service).</summary>
    public static IHostApplicationBuilder AddSecretBox(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<VaultOptions>().BindConfiguration(VaultOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<VaultOptions>, VaultOptionsValidator>();
        builder.Services.AddSingleton<SecretBox>();
        return builder;
    }
}
