using System.Diagnostics;

namespace ThinkWatch.Testing;

/// <summary>
/// The real Postgres, Redis, RabbitMQ and ClickHouse for tests: started once per test run
/// by infra/infra.sh on ports and a data folder of their own (so they never collide with a
/// developer's running instance), shared by every test assembly (the script serialises
/// concurrent callers and is a no-op when already up). tests/run.sh stops them at the end.
/// </summary>
public static class TestInfrastructure
{
    private static readonly Dictionary<string, int> Ports = File.ReadLines(Path.Combine(Repository.Root, "tests", "test-infra.env"))
        .Select(l => l.Trim())
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .Select(l => l.Split('=', 2))
        .ToDictionary(kv => kv[0], kv => int.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture) + PortShift);

    /// <summary>THINKWATCH_TEST_PORTS_SHIFT=N moves the test infrastructure by N, for a second test run beside a first.</summary>
    private static int PortShift =>
        int.TryParse(Environment.GetEnvironmentVariable("THINKWATCH_TEST_PORTS_SHIFT"), System.Globalization.CultureInfo.InvariantCulture, out var shift) ? shift : 0;

    public static int PostgresPort { get; } = Ports["POSTGRES_PORT"];
    public static int RedisPort { get; } = Ports["REDIS_PORT"];
    public static int RabbitMqPort { get; } = Ports["RABBITMQ_PORT"];
    public static int ClickHousePort { get; } = Ports["CLICKHOUSE_PORT"];

    public static string DataDirectory { get; } =
        Environment.GetEnvironmentVariable("THINKWATCH_TEST_DATA") is { Length: > 0 } d ? d : "/tmp/thinkwatch-tests/infra";

    private static readonly Lazy<Task<InfraEndpoints>> Started = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    public static Task<InfraEndpoints> EnsureStartedAsync() => Started.Value;

    private static async Task<InfraEndpoints> StartAsync()
    {
        StraySignals.Watch(); // once per test host, with the infrastructure
        var result = await RunInfraAsync("up");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"infra/infra.sh up failed ({result.ExitCode}):\n{result.Output}");
        }
        var password = (await File.ReadAllTextAsync(Path.Combine(DataDirectory, "postgres.password"))).Trim();
        return new InfraEndpoints(password);
    }

    /// <summary>Runs infra/infra.sh against the shared test servers (their ports and data folder).</summary>
    public static Task<(int ExitCode, string Output)> RunInfraAsync(string command, string? only = null) =>
        RunScriptAsync(command, DataDirectory, PostgresPort, RedisPort, RabbitMqPort, ClickHousePort, only);

    /// <summary>A RabbitMQ virtual host of the caller's own on the shared broker (guest may use it), so its queues see only its own messages.</summary>
    public static async Task<string> CreateVirtualHostAsync(string name)
    {
        await EnsureStartedAsync();
        var (exit, output) = await RunScriptAsync("vhost-add " + name, DataDirectory, PostgresPort, RedisPort, RabbitMqPort, ClickHousePort, null);
        return exit == 0 ? name : throw new InvalidOperationException($"creating the virtual host {name} failed ({exit}):\n{output}");
    }

    public static Task DeleteVirtualHostAsync(string name) =>
        RunScriptAsync("vhost-delete " + name, DataDirectory, PostgresPort, RedisPort, RabbitMqPort, ClickHousePort, null);

    internal static async Task<(int ExitCode, string Output)> RunScriptAsync(string command, string data, int postgres, int redis, int rabbitMq, int clickHouse, string? only)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(Repository.Root, "infra", "infra.sh"));
        foreach (var word in command.Split(' '))
        {
            info.ArgumentList.Add(word);
        }
        foreach (var arg in new[]
                 {
                     "--data", data, "--postgres-port", $"{postgres}", "--redis-port", $"{redis}",
                     "--rabbitmq-port", $"{rabbitMq}", "--clickhouse-port", $"{clickHouse}",
                 })
        {
            info.ArgumentList.Add(arg);
        }
        if (only is not null)
        {
            info.ArgumentList.Add("--only");
            info.ArgumentList.Add(only);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>Connection strings to the test infrastructure; every test takes fresh database names.</summary>
public sealed record InfraEndpoints(string PostgresPassword)
{
    // Each takes an optional port so a test can point one dependency at a port nothing listens on.
    public string PostgresConnectionString(string database, int? port = null) =>
        $"Host=127.0.0.1;Port={port ?? TestInfrastructure.PostgresPort};Username=postgres;Password={PostgresPassword};Database={database};Pooling=true;Timeout=5";

    public string RedisConnectionString(int? port = null) => $"127.0.0.1:{port ?? TestInfrastructure.RedisPort},connectTimeout=2000";

    public string RabbitMqUri(int? port = null, string? virtualHost = null) =>
        $"amqp://guest:guest@127.0.0.1:{port ?? TestInfrastructure.RabbitMqPort}/{Uri.EscapeDataString(virtualHost ?? "")}";

    public string ClickHouseConnectionString(string database, int? port = null) =>
        $"Endpoint=http://127.0.0.1:{port ?? TestInfrastructure.ClickHousePort};Database={database};Username=default;Password=";

    /// <summary>A name no other test uses: lowercase, digits and '_', valid for Postgres and ClickHouse.</summary>
    public static string UniqueName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 17, 60)];
}
