
namespace ThinkWatch.AppHost.Publish;

using Node = Dictionary<string, object?>;

/// <summary>The same manifests as a Helm chart: images, replicas, resources, service types and infrastructure in values.yaml.</summary>
internal static class HelmChart
{
    public static List<string> Write(DeploymentModel model, PublishOptions options, string directory)
    {
        var helm = new HelmValues();
        var templates = Path.Combine(directory, "templates");
        var files = new List<string>
        {
            Publisher.WriteFile(directory, "Chart.yaml", Publisher.ToYaml([new Node
            {
                ["apiVersion"] = "v2",
                ["name"] = "thinkwatch",
                ["description"] = "ThinkWatch: the control plane for AI and MCP traffic",
                ["type"] = "application",
                ["version"] = "0.1.0",
                ["appVersion"] = options.ImageTag,
            }])),
            Publisher.WriteFile(directory, "values.yaml", Publisher.ToYaml([Values(model, options)])),
        };

        var required = string.Concat(new[] { "postgres", "redis", "rabbitmq", "clickhouse" }
            .Select(s => $"{{{{- $_{s} := required \"set infra.{s}.password\" .Values.infra.{s}.password }}}}\n"))
            + string.Concat(model.Resources.OfType<SecretParameter>().Select(p => HelmValues.ValuesKey(p))
            .Select(k => $"{{{{- $_{k} := required \"set secrets.{k}\" .Values.secrets.{k} }}}}\n"));
        var infra = required
            + "{{- if eq .Values.infra.mode \"statefulset\" }}\n"
            + Publisher.ToYaml(KubernetesPublisher.InfraStatefulSets(model, helm))
            + "{{- else }}\n"
            + Publisher.ToYaml(KubernetesPublisher.InfraExternal(model, helm))
            + "{{- end }}\n";
        files.Add(Publisher.WriteFile(templates, "infra.yaml", infra));
        foreach (var project in model.Projects)
        {
            files.Add(Publisher.WriteFile(templates, project.Name + ".yaml", Publisher.ToYaml(KubernetesPublisher.Project(model, project, helm))));
        }
        return files;
    }

    private static Node Values(DeploymentModel model, PublishOptions options)
    {
        var literal = new LiteralValues(options, PublishOptions.GenerateCredentials());
        return new Node
        {
            ["image"] = new Node { ["registry"] = options.ImageRegistry, ["tag"] = options.ImageTag },
            // Required at install time (helm --set secrets.NAME=…); generate with `openssl rand -base64 48`.
            ["secrets"] = model.Resources.OfType<SecretParameter>().ToDictionary(HelmValues.ValuesKey, _ => (object?)""),
            ["services"] = model.Projects.ToDictionary(p => p.Name, p => (object?)new Node
            {
                ["replicas"] = p.Replicas,
                ["serviceType"] = literal.ServiceType(p),
                ["resources"] = new Node
                {
                    ["requests"] = new Node { ["cpu"] = literal.CpuRequest(p), ["memory"] = literal.MemoryRequest(p) },
                    ["limits"] = new Node { ["memory"] = literal.MemoryLimit(p) },
                },
            }),
            ["infra"] = new Node
            {
                // statefulset: run the servers in the cluster; external: point ExternalName services at managed ones.
                ["mode"] = options.Infra == InfraMode.StatefulSet ? "statefulset" : "external",
            }.Concat(model.InfraServers.Select(s => new KeyValuePair<string, object?>(s.Name, new Node
            {
                ["image"] = literal.InfraImage(s),
                ["storage"] = literal.InfraStorage(s),
                ["externalHost"] = literal.ExternalHost(s),
                // Required: `helm install --set infra.<name>.password=…` (never generated, so upgrades keep it).
                ["password"] = "",
            }))).ToDictionary(),
        };
    }
}
