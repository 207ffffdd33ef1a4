namespace ThinkWatch.AppHost.Hosting;

/// <summary>Anything in the application model: a server, a database, a service.</summary>
public interface IResource
{
    string Name { get; }
}

/// <summary>A resource a service reaches through ConnectionStrings__{ConnectionName}.</summary>
public interface IResourceWithConnectionString : IResource
{
    string ConnectionName => Name;
    InfraResource Server { get; }
    string GetConnectionString(InfraAddress address, InfraCredentials credentials);
}

/// <summary>
/// A generated secret shared by services (a signing key, an encryption key): a file under the
/// data folder for `run`, a random value in a Secret (or a required Helm value) when published.
/// </summary>
public sealed class ParameterResource(string name) : IResource
{
    public string Name { get; } = name;
}

public enum InfraKind { Postgres, Redis, RabbitMQ, ClickHouse }

/// <summary>Where an infrastructure server is reached in a given context (local run, cluster).</summary>
public sealed record InfraAddress(string Host, int Port);

/// <summary>Credentials for the infrastructure in a given context.</summary>
public sealed record InfraCredentials(
    string PostgresUser, string PostgresPassword,
    string RabbitUser, string RabbitPassword,
    string? RedisPassword,
    string ClickHouseUser, string ClickHousePassword);

/// <summary>A backing server (a local process under `run`, a StatefulSet or external service when published).</summary>
public abstract class InfraResource(string name, int port) : IResource
{
    public string Name { get; } = name;
    public int Port { get; } = port;
    public abstract InfraKind Kind { get; }
    /// <summary>The standard port inside a cluster or container.</summary>
    public abstract int ContainerPort { get; }
    /// <summary>Every local port the server occupies (some need more than one).</summary>
    public virtual IEnumerable<(int Port, string Purpose)> LocalPorts => [(Port, "main")];
}

public sealed class PostgresServerResource(string name, int port) : InfraResource(name, port)
{
    public override InfraKind Kind => InfraKind.Postgres;
    public override int ContainerPort => 5432;
    public List<PostgresDatabaseResource> Databases { get; } = [];
}

public sealed class PostgresDatabaseResource(string name, PostgresServerResource server, string databaseName) : IResourceWithConnectionString
{
    public string Name { get; } = name;
    public string DatabaseName { get; } = databaseName;
    public PostgresServerResource Parent { get; } = server;
    public InfraResource Server => Parent;

    public string GetConnectionString(InfraAddress address, InfraCredentials credentials) =>
        $"Host={address.Host};Port={address.Port};Username={credentials.PostgresUser};Password={credentials.PostgresPassword};Database={DatabaseName}";
}

public sealed class RedisResource(string name, int port) : InfraResource(name, port), IResourceWithConnectionString
{
    public override InfraKind Kind => InfraKind.Redis;
    public override int ContainerPort => 6379;
    public InfraResource Server => this;

    public string GetConnectionString(InfraAddress address, InfraCredentials credentials) =>
        credentials.RedisPassword is { Length: > 0 } password
            ? $"{address.Host}:{address.Port},password={password}"
            : $"{address.Host}:{address.Port}";
}

public sealed class RabbitMQServerResource(string name, int port) : InfraResource(name, port), IResourceWithConnectionString
{
    public override InfraKind Kind => InfraKind.RabbitMQ;
    public override int ContainerPort => 5672;
    public InfraResource Server => this;
    public override IEnumerable<(int Port, string Purpose)> LocalPorts =>
        [(Port, "amqp"), (Port + 1, "erlang distribution"), (Port + 2, "epmd")];

    public string GetConnectionString(InfraAddress address, InfraCredentials credentials) =>
        $"amqp://{Uri.EscapeDataString(credentials.RabbitUser)}:{Uri.EscapeDataString(credentials.RabbitPassword)}@{address.Host}:{address.Port}/";
}

public sealed class ClickHouseServerResource(string name, int port, string database) : InfraResource(name, port), IResourceWithConnectionString
{
    public override InfraKind Kind => InfraKind.ClickHouse;
    public override int ContainerPort => 8123;
    public string Database { get; } = database;
    public InfraResource Server => this;
    public override IEnumerable<(int Port, string Purpose)> LocalPorts =>
        [(Port, "http"), (Port + 1, "native"), (Port + 2, "interserver")];

    public string GetConnectionString(InfraAddress address, InfraCredentials credentials) =>
        $"Endpoint=http://{address.Host}:{address.Port};Database={Database};Username={credentials.ClickHouseUser};Password={credentials.ClickHousePassword}";
}

public enum EndpointProtocol { Http1, Http2 }

/// <summary>A named listening endpoint of a service. Port is the local one; TargetPort the one in a container.</summary>
public sealed record EndpointAnnotation(string Name, int Port, EndpointProtocol Protocol, bool IsExternal, int TargetPort);

/// <summary>A named endpoint of a service, as Aspire's GetEndpoint returns it.</summary>
public sealed record EndpointReference(ProjectResource Resource, string EndpointName);

/// <summary>A .NET service of this repository, run as a process or published as a Deployment.</summary>
public sealed class ProjectResource(string name, string projectPath) : IResource
{
    public string Name { get; } = name;
    /// <summary>Path of the .csproj, relative to the repository root.</summary>
    public string ProjectPath { get; } = projectPath;
    public List<EndpointAnnotation> Endpoints { get; } = [];
    public List<IResource> References { get; } = [];
    public List<IResource> WaitsFor { get; } = [];
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);
    /// <summary>Variables whose value is a service's address as people reach it (an origin links and OAuth redirects point at).</summary>
    public Dictionary<string, EndpointReference> EndpointEnvironment { get; } = new(StringComparer.Ordinal);
    /// <summary>Variables whose value is a secret parameter.</summary>
    public Dictionary<string, ParameterResource> SecretEnvironment { get; } = new(StringComparer.Ordinal);
    public int Replicas { get; set; } = 1;

    public string ProjectDirectory => Path.GetDirectoryName(ProjectPath)!;
    public string ProjectName => Path.GetFileNameWithoutExtension(ProjectPath);
}
