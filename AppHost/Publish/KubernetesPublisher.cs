
namespace ThinkWatch.AppHost.Publish;

using Node = Dictionary<string, object?>;

/// <summary>
/// Values that differ between plain manifests (literals) and the Helm chart (template
/// expressions): the manifests are built once, by the same code, for both.
/// </summary>
internal interface IManifestValues
{
    InfraCredentials Credentials { get; }
    string Parameter(SecretParameter parameter);
    object Image(ServiceProject project);
    object Replicas(ServiceProject project);
    object ServiceType(ServiceProject project);
    object CpuRequest(ServiceProject project);
    object MemoryRequest(ServiceProject project);
    object MemoryLimit(ServiceProject project);
    object InfraImage(InfraServer server);
    object InfraStorage(InfraServer server);
    object ExternalHost(InfraServer server);
}

internal sealed class LiteralValues(PublishOptions options, InfraCredentials credentials) : IManifestValues
{
    private readonly Func<SecretParameter, string> _parameters = PublishOptions.GenerateParameters();
    public InfraCredentials Credentials { get; } = credentials;
    public string Parameter(SecretParameter parameter) => _parameters(parameter);
    public object Image(ServiceProject project) => options.ImageFor(project);
    public object Replicas(ServiceProject project) => project.Replicas;
    public object ServiceType(ServiceProject project) => "ClusterIP";
    public object CpuRequest(ServiceProject project) => "100m";
    public object MemoryRequest(ServiceProject project) => "256Mi";
    public object MemoryLimit(ServiceProject project) => "1Gi";
    public object InfraImage(InfraServer server) => InfraSpec.For(server).Image;
    public object InfraStorage(InfraServer server) => "10Gi";
    public object ExternalHost(InfraServer server) => $"{server.Name}.example.invalid";
}

internal sealed class HelmValues : IManifestValues
{
    public InfraCredentials Credentials { get; } = new(
        "postgres", "{{ .Values.infra.postgres.password }}", "thinkwatch", "{{ .Values.infra.rabbitmq.password }}",
        "{{ .Values.infra.redis.password }}", "default", "{{ .Values.infra.clickhouse.password }}");
    public string Parameter(SecretParameter parameter) => $"{{{{ .Values.secrets.{ValuesKey(parameter)} }}}}";
    /// <summary>"console-signing-key" → "consoleSigningKey": Helm paths cannot hold '-'.</summary>
    public static string ValuesKey(SecretParameter parameter) =>
        string.Concat(parameter.Name.Split('-').Select((part, i) => i == 0 ? part : char.ToUpperInvariant(part[0]) + part[1..]));
    public object Image(ServiceProject project) => $"{{{{ .Values.image.registry }}}}/{project.Name}:{{{{ .Values.image.tag }}}}";
    public object Replicas(ServiceProject project) => new Raw($"{{{{ .Values.services.{project.Name}.replicas }}}}");
    public object ServiceType(ServiceProject project) => $"{{{{ .Values.services.{project.Name}.serviceType }}}}";
    public object CpuRequest(ServiceProject project) => new Raw($"{{{{ .Values.services.{project.Name}.resources.requests.cpu | quote }}}}");
    public object MemoryRequest(ServiceProject project) => new Raw($"{{{{ .Values.services.{project.Name}.resources.requests.memory | quote }}}}");
    public object MemoryLimit(ServiceProject project) => new Raw($"{{{{ .Values.services.{project.Name}.resources.limits.memory | quote }}}}");
    public object InfraImage(InfraServer server) => $"{{{{ .Values.infra.{server.Name}.image }}}}";
    public object InfraStorage(InfraServer server) => new Raw($"{{{{ .Values.infra.{server.Name}.storage | quote }}}}");
    public object ExternalHost(InfraServer server) => $"{{{{ .Values.infra.{server.Name}.externalHost }}}}";
}

