using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using ThinkWatch.AppHost.Local;

namespace ThinkWatch.AppHost.Publish;

/// <summary>
/// Reads Aspire's app model (the one Program.cs declares and `run` starts) in publish mode and gives the publishers
/// the same system in deployment terms: no second model. Environment callbacks are run as a publisher would: a value
/// that is a connection string or a peer's endpoint becomes a reference, a parameter a secret variable, another
/// endpoint (a public URL) an endpoint variable; local-only settings are not emitted outside run mode.
/// </summary>
public static class AspireModelReader
{
    public static async Task<DeploymentModel> ReadAsync(DistributedApplicationModel model, DistributedApplicationExecutionContext executionContext, CancellationToken cancellationToken)
    {
        var map = new Dictionary<IResource, IDeploymentResource>();
        var resources = new List<IDeploymentResource>();
        T Add<T>(IResource source, T target) where T : IDeploymentResource
        {
            map[source] = target;
            resources.Add(target);
            return target;
        }

        foreach (var server in model.Resources.OfType<LocalServerResource>())
        {
            Add<InfraServer>(server, server switch
            {
                LocalPostgresServerResource s => new PostgresServer(s.Name, s.Port),
                LocalRedisResource s => new RedisServer(s.Name, s.Port),
                LocalRabbitMqResource s => new RabbitMqServer(s.Name, s.Port),
                LocalClickHouseResource s => new ClickHouseServer(s.Name, s.Port, s.Database),
                _ => throw new NotSupportedException($"No deployment for server {server.Name} ({server.GetType().Name})"),
            });
        }
        foreach (var database in model.Resources.OfType<LocalPostgresDatabaseResource>())
        {
            var server = (PostgresServer)map[database.Parent];
            server.Databases.Add(Add(database, new PostgresDatabase(database.Name, server, database.DatabaseName)));
        }

        var repository = LocalOptions.FindRepositoryRoot();
        var projects = model.Resources.OfType<ProjectResource>().ToList();
        foreach (var project in projects)
        {
            var path = project.GetProjectMetadata().ProjectPath;
            var target = Add(project, new ServiceProject(project.Name, Path.GetRelativePath(repository, path)));
            var endpoints = project.Annotations.OfType<EndpointAnnotation>().ToList();
            for (var i = 0; i < endpoints.Count; i++)
            {
                var e = endpoints[i];
                target.Endpoints.Add(new ServiceEndpoint(e.Name, e.Port ?? 0, e.Transport == "http2" ? EndpointProtocol.Http2 : EndpointProtocol.Http1,
                    e.IsExternal, 8080 + i));
            }
            if (project.TryGetLastAnnotation<ReplicaAnnotation>(out var replicas))
            {
                target.Replicas = replicas.Replicas;
            }
        }

        foreach (var project in projects)
        {
            var target = (ServiceProject)map[project];
            var environment = new Dictionary<string, object>(StringComparer.Ordinal);
            var context = new EnvironmentCallbackContext(executionContext, project, environment, cancellationToken);
            foreach (var callback in project.Annotations.OfType<EnvironmentCallbackAnnotation>())
            {
                await callback.Callback(context);
            }
            foreach (var (name, value) in environment.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                switch (value)
                {
                    case ConnectionStringReference connection when map.TryGetValue(connection.Resource, out var referenced):
                        AddOnce(target.References, referenced);
                        break;
                    case IResourceWithConnectionString connection when map.TryGetValue(connection, out var referenced):
                        AddOnce(target.References, referenced);
                        break;
                    case EndpointReference endpoint when name.StartsWith("services__", StringComparison.Ordinal) && map.TryGetValue(endpoint.Resource, out var peer):
                        AddOnce(target.References, peer);
                        break;
                    case EndpointReference endpoint when map.TryGetValue(endpoint.Resource, out var owner) && owner is ServiceProject service:
                        target.EndpointEnvironment[name] = new ServiceEndpointReference(service, endpoint.EndpointName);
                        break;
                    case ParameterResource parameter:
                        if (!map.TryGetValue(parameter, out var secret))
                        {
                            secret = Add(parameter, new SecretParameter(parameter.Name));
                        }
                        target.SecretEnvironment[name] = (SecretParameter)secret;
                        break;
                }
            }
            foreach (var wait in project.Annotations.OfType<WaitAnnotation>())
            {
                if (map.TryGetValue(wait.Resource, out var waited))
                {
                    AddOnce(target.WaitsFor, waited);
                }
            }
        }
        return new DeploymentModel(resources);
    }

    private static void AddOnce(List<IDeploymentResource> list, IDeploymentResource item)
    {
        if (!list.Contains(item))
        {
            list.Add(item);
        }
    }
}
