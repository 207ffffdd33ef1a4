using System.Text.RegularExpressions;

namespace ThinkWatch.AppHost.Hosting;

/// <summary>How a context (a local run, a cluster, compose) reaches resources.</summary>
public interface IDeploymentContext
{
    InfraAddress AddressOf(InfraResource server);
    InfraCredentials Credentials { get; }
    /// <summary>The URL other services use to reach an endpoint.</summary>
    string UrlOf(ProjectResource project, EndpointAnnotation endpoint);
    /// <summary>The URL the service itself listens on.</summary>
    string BindUrlOf(ProjectResource project, EndpointAnnotation endpoint);
    /// <summary>Where people (browsers, OAuth redirects) reach an external endpoint; null where only the deployment's ingress knows.</summary>
    string? PublicUrlOf(ProjectResource project, EndpointAnnotation endpoint);
    /// <summary>The value of a secret parameter (the same for every service).</summary>
    string ValueOf(ParameterResource parameter);
}

public sealed partial class DistributedApplicationModel(IReadOnlyList<IResource> resources)
{
    public IReadOnlyList<IResource> Resources { get; } = resources;
    public IEnumerable<ProjectResource> Projects => Resources.OfType<ProjectResource>();
    public IEnumerable<InfraResource> InfraServers => Resources.OfType<InfraResource>();

    public T Get<T>(string name) where T : IResource =>
        Resources.OfType<T>().SingleOrDefault(r => r.Name == name) ?? throw new KeyNotFoundException($"No {typeof(T).Name} named '{name}' in the model.");

    /// <summary>Everything wrong with the model, as sentences; empty when it is sound.</summary>
    public IReadOnlyList<string> Validate(int portOffset = 0)
    {
        var errors = new List<string>();
        var known = new HashSet<IResource>(Resources, ReferenceEqualityComparer.Instance);

        foreach (var resource in Resources)
        {
            if (!DnsLabel().IsMatch(resource.Name))
            {
                errors.Add($"'{resource.Name}' is not a valid resource name (lowercase letters, digits and '-', at most 63, as Kubernetes requires).");
            }
        }
        foreach (var database in Resources.OfType<PostgresDatabaseResource>().Where(d => !known.Contains(d.Parent)))
        {
            errors.Add($"Database '{database.Name}' belongs to server '{database.Parent.Name}', which is not in the model.");
        }
        foreach (var project in Projects)
        {
            foreach (var reference in project.References.Where(r => !known.Contains(r)))
            {
                errors.Add($"{project.Name} references '{reference.Name}', which is not in the model.");
            }
            foreach (var parameter in project.SecretEnvironment.Values.Where(r => !known.Contains(r)))
            {
                errors.Add($"{project.Name} uses parameter '{parameter.Name}', which is not in the model.");
            }
            foreach (var (variable, reference) in project.EndpointEnvironment)
            {
                if (!known.Contains(reference.Resource))
                {
                    errors.Add($"{project.Name}'s {variable} names '{reference.Resource.Name}', which is not in the model.");
                }
                else if (reference.Resource.Endpoints.SingleOrDefault(e => e.Name == reference.EndpointName) is not { IsExternal: true })
                {
                    errors.Add($"{project.Name}'s {variable} names {reference.Resource.Name}'s endpoint '{reference.EndpointName}', which is not an external endpoint of it.");
                }
            }
            foreach (var dependency in project.WaitsFor.Where(r => !known.Contains(r)))
            {
                errors.Add($"{project.Name} waits for '{dependency.Name}', which is not in the model.");
            }
            if (!project.Endpoints.Any(e => e.Name == "http" && e.Protocol == EndpointProtocol.Http1))
            {
                errors.Add($"{project.Name} has no 'http' endpoint: health probes need one.");
            }
            if (project.Replicas < 1)
            {
                errors.Add($"{project.Name} must have at least one replica.");
            }
            if (project.References.Contains(project))
            {
                errors.Add($"{project.Name} references itself.");
            }
        }

        var owners = new Dictionary<int, string>();
        foreach (var (port, owner) in LocalPorts())
        {
            var actual = port + portOffset;
            if (actual is < 1 or > 65535)
            {
                errors.Add($"Port {actual} of {owner} is out of range (offset {portOffset}).");
            }
            else if (!owners.TryAdd(actual, owner))
            {
                errors.Add($"Port {actual} is used by both {owners[actual]} and {owner}.");
            }
        }

        if (FindWaitCycle() is { } cycle)
        {
            errors.Add("WaitFor forms a cycle: " + string.Join(" -> ", cycle));
        }
        return errors;
    }

    public IEnumerable<(int Port, string Owner)> LocalPorts()
    {
        foreach (var server in InfraServers)
        {
            foreach (var (port, purpose) in server.LocalPorts)
            {
                yield return (port, $"{server.Name} ({purpose})");
            }
        }
        foreach (var project in Projects)
        {
            foreach (var endpoint in project.Endpoints)
            {
                yield return (endpoint.Port, $"{project.Name} ({endpoint.Name})");
            }
        }
    }

    /// <summary>Projects grouped so that each group only waits for earlier groups; a group can start in parallel.</summary>
    public IReadOnlyList<IReadOnlyList<ProjectResource>> StartOrder()
    {
        var started = new HashSet<IResource>(InfraServers.Concat<IResource>(Resources.OfType<PostgresDatabaseResource>()), ReferenceEqualityComparer.Instance);
        var remaining = Projects.ToList();
        var layers = new List<IReadOnlyList<ProjectResource>>();
        while (remaining.Count > 0)
        {
            var layer = remaining.Where(p => p.WaitsFor.All(started.Contains)).ToList();
            if (layer.Count == 0)
            {
                throw new InvalidOperationException("WaitFor forms a cycle among: " + string.Join(", ", remaining.Select(p => p.Name)));
            }
            layers.Add(layer);
            layer.ForEach(p => { started.Add(p); remaining.Remove(p); });
        }
        return layers;
    }

    /// <summary>The environment contract of a service, the same Aspire would set.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentFor(ProjectResource project, IDeploymentContext context)
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
                case IResourceWithConnectionString connection:
                    env[$"ConnectionStrings__{connection.ConnectionName}"] =
                        connection.GetConnectionString(context.AddressOf(connection.Server), context.Credentials);
                    break;
                case ProjectResource other:
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
    public static bool IsSecretVariable(ProjectResource project, string name) =>
        name.StartsWith("ConnectionStrings__", StringComparison.Ordinal) || project.SecretEnvironment.ContainsKey(name);

    private List<string>? FindWaitCycle()
    {
        var state = new Dictionary<IResource, int>(ReferenceEqualityComparer.Instance);
        var path = new List<string>();
        foreach (var project in Projects)
        {
            if (Visit(project))
            {
                return path;
            }
        }
        return null;

        bool Visit(IResource node)
        {
            if (state.TryGetValue(node, out var s))
            {
                if (s == 1)
                {
                    path.Add(node.Name);
                    return true;
                }
                return false;
            }
            state[node] = 1;
            path.Add(node.Name);
            if (node is ProjectResource p && p.WaitsFor.Any(Visit))
            {
                return true;
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return false;
        }
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