/// <summary>Deployments, Services, ConfigMaps and Secrets for every service; StatefulSets or ExternalName services for the infrastructure; a Helm chart of the same.</summary>
internal static class KubernetesPublisher
{
    public static List<string> Write(DeploymentModel model, PublishOptions options)
    {
        var files = new List<string>();
        var literal = new LiteralValues(options, PublishOptions.GenerateCredentials());
        var names = new List<string>();
        files.Add(Publisher.WriteFile(options.Output, "infra.yaml", Publisher.ToYaml(
            options.Infra == InfraMode.StatefulSet ? InfraStatefulSets(model, literal) : InfraExternal(model, literal))));
        names.Add("infra.yaml");
        foreach (var project in model.Projects)
        {
            files.Add(Publisher.WriteFile(options.Output, project.Name + ".yaml", Publisher.ToYaml(Project(model, project, literal))));
            names.Add(project.Name + ".yaml");
        }
        var kustomization = new Node { ["apiVersion"] = "kustomize.config.k8s.io/v1beta1", ["kind"] = "Kustomization" };
        if (options.Namespace is { } ns)
        {
            kustomization["namespace"] = ns;
        }
        kustomization["resources"] = names;
        files.Add(Publisher.WriteFile(options.Output, "kustomization.yaml", Publisher.ToYaml([kustomization])));
        files.AddRange(HelmChart.Write(model, options, Path.Combine(options.Output, "chart")));
        return files;
    }

    internal static Node Labels(string name) => new()
    {
        ["app.kubernetes.io/name"] = name,
        ["app.kubernetes.io/part-of"] = "thinkwatch",
    };

    private static Node Meta(string name, string? app = null) => new() { ["name"] = name, ["labels"] = Labels(app ?? name) };

