namespace ThinkWatch.Testing;

/// <summary>
/// A RabbitMQ and a ClickHouse of one test fixture's own (infra/infra.sh on a data folder and ports
/// of their own), which its tests may stop and start again — fault tests — without disturbing the
/// shared test servers other test assemblies use at the same time. Data survives a stop.
/// </summary>
public sealed class PrivateInfra : IAsyncDisposable
{
    private const string Servers = "rabbitmq,clickhouse";

    private PrivateInfra()
    {
        DataDirectory = Path.Combine(Path.GetDirectoryName(TestInfrastructure.DataDirectory)!, "private-" + Guid.NewGuid().ToString("N")[..12]);
        RabbitMqPort = FreePortRun();
        ClickHousePort = FreePortRun(RabbitMqPort);
    }

    public string DataDirectory { get; }

    /// <summary>AMQP port; the broker also uses the next two (distribution, epmd).</summary>
    public int RabbitMqPort { get; }

    /// <summary>HTTP port; ClickHouse also uses the next two (native, interserver).</summary>
    public int ClickHousePort { get; }

    public string RabbitMqUri => $"amqp://guest:guest@127.0.0.1:{RabbitMqPort}/";

    public string ClickHouseConnectionString(string database) => $"Endpoint=http://127.0.0.1:{ClickHousePort};Database={database};Username=default;Password=";

    public static async Task<PrivateInfra> StartAsync()
    {
        await TestInfrastructure.EnsureStartedAsync(); // packages installed
        var infra = new PrivateInfra();
        await infra.RunAsync("up --no-install", Servers);
        return infra;
    }

    /// <summary>Starts one server ("rabbitmq" or "clickhouse") again and waits until it answers.</summary>
    public Task StartAsync(string server) => RunAsync("up --no-install", server);

    /// <summary>Stops one server (the processes the script started for this folder, by PID).</summary>
    public Task StopAsync(string server) => RunAsync("down", server);

    private async Task RunAsync(string command, string only)
    {
        // Postgres and Redis are never started here; their ports only satisfy the script's arguments.
        var (exit, output) = await TestInfrastructure.RunScriptAsync(command, DataDirectory, 1, 1, RabbitMqPort, ClickHousePort, only);
        if (exit != 0)
        {
            throw new InvalidOperationException($"infra/infra.sh {command} --only {only} failed ({exit}):\n{output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await TestInfrastructure.RunScriptAsync("down", DataDirectory, 1, 1, RabbitMqPort, ClickHousePort, Servers);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // a server's last write raced the delete; the folder is under the test data folder anyway
        }
    }

    /// <summary>
    /// A port with its two neighbours free on loopback, between the fixed ports of the test and
    /// bench servers and the ephemeral range (so no outgoing connection takes it meanwhile).
    /// </summary>
    private static int FreePortRun(int avoid = 0)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(29_000, 32_700);
            if (Math.Abs(port - avoid) > 3 && Enumerable.Range(port, 3).All(LoopbackPorts.IsFree))
            {
                return port;
            }
        }
        throw new InvalidOperationException("no three free consecutive ports between 29000 and 32700");
    }
}
