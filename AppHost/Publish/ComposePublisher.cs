
namespace ThinkWatch.AppHost.Publish;

using Node = Dictionary<string, object?>;

/// <summary>A docker-compose.yaml for the same model, for machines with a Docker engine.</summary>
internal static class ComposePublisher
{
    public static List<string> Write(DeploymentModel model, PublishOptions options)
    {
        var credentials = PublishOptions.GenerateCredentials();
        var secrets = InfraSpec.SecretValues(credentials);
        var context = new ClusterContext(credentials, PublishOptions.GenerateParameters());
        var repo = Path.GetRelativePath(options.Output, ThinkWatch.AppHost.Local.LocalOptions.FindRepositoryRoot());
        var services = new Node();
        var volumes = new Node();

        foreach (var server in model.InfraServers)
        {
            var spec = InfraSpec.For(server);
            var service = new Node
            {
                ["image"] = spec.Image,
                ["environment"] = spec.Env.ToDictionary(e => e.Name, e => e.SecretKey is null ? e.Value : secrets[e.SecretKey]),
                ["volumes"] = new List<string> { $"{server.Name}-data:{spec.DataPath}" },
                ["healthcheck"] = new Node
                {
                    ["test"] = new List<string> { "CMD" }.Concat(spec.ReadinessCommand).ToList(),
                    ["interval"] = "5s", ["timeout"] = "5s", ["retries"] = 30,
                },
                ["restart"] = "unless-stopped",
            };
            if (spec.Args.Count > 0)
            {
                // Compose interpolates $(VAR) differently from Kubernetes: pass the value itself.
                service["command"] = spec.Args.Select(a => a.Replace("$(REDIS_PASSWORD)", secrets["redis-password"], StringComparison.Ordinal)).ToList();
            }
            services[server.Name] = service;
            volumes[server.Name + "-data"] = new Node();
        }

        foreach (var project in model.Projects)
        {
            var env = new SortedDictionary<string, string>(model.EnvironmentFor(project, context).ToDictionary(), StringComparer.Ordinal)
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            };
            var service = new Node
            {
                ["image"] = options.ImageFor(project),
                ["build"] = new Node
                {
                    ["context"] = repo,
                    ["dockerfile"] = "infra/docker/Dockerfile",
                    ["args"] = new Node { ["PROJECT"] = project.ProjectName },
                },
                ["environment"] = env,
                // Aspire's WaitFor(database) also waits for its server: both become one depends_on entry.
                ["depends_on"] = project.WaitsFor.GroupBy(w => w is PostgresDatabase db ? db.Parent.Name : w.Name).ToDictionary(
                    g => g.Key,
                    g => (object?)new Node { ["condition"] = g.First() is ServiceProject ? "service_started" : "service_healthy" }),
                ["restart"] = "unless-stopped",
            };
            var published = project.Endpoints.Where(e => e.IsExternal).Select(e => $"127.0.0.1:{e.Port}:{e.TargetPort}").ToList();
            if (published.Count > 0)
            {
                service["ports"] = published;
            }
            services[project.Name] = service;
        }

        var compose = new Node { ["name"] = "thinkwatch", ["services"] = services, ["volumes"] = volumes };
        return [Publisher.WriteFile(options.Output, "docker-compose.yaml", Publisher.ToYaml([compose]))];
    }
}
