namespace ThinkWatch.AppHost.Hosting;

/// <summary>Fluent handle on a resource in the model, as in Aspire.</summary>
public interface IResourceBuilder<out T> where T : IResource
{
    DistributedApplicationBuilder ApplicationBuilder { get; }
    T Resource { get; }
}

internal sealed class ResourceBuilder<T>(DistributedApplicationBuilder app, T resource) : IResourceBuilder<T> where T : IResource
{
    public DistributedApplicationBuilder ApplicationBuilder { get; } = app;
    public T Resource { get; } = resource;
}

/// <summary>
/// The application model, declared in code with Aspire's vocabulary. Every verb
/// (run, publish, manifest) reads the same model.
/// </summary>
public sealed class DistributedApplicationBuilder
{
    private readonly List<IResource> _resources = [];

    private DistributedApplicationBuilder(string[] args) => Args = args;

    public string[] Args { get; }
    public IReadOnlyList<IResource> Resources => _resources;

    public static DistributedApplicationBuilder CreateBuilder(string[] args) => new(args);

    public IResourceBuilder<T> AddResource<T>(T resource) where T : IResource
    {
        if (_resources.Any(r => string.Equals(r.Name, resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' is already in the model.");
        }
        _resources.Add(resource);
        return new ResourceBuilder<T>(this, resource);
    }

    public IResourceBuilder<PostgresServerResource> AddPostgres(string name, int port) => AddResource(new PostgresServerResource(name, port));
    public IResourceBuilder<RedisResource> AddRedis(string name, int port) => AddResource(new RedisResource(name, port));
    public IResourceBuilder<RabbitMQServerResource> AddRabbitMQ(string name, int port) => AddResource(new RabbitMQServerResource(name, port));
    public IResourceBuilder<ClickHouseServerResource> AddClickHouse(string name, int port, string database) => AddResource(new ClickHouseServerResource(name, port, database));
    public IResourceBuilder<ProjectResource> AddProject(string name, string projectPath) => AddResource(new ProjectResource(name, projectPath));
    public IResourceBuilder<ParameterResource> AddParameter(string name) => AddResource(new ParameterResource(name));

    public DistributedApplication Build()
    {
        var model = new DistributedApplicationModel(_resources.ToList());
        var errors = model.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("The application model is invalid:\n  " + string.Join("\n  ", errors));
        }
        return new DistributedApplication(model, Args);
    }
}

public static class ResourceBuilderExtensions
{
    public static IResourceBuilder<PostgresDatabaseResource> AddDatabase(this IResourceBuilder<PostgresServerResource> server, string name, string? databaseName = null)
    {
        var database = new PostgresDatabaseResource(name, server.Resource, databaseName ?? name);
        server.Resource.Databases.Add(database);
        return server.ApplicationBuilder.AddResource(database);
    }

    public static IResourceBuilder<ProjectResource> WithHttpEndpoint(this IResourceBuilder<ProjectResource> project, int port, string name = "http", bool isExternal = false) =>
        project.WithEndpoint(new EndpointAnnotation(name, port, EndpointProtocol.Http1, isExternal, 8080 + project.Resource.Endpoints.Count));

    /// <summary>gRPC needs HTTP/2 without TLS (h2c), so it gets an endpoint of its own.</summary>
    public static IResourceBuilder<ProjectResource> WithGrpcEndpoint(this IResourceBuilder<ProjectResource> project, int port, string name = "grpc") =>
        project.WithEndpoint(new EndpointAnnotation(name, port, EndpointProtocol.Http2, false, 8080 + project.Resource.Endpoints.Count));

    private static IResourceBuilder<ProjectResource> WithEndpoint(this IResourceBuilder<ProjectResource> project, EndpointAnnotation endpoint)
    {
        if (project.Resource.Endpoints.Any(e => e.Name == endpoint.Name))
        {
            throw new InvalidOperationException($"{project.Resource.Name} already has an endpoint named '{endpoint.Name}'.");
        }
        project.Resource.Endpoints.Add(endpoint);
        return project;
    }

    /// <summary>A connection string (databases, caches, brokers) or a service's endpoints (services__name__endpoint__0).</summary>
    public static IResourceBuilder<ProjectResource> WithReference<T>(this IResourceBuilder<ProjectResource> project, IResourceBuilder<T> other) where T : IResource
    {
        if (other.Resource is not (IResourceWithConnectionString or ProjectResource))
        {
            throw new InvalidOperationException($"{other.Resource.Name} cannot be referenced: it has neither a connection string nor endpoints.");
        }
        if (!project.Resource.References.Contains(other.Resource))
        {
            project.Resource.References.Add(other.Resource);
        }
        return project;
    }

    /// <summary>Start only after <paramref name="other"/> is ready (servers answer, services report /health/ready).</summary>
    public static IResourceBuilder<ProjectResource> WaitFor<T>(this IResourceBuilder<ProjectResource> project, IResourceBuilder<T> other) where T : IResource
    {
        if (!project.Resource.WaitsFor.Contains(other.Resource))
        {
            project.Resource.WaitsFor.Add(other.Resource);
        }
        return project;
    }

    public static IResourceBuilder<ProjectResource> WithEnvironment(this IResourceBuilder<ProjectResource> project, string name, string value)
    {
        project.Resource.Environment[name] = value;
        return project;
    }

    public static EndpointReference GetEndpoint(this IResourceBuilder<ProjectResource> project, string name) => new(project.Resource, name);

    /// <summary>
    /// Where people reach <paramref name="endpoint"/> (an external one), as an environment variable: what a run really binds, after
    /// --port-offset and --listen. Left unset where only the deployment knows it (a cluster's ingress).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithEnvironment(this IResourceBuilder<ProjectResource> project, string name, EndpointReference endpoint)
    {
        project.Resource.EndpointEnvironment[name] = endpoint;
        return project;
    }

    /// <summary>A secret parameter's value as an environment variable (kept in a Secret when published).</summary>
    public static IResourceBuilder<ProjectResource> WithEnvironment(this IResourceBuilder<ProjectResource> project, string name, IResourceBuilder<ParameterResource> parameter)
    {
        project.Resource.SecretEnvironment[name] = parameter.Resource;
        return project;
    }

    public static IResourceBuilder<ProjectResource> WithReplicas(this IResourceBuilder<ProjectResource> project, int replicas)
    {
        project.Resource.Replicas = replicas;
        return project;
    }
}
