namespace ThinkWatch.AppHost.Publish;

/// <summary>How a context (a local run, a cluster, compose) reaches resources.</summary>
public interface IDeploymentContext
{
    InfraAddress AddressOf(InfraServer server);
    InfraCredentials Credentials { get; }
    /// <summary>The URL other services use to reach an endpoint.</summary>
    string UrlOf(ServiceProject project, ServiceEndpoint endpoint);
    /// <summary>The URL the service itself listens on.</summary>
    string BindUrlOf(ServiceProject project, ServiceEndpoint endpoint);
    /// <summary>Where people (browsers, OAuth redirects) reach an external endpoint; null where only the deployment's ingress knows.</summary>
    string? PublicUrlOf(ServiceProject project, ServiceEndpoint endpoint);
    /// <summary>The value of a secret parameter (the same for every service).</summary>
    string ValueOf(SecretParameter parameter);
}

/// <summary>
/// What the publishers read: the Aspire app model (Program.cs) translated into deployment terms — servers, databases,
/// services with their endpoints, references, waits and secret variables (<see cref="AspireModelReader"/>).
/// </summary>
public sealed class DeploymentModel(IReadOnlyList<IDeploymentResource> resources)
{
    public IReadOnlyList<IDeploymentResource> Resources { get; } = resources;
    public IEnumerable<ServiceProject> Projects => Resources.OfType<ServiceProject>();
    public IEnumerable<InfraServer> InfraServers => Resources.OfType<InfraServer>();

    public T Get<T>(string name) where T : IDeploymentResource =>
        Resources.OfType<T>().SingleOrDefault(r => r.Name == name) ?? throw new KeyNotFoundException($"No {typeof(T).Name} named '{name}' in the model.");

    /// <summary>The environment contract of a service, the same Aspire would set.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentFor(ServiceProject project, IDeploymentContext context)
    {
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["OTEL_SERVICE_NAME"] = project.Name,
        };
        foreach (var endpoint in project.Endpoints)
        {
            env[$"Kestrel__Endpoints__{endpoint.Name}__Url"] = context.BindUrlOf(project, endpoint);
            env[$"Kestrel__Endpoints__{endpoint.Name}__Protocols"] = endpoint.Protocol == EndpointProtocol.Http2 ? "Http2" : "Http1";
        }
        foreach (var reference in project.References)
        {
            switch (reference)
            {
                case IDeploymentConnection connection:
                    env[$"ConnectionStrings__{connection.ConnectionName}"] =
                        connection.GetConnectionString(context.AddressOf(connection.Server), context.Credentials);
                    break;
                case ServiceProject other:
                    foreach (var endpoint in other.Endpoints)
                    {
                        env[$"services__{other.Name}__{endpoint.Name}__0"] = context.UrlOf(other, endpoint);
                    }
                    break;
            }
        }
        foreach (var (key, reference) in project.EndpointEnvironment)
        {
            if (context.PublicUrlOf(reference.Resource, reference.Resource.Endpoints.Single(e => e.Name == reference.EndpointName)) is { } url)
            {
                env[key] = url;
            }
        }
        foreach (var (key, value) in project.Environment)
        {
            env[key] = value;
        }
        foreach (var (key, parameter) in project.SecretEnvironment)
        {
            env[key] = context.ValueOf(parameter);
        }
        return env;
    }

    /// <summary>Connection strings and secret parameters go to a Secret, never a ConfigMap or a log.</summary>
    public static bool IsSecretVariable(ServiceProject project, string name) =>
        name.StartsWith("ConnectionStrings__", StringComparison.Ordinal) || project.SecretEnvironment.ContainsKey(name);
}