    internal static IEnumerable<object> Project(DeploymentModel model, ServiceProject project, IManifestValues values)
    {
        var env = model.EnvironmentFor(project, new ClusterContext(values.Credentials, values.Parameter));
        var plain = env.Where(e => !DeploymentModel.IsSecretVariable(project, e.Key)).ToDictionary(e => e.Key, e => e.Value);
        var secret = env.Where(e => DeploymentModel.IsSecretVariable(project, e.Key)).ToDictionary(e => e.Key, e => e.Value);
        plain["ASPNETCORE_ENVIRONMENT"] = "Production";

        yield return new Node { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = Meta(project.Name + "-env", project.Name), ["data"] = plain };
        var envFrom = new List<object> { new Node { ["configMapRef"] = new Node { ["name"] = project.Name + "-env" } } };
        if (secret.Count > 0)
        {
            yield return new Node
            {
                ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = Meta(project.Name + "-connections", project.Name),
                ["type"] = "Opaque", ["stringData"] = secret,
            };
            envFrom.Add(new Node { ["secretRef"] = new Node { ["name"] = project.Name + "-connections" } });
        }

        var container = new Node
        {
            ["name"] = project.Name,
            ["image"] = values.Image(project),
            ["imagePullPolicy"] = "IfNotPresent",
            ["ports"] = project.Endpoints.Select(e => new Node { ["name"] = e.Name, ["containerPort"] = e.TargetPort, ["protocol"] = "TCP" }).ToList(),
            ["envFrom"] = envFrom,
            ["livenessProbe"] = new Node
            {
                ["httpGet"] = new Node { ["path"] = "/health/live", ["port"] = "http" },
                ["initialDelaySeconds"] = 5, ["periodSeconds"] = 10, ["failureThreshold"] = 3,
            },
            ["readinessProbe"] = new Node
            {
                ["httpGet"] = new Node { ["path"] = "/health/ready", ["port"] = "http" },
                ["periodSeconds"] = 5, ["failureThreshold"] = 3,
            },
            ["startupProbe"] = new Node
            {
                ["httpGet"] = new Node { ["path"] = "/health/live", ["port"] = "http" },
                ["periodSeconds"] = 2, ["failureThreshold"] = 60,
            },
            ["resources"] = new Node
            {
                ["requests"] = new Node { ["cpu"] = values.CpuRequest(project), ["memory"] = values.MemoryRequest(project) },
                ["limits"] = new Node { ["memory"] = values.MemoryLimit(project) },
            },
            ["securityContext"] = new Node
            {
                ["runAsNonRoot"] = true, ["allowPrivilegeEscalation"] = false,
                ["capabilities"] = new Node { ["drop"] = new List<string> { "ALL" } },
            },
        };
        yield return new Node
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = Meta(project.Name),
            ["spec"] = new Node
            {
                ["replicas"] = values.Replicas(project),
                ["selector"] = new Node { ["matchLabels"] = new Node { ["app.kubernetes.io/name"] = project.Name } },
                ["template"] = new Node
                {
                    ["metadata"] = new Node { ["labels"] = Labels(project.Name) },
                    ["spec"] = new Node { ["containers"] = new List<object> { container } },
                },
            },
        };
        yield return new Node
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = Meta(project.Name),
            ["spec"] = new Node
            {
                ["type"] = project.Endpoints.Any(e => e.IsExternal) ? values.ServiceType(project) : "ClusterIP",
                ["selector"] = new Node { ["app.kubernetes.io/name"] = project.Name },
                ["ports"] = project.Endpoints.Select(e => new Node { ["name"] = e.Name, ["port"] = e.TargetPort, ["targetPort"] = e.Name }).ToList(),
            },
        };
    }

    private static Node InfraSecret(IManifestValues values) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = Meta(InfraSpec.SecretName),
        ["type"] = "Opaque", ["stringData"] = InfraSpec.SecretValues(values.Credentials),
    };

    internal static IEnumerable<object> InfraStatefulSets(DeploymentModel model, IManifestValues values)
    {
        yield return InfraSecret(values);
        foreach (var server in model.InfraServers)
        {
            var spec = InfraSpec.For(server);
            var container = new Node
            {
                ["name"] = server.Name,
                ["image"] = values.InfraImage(server),
                ["ports"] = new List<object> { new Node { ["name"] = "main", ["containerPort"] = server.ContainerPort } },
                ["env"] = spec.Env.Select(e => e.SecretKey is null
                    ? new Node { ["name"] = e.Name, ["value"] = e.Value }
                    : new Node { ["name"] = e.Name, ["valueFrom"] = new Node { ["secretKeyRef"] = new Node { ["name"] = InfraSpec.SecretName, ["key"] = e.SecretKey } } }).ToList(),
                ["readinessProbe"] = new Node { ["exec"] = new Node { ["command"] = spec.ReadinessCommand.ToList() }, ["periodSeconds"] = 5 },
                ["volumeMounts"] = new List<object> { new Node { ["name"] = "data", ["mountPath"] = spec.DataPath } },
            };
            if (spec.Args.Count > 0)
            {
                container["args"] = spec.Args.ToList();
            }
            yield return new Node
            {
                ["apiVersion"] = "apps/v1",
                ["kind"] = "StatefulSet",
                ["metadata"] = Meta(server.Name),
                ["spec"] = new Node
                {
                    ["serviceName"] = server.Name,
                    ["replicas"] = 1,
                    ["selector"] = new Node { ["matchLabels"] = new Node { ["app.kubernetes.io/name"] = server.Name } },
                    ["template"] = new Node
                    {
                        ["metadata"] = new Node { ["labels"] = Labels(server.Name) },
                        ["spec"] = new Node { ["containers"] = new List<object> { container } },
                    },
                    ["volumeClaimTemplates"] = new List<object>
                    {
                        new Node
                        {
                            ["metadata"] = new Node { ["name"] = "data" },
                            ["spec"] = new Node
                            {
                                ["accessModes"] = new List<string> { "ReadWriteOnce" },
                                ["resources"] = new Node { ["requests"] = new Node { ["storage"] = values.InfraStorage(server) } },
                            },
                        },
                    },
                },
            };
            yield return new Node
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Service",
                ["metadata"] = Meta(server.Name),
                ["spec"] = new Node
                {
                    ["selector"] = new Node { ["app.kubernetes.io/name"] = server.Name },
                    ["ports"] = new List<object> { new Node { ["name"] = "main", ["port"] = server.ContainerPort, ["targetPort"] = "main" } },
                },
            };
        }
    }

    /// <summary>Managed or existing servers: an ExternalName service per server keeps the services' connection strings unchanged.</summary>
    internal static IEnumerable<object> InfraExternal(DeploymentModel model, IManifestValues values)
    {
        yield return InfraSecret(values);
        foreach (var server in model.InfraServers)
        {
            yield return new Node
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Service",
                ["metadata"] = Meta(server.Name),
                ["spec"] = new Node { ["type"] = "ExternalName", ["externalName"] = values.ExternalHost(server) },
            };
        }
    }
}
