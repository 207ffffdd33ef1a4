using System.Globalization;
using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using Aspire.Hosting;
using Microsoft.Extensions.Configuration;

namespace ThinkWatch.AppHost.Local;

/// <summary>
/// The options of a local run, from the AppHost's configuration (command line included):
/// <c>--data DIR</c> (default /var/lib/thinkwatch), <c>--port-offset N</c>, <c>--listen ADDR</c> (where the
/// gateway and the console bind; loopback by default).
/// </summary>
public sealed class LocalOptions
{
    public const string DefaultDataDirectory = "/var/lib/thinkwatch";
    private static readonly ConditionalWeakTable<IDistributedApplicationBuilder, LocalOptions> Cache = [];

    private LocalOptions(IConfiguration configuration, bool isRunMode)
    {
        IsRunMode = isRunMode;
        DataDirectory = Path.GetFullPath(configuration["data"] ?? DefaultDataDirectory);
        var offset = configuration["port-offset"] ?? "0";
        PortOffset = int.TryParse(offset, NumberStyles.Integer, CultureInfo.InvariantCulture, out var o)
            ? o : throw new ArgumentException($"--port-offset must be a whole number, not '{offset}'");
        Listen = configuration["listen"] ?? "127.0.0.1";
        if (!IPAddress.TryParse(Listen, out _))
        {
            throw new ArgumentException($"--listen must be an IP address, not '{Listen}'");
        }
    }

    public static LocalOptions For(IDistributedApplicationBuilder builder) =>
        Cache.GetValue(builder, b => new LocalOptions(b.Configuration, b.ExecutionContext.IsRunMode));

    public bool IsRunMode { get; }
    public string DataDirectory { get; }
    public int PortOffset { get; }
    public string Listen { get; }
    public string InfraDirectory => Path.Combine(DataDirectory, "infra");

    public int Shift(int port) => port + PortOffset;

    /// <summary>Where an external endpoint binds: localhost (both loopbacks) unless --listen names another address.</summary>
    public string BindHost => Listen is "127.0.0.1" ? "localhost" : Listen.Contains(':', StringComparison.Ordinal) ? $"[{Listen}]" : Listen;

    /// <summary>Where people reach an external endpoint (links, OAuth redirects): a wildcard binding is reached as localhost.</summary>
    public string PublicHost
    {
        get
        {
            var address = IPAddress.Parse(Listen);
            return address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "localhost"
                : Listen.Contains(':', StringComparison.Ordinal) ? $"[{Listen}]" : Listen;
        }
    }

    /// <summary>
    /// A secret generated once per data folder and kept in DATA/<paramref name="relativePath"/> (mode 600), so restarts
    /// keep sessions and encrypted data valid. Publishing never touches the data folder: it gets a fresh value.
    /// </summary>
    public string ReadOrCreateSecret(string relativePath, Func<string> generate)
    {
        if (!IsRunMode)
        {
            return generate();
        }
        var path = Path.Combine(DataDirectory, relativePath);
        if (!File.Exists(path))
        {
            var directory = Path.GetDirectoryName(path)!;
            Directory.CreateDirectory(directory);
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            try
            {
                using var writer = new StreamWriter(new FileStream(path, create));
                writer.Write(generate());
            }
            catch (IOException) when (File.Exists(path))
            {
                // Created meanwhile by someone else: theirs wins.
            }
        }
        return File.ReadAllText(path).Trim();
    }

    /// <summary>48 random bytes, base64: signing and encryption keys, tokens.</summary>
    public static string NewKey() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48));

    /// <summary>The repository this AppHost was built from (set at build time), or the nearest one above the binary.</summary>
    public string RepositoryRoot => FindRepositoryRoot();

    public static string FindRepositoryRoot()
    {
        var fromBuild = typeof(LocalOptions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "ThinkWatch.RepositoryRoot")?.Value;
        if (fromBuild is not null && File.Exists(Path.Combine(fromBuild, "ThinkWatch.slnx")))
        {
            return fromBuild;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ThinkWatch.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find the repository (ThinkWatch.slnx) above " + AppContext.BaseDirectory);
    }
}
