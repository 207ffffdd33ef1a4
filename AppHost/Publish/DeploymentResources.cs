namespace ThinkWatch.AppHost.Publish;

/// <summary>Anything in the application model: a server, a database, a service.</summary>
public interface IDeploymentResource
{
    string Name { get; }
}

/// <summary>A resource a service reaches through ConnectionStrings__{ConnectionName}.</summary>
public interface IDeploymentConnection : IDeploymentResource
{
    string ConnectionName => Name;
    InfraServer Server { get; }
    string GetConnectionString(InfraAddress address, InfraCredentials credentials);
}

/// <summary>
/// A generated secret shared by services (a signing key, an encryption key): a file under the
/// data folder for `run`, a random value in a Secret (or a required Helm value) when published.
/// </summary>
public sealed class SecretParameter(string name) : IDeploymentResource
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
public abstract class InfraServer(string name, int port) : IDeploymentResource
{
    public string Name { get; } = name;
    public int Port { get; } = port;
    public abstract InfraKind Kind { get; }
    /// <summary>The standard port inside a cluster or container.</summary>
    public abstract int ContainerPort { get; }
}

public sealed class PostgresServer(string name, int port) : InfraServer(name, port)
{
    public override InfraKind Kind => InfraKind.Postgres;
    public override int ContainerPort => 5432;
    public List<PostgresDatabase> Databases { get; } = [];
}

public sealed class PostgresDatabase(string name, PostgresServer server, string databaseName) : IDeploymentConnection
{
    public string Name { get; } = name;
    public string DatabaseName { get; } = databaseName;
    public PostgresServer Parent { get; } = server;
    public InfraServer Server => Parent;

    public string GetConnectionString(InfraAddress address, InfraCredentials credentials) =>
        $"Host={address.Host};Port={address.Port};Username={credentials.PostgresUser};Password={credentials.PostgresPassword};Database={DatabaseName}";
}

public sealed class RedisServer(string name, int port) : InfraServer(name, port), IDeploymentConnection
{
    public override InfraKind Kind => InfraKind.Redis;
    public override int ContainerPort => 6379;
    public InfraServer Server => this;

    public string GetConnectionString(InfraAddress address, InfraCredentials credentials) =>
        credentials.RedisPassword is { Length: > 0 } password
            ? $"{address.Host}:{address.Port},password={password}"
            : $"{address.Host}:{address.Port}";
}

public sealed class RabbitMqServer(string name, int port) : InfraServer(name, port), IDeploymentConnection
{
    public override InfraKind Kind => InfraKind.RabbitMQ;
    public override int ContainerPort => 5672;
    public InfraServer Server => this;

    public string GetConnectionString(InfraAddress address, InfraCredentials credentials) =>
        $"amqp://{Uri.EscapeDataString(credentials.RabbitUser)}:{Uri.EscapeDataString(credentials.RabbitPassword)}@{address.Host}:{address.Port}/";
}

public sealed class ClickHouseServer(string name, int port, string database) : InfraServer(name, port), IDeploymentConnection
{
    public override InfraKind Kind => InfraKind.ClickHouse;
    public override int ContainerPort => 8123;
    public string Database { get; } = database;
    public InfraServer Server => this;

    public string GetConnectionString(InfraAddress address, InfraCredentials credentials) =>
        $"Endpoint=http://{address.Host}:{address.Port};Database={Database};Username={credentials.ClickHouseUser};Password={credentials.ClickHousePassword}";
}

public enum EndpointProtocol { Http1, Http2 }

/// <summary>A named listening endpoint of a service. Port is the local one; TargetPort the one in a container.</summary>
public sealed record ServiceEndpoint(string Name, int Port, EndpointProtocol Protocol, bool IsExternal, int TargetPort);

/// <summary>A named endpoint of a service, as Aspire's GetEndpoint returns it.</summary>
public sealed record ServiceEndpointReference(ServiceProject Resource, string EndpointName);

/// <summary>A .NET service of this repository, run as a process or published as a Deployment.</summary>
public sealed class ServiceProject(string name, string projectPath) : IDeploymentResource
{
    public string Name { get; } = name;
    /// <summary>Path of the .csproj, relative to the repository root.</summary>
    public string ProjectPath { get; } = projectPath;
    public List<ServiceEndpoint> Endpoints { get; } = [];
    public List<IDeploymentResource> References { get; } = [];
    public List<IDeploymentResource> WaitsFor { get; } = [];
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);
    /// <summary>Variables whose value is a service's address as people reach it (an origin links and OAuth redirects point at).</summary>
    public Dictionary<string, ServiceEndpointReference> EndpointEnvironment { get; } = new(StringComparer.Ordinal);
    /// <summary>Variables whose value is a secret parameter.</summary>
    public Dictionary<string, SecretParameter> SecretEnvironment { get; } = new(StringComparer.Ordinal);
    public int Replicas { get; set; } = 1;

    public string ProjectDirectory => Path.GetDirectoryName(ProjectPath)!;
    public string ProjectName => Path.GetFileNameWithoutExtension(ProjectPath);
}
