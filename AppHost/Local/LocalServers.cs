namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A backing server run as a plain process from Debian's packages (no Docker here): an Aspire
/// executable resource on a fixed loopback port (not proxied: the port is the server's own).
/// </summary>
public abstract class LocalServerResource(string name, string command, string workingDirectory, int port, string kind)
    : ExecutableResource(name, command, workingDirectory)
{
    /// <summary>The port the server listens on (127.0.0.1).</summary>
    public int Port { get; } = port;

    /// <summary>postgres, redis, rabbitmq or clickhouse: how the server is published (image, probes).</summary>
    public string Kind { get; } = kind;
}

/// <summary>PostgreSQL 15 with pgvector, run as the postgres user; databases are its children.</summary>
public sealed class LocalPostgresServerResource(string name, string workingDirectory, int port, ParameterResource password)
    : LocalServerResource(name, "setpriv", workingDirectory, port, "postgres")
{
    public ParameterResource Password { get; } = password;
    public Dictionary<string, string> Databases { get; } = new(StringComparer.Ordinal);
}

/// <summary>A database of a local Postgres server (created by the service that owns it, on first start).</summary>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, LocalPostgresServerResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresServerResource>, IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;
    public LocalPostgresServerResource Parent { get; } = parent;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host=127.0.0.1;Port={Parent.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)};Username=postgres;Password={Parent.Password};Database={DatabaseName}");
}

public sealed class LocalRedisResource(string name, string workingDirectory, int port)
    : LocalServerResource(name, "redis-server", workingDirectory, port, "redis"), IResourceWithConnectionString
{
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"127.0.0.1:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
}

/// <summary>RabbitMQ; loopback-only guest, as Debian's broker allows.</summary>
public sealed class LocalRabbitMqResource(string name, string workingDirectory, int port)
    : LocalServerResource(name, "/usr/lib/rabbitmq/bin/rabbitmq-server", workingDirectory, port, "rabbitmq"), IResourceWithConnectionString
{
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"amqp://guest:guest@127.0.0.1:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}/");
}

/// <summary>ClickHouse 18.16 (Debian's), HTTP interface only.</summary>
public sealed class LocalClickHouseResource(string name, string workingDirectory, int port, string database)
    : LocalServerResource(name, "clickhouse-server", workingDirectory, port, "clickhouse"), IResourceWithConnectionString
{
    public string Database { get; } = database;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Endpoint=http://127.0.0.1:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)};Database={Database};Username=default;Password=");
}
