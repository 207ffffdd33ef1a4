using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using ThinkWatch.AppHost.Local;

namespace Aspire.Hosting;

/// <summary>
/// PostgreSQL (+pgvector), Redis, RabbitMQ and ClickHouse as executable resources: Debian's server
/// binaries with the arguments infra/infra.sh uses, data under DATA/infra, each with a health check
/// that asks the server itself, so <c>WaitFor</c> means "answers". Before the first server starts,
/// <c>infra-setup</c> (infra/infra.sh prepare) installs missing packages, builds pgvector, runs
/// initdb and writes the config files; every server waits for it to complete.
/// </summary>
public static class LocalServerExtensions
{
    private const string SetupName = "infra-setup";

    public static IResourceBuilder<LocalPostgresServerResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name, int port = 15432)
    {
        var local = LocalOptions.For(builder);
        var password = builder.AddParameter(name + "-password", () => local.ReadOrCreateSecret(Path.Combine("infra", "postgres.password"), PostgresPassword), secret: true);
        var dir = Path.Combine(local.InfraDirectory, "postgres");
        var resource = new LocalPostgresServerResource(name, local.InfraDirectory, local.Shift(port), password.Resource);
        return builder.AddLocalServer(resource, local)
            // Postgres refuses root: setpriv execs it as postgres (signals reach postgres itself).
            .WithArgs("--reuid=postgres", "--regid=postgres", "--init-groups", "/usr/lib/postgresql/15/bin/postgres",
                "-D", Path.Combine(dir, "data"), "-c", "listen_addresses=127.0.0.1", "-p", Text(resource.Port), "-k", dir,
                "-c", "max_connections=300")
            .WithServerHealthCheck(async ct =>
            {
                var builder = new NpgsqlConnectionStringBuilder
                {
                    Host = "127.0.0.1", Port = resource.Port, Username = "postgres", Database = "postgres", Pooling = false, Timeout = 3,
                    Password = await resource.Password.GetValueAsync(ct),
                };
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(ct);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(ct);
            });
    }

    /// <summary>
    /// A database of the server: <c>ConnectionStrings__{name}</c> for whoever references it; ready when the server is.
    /// It gets no health check of its own: Aspire gives a child its ancestors' health checks (the server's
    /// <c>postgres_answers</c>). Adding the same key again made two health reports with one name, and Aspire's health
    /// monitor then fails on every round (duplicate key in <c>ContainsAnyHealthReportChange</c>, logged at Trace only):
    /// the database stayed Running but never Healthy, so every <c>WaitFor(db)</c> waited for ever.
    /// </summary>
    public static IResourceBuilder<LocalPostgresDatabaseResource> AddDatabase(this IResourceBuilder<LocalPostgresServerResource> server, string name, string? databaseName = null)
    {
        var database = new LocalPostgresDatabaseResource(name, databaseName ?? name, server.Resource);
        server.Resource.Databases[name] = database.DatabaseName;
        // Aspire hands a parent's state to its children only for containers: a database of an executable server is
        // marked running here once the server answers, and is healthy while the server is.
        server.ApplicationBuilder.Eventing.Subscribe<ResourceReadyEvent>(server.Resource, (@event, _) =>
            @event.Services.GetRequiredService<ResourceNotificationService>().PublishUpdateAsync(database, s => s with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = DateTime.UtcNow,
            }));
        return server.ApplicationBuilder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "PostgresDatabase",
                State = KnownResourceStates.Waiting,
                Properties = [new(CustomResourceKnownProperties.Source, server.Resource.Name)],
            });
    }

    public static IResourceBuilder<LocalRedisResource> AddLocalRedis(this IDistributedApplicationBuilder builder, string name, int port = 16379)
    {
        var local = LocalOptions.For(builder);
        var resource = new LocalRedisResource(name, local.InfraDirectory, local.Shift(port));
        return builder.AddLocalServer(resource, local)
            .WithArgs("--port", Text(resource.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", Path.Combine(local.InfraDirectory, "redis"))
            .WithServerHealthCheck(ct => ExpectAsync(resource.Port, "PING\r\n"u8.ToArray(), reply => reply.StartsWith("+PONG"u8), ct));
    }

    /// <summary>RabbitMQ (the slowest to boot, 5–20 s) and its own epmd: AMQP on port, distribution on port+1, epmd on port+2.</summary>
    public static IResourceBuilder<LocalRabbitMqResource> AddLocalRabbitMq(this IDistributedApplicationBuilder builder, string name, int port = 15672)
    {
        var local = LocalOptions.For(builder);
        var resource = new LocalRabbitMqResource(name, local.InfraDirectory, local.Shift(port));
        var dir = Path.Combine(local.InfraDirectory, "rabbitmq");
        var epmdPort = Text(resource.Port + 2);
        // Its own epmd in the foreground, so stopping the run stops it too (erl would daemonise one that outlives us).
        var epmd = builder.AddExecutable(name + "-epmd", "epmd", local.InfraDirectory, "-port", epmdPort, "-address", "127.0.0.1")
            .WithEndpoint(port: resource.Port + 2, targetPort: resource.Port + 2, scheme: "tcp", name: "epmd", isProxied: false)
            .WithParentRelationship(resource);
        if (local.IsRunMode)
        {
            epmd.WaitForCompletion(builder.LocalSetup(local));
        }
        return builder.AddLocalServer(resource, local)
            .WaitFor(epmd)
            .WithEnvironment("HOME", dir)
            .WithEnvironment("RABBITMQ_NODENAME", $"thinkwatch-{Text(resource.Port)}@localhost")
            .WithEnvironment("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .WithEnvironment("RABBITMQ_NODE_PORT", Text(resource.Port))
            .WithEnvironment("RABBITMQ_DIST_PORT", Text(resource.Port + 1))
            .WithEnvironment("RABBITMQ_MNESIA_BASE", Path.Combine(dir, "mnesia"))
            .WithEnvironment("RABBITMQ_LOG_BASE", Path.Combine(dir, "log"))
            .WithEnvironment("RABBITMQ_CONFIG_FILE", Path.Combine(dir, "rabbitmq"))
            .WithEnvironment("RABBITMQ_ENABLED_PLUGINS_FILE", Path.Combine(dir, "enabled_plugins"))
            .WithEnvironment("ERL_EPMD_PORT", epmdPort)
            .WithEnvironment("ERL_EPMD_ADDRESS", "127.0.0.1")
            .WithEnvironment("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none")
            // The AMQP protocol header answered by connection.start (a method frame, type 1): the broker accepts clients.
            .WithServerHealthCheck(ct => ExpectAsync(resource.Port, "AMQP\0\0\u0009\u0001"u8.ToArray(), reply => reply.Length > 0 && reply[0] == 1, ct));
    }

    /// <summary>ClickHouse: HTTP on port, native on port+1, interserver on port+2 (config written by infra-setup).</summary>
    public static IResourceBuilder<LocalClickHouseResource> AddLocalClickHouse(this IDistributedApplicationBuilder builder, string name, int port = 18123, string database = "thinkwatch")
    {
        var local = LocalOptions.For(builder);
        var resource = new LocalClickHouseResource(name, local.InfraDirectory, local.Shift(port), database);
        return builder.AddLocalServer(resource, local)
            .WithArgs($"--config-file={Path.Combine(local.InfraDirectory, "clickhouse", "config.xml")}")
            .WithServerHealthCheck(async ct =>
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
                var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{Text(resource.Port)}/ping"), ct);
                if (body.Trim() != "Ok.")
                {
                    throw new InvalidOperationException("ClickHouse answered /ping with " + body);
                }
            });
    }

    private static IResourceBuilder<T> AddLocalServer<T>(this IDistributedApplicationBuilder builder, T resource, LocalOptions local) where T : LocalServerResource
    {
        var server = builder.AddResource(resource)
            .WithEndpoint(port: resource.Port, targetPort: resource.Port, scheme: "tcp", name: "tcp", isProxied: false);
        if (local.IsRunMode)
        {
            server.WaitForCompletion(builder.LocalSetup(local));
        }
        return server;
    }

    /// <summary>infra/infra.sh prepare for the servers in the model (once, shared by all).</summary>
    private static IResourceBuilder<ExecutableResource> LocalSetup(this IDistributedApplicationBuilder builder, LocalOptions local)
    {
        if (builder.Resources.OfType<ExecutableResource>().SingleOrDefault(r => r.Name == SetupName) is { } existing)
        {
            return builder.CreateResourceBuilder(existing);
        }
        Directory.CreateDirectory(local.InfraDirectory);
        return builder.AddExecutable(SetupName, "bash", local.RepositoryRoot, Path.Combine(local.RepositoryRoot, "infra", "infra.sh"), "prepare")
            .WithArgs(context =>
            {
                var servers = builder.Resources.OfType<LocalServerResource>().ToList();
                context.Args.Add("--data");
                context.Args.Add(local.InfraDirectory);
                foreach (var server in servers)
                {
                    context.Args.Add($"--{server.Kind}-port");
                    context.Args.Add(Text(server.Port));
                }
                context.Args.Add("--only");
                context.Args.Add(string.Join(',', servers.Select(s => s.Kind)));
            });
    }

    private static IResourceBuilder<T> WithServerHealthCheck<T>(this IResourceBuilder<T> server, Func<CancellationToken, Task> probe) where T : LocalServerResource
    {
        var key = HealthCheckKey(server.Resource);
        server.ApplicationBuilder.Services.AddHealthChecks().AddAsyncCheck(key, async ct =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                await probe(timeout.Token);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is SocketException or IOException or HttpRequestException or NpgsqlException or InvalidOperationException or OperationCanceledException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy($"{server.Resource.Name} does not answer on 127.0.0.1:{Text(server.Resource.Port)}: {ex.Message}");
            }
        });
        return server.WithHealthCheck(key);
    }

    private static string HealthCheckKey(IResource server) => server.Name + "_answers";

    /// <summary>Connect, send <paramref name="request"/>, check the first bytes of the reply.</summary>
    private static async Task ExpectAsync(int port, byte[] request, Func<ReadOnlySpan<byte>, bool> expected, CancellationToken ct)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, ct);
        var stream = client.GetStream();
        await stream.WriteAsync(request, ct);
        var buffer = new byte[64];
        var read = await stream.ReadAsync(buffer, ct);
        if (!expected(buffer.AsSpan(0, read)))
        {
            throw new IOException($"unexpected answer on port {Text(port)}");
        }
    }

    /// <summary>As infra/infra.sh makes it: 24 random bytes, base64 without '/', '+' and '='.</summary>
    private static string PostgresPassword() =>
        Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).Replace("/", "", StringComparison.Ordinal)
            .Replace("+", "", StringComparison.Ordinal).Replace("=", "", StringComparison.Ordinal);

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
