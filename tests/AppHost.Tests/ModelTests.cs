using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using ThinkWatch.AppHost.Publish;

namespace ThinkWatch.AppHost.Tests;

/// <summary>Program.cs's app model as Aspire builds it: resources, waits, endpoints, ports, the environment a run gives.</summary>
[TestFixture]
public sealed class ModelTests
{
    private static readonly string[] Services = ["aigateway", "mcpgateway", "identity", "quota", "auditingest", "console"];
    private readonly Dictionary<string, Task<AspireModel>> _models = [];
    private string _data = null!;

    [OneTimeSetUp]
    public void CreateDataFolder() => _data = Directory.CreateTempSubdirectory("tw-model-").FullName;

    /// <summary>
    /// Built models are read, never changed, so tests share one per argument set. Disposing a testing app that was built
    /// but never started can take Aspire ~30 s; they are disposed together, once.
    /// </summary>
    [OneTimeTearDown]
    public async Task DisposeModels()
    {
        await Task.WhenAll(_models.Values.Select(async m => await (await m).DisposeAsync()));
        Directory.Delete(_data, recursive: true);
    }

    private Task<AspireModel> RunModelAsync(params string[] args)
    {
        var key = string.Join(' ', args);
        if (!_models.TryGetValue(key, out var model))
        {
            _models[key] = model = AspireModel.ForRunAsync(["--data", _data, .. args]);
        }
        return model;
    }

    [Test]
    public async Task The_model_holds_every_service_as_a_project_and_every_server_and_database()
    {
        var app = await RunModelAsync();

        Assert.That(app.Projects.Select(p => p.Name), Is.EquivalentTo(Services));
        Assert.That(app.Model.Resources.OfType<LocalServerResource>().Select(s => s.Kind), Is.EquivalentTo(new[] { "postgres", "redis", "rabbitmq", "clickhouse" }));
        Assert.That(app.Model.Resources.OfType<LocalPostgresDatabaseResource>().Select(d => d.Name),
            Is.EquivalentTo(new[] { "identitydb", "quotadb", "mcpgatewaydb", "aigatewaydb", "auditdb" }));
        Assert.That(app.Get<ProjectResource>("aigateway").Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == "http").Port, Is.EqualTo(3000));
        foreach (var project in app.Projects)
        {
            Assert.That(project.Annotations.OfType<HealthCheckAnnotation>(), Is.Not.Empty, $"{project.Name}: WaitFor it means /health/ready answered");
        }
    }

    [Test]
    public async Task Every_service_waits_for_what_it_connects_to_and_the_gateway_starts_last()
    {
        var app = await RunModelAsync();

        var waits = app.Projects.ToDictionary(p => p.Name,
            p => p.Annotations.OfType<WaitAnnotation>().Where(w => w.WaitType == WaitType.WaitUntilHealthy).Select(w => w.Resource).ToHashSet());
        foreach (var project in app.Projects)
        {
            foreach (var value in (await app.RawEnvironmentAsync(project)).Values)
            {
                var connection = value switch
                {
                    ConnectionStringReference c => c.Resource,
                    IResourceWithConnectionString c => c,
                    _ => null,
                };
                if (connection is not null)
                {
                    Assert.That(waits[project.Name], Does.Contain(connection), $"{project.Name} waits for {connection.Name}");
                }
            }
        }
        Assert.That(waits["mcpgateway"].OfType<ProjectResource>().Select(p => p.Name), Is.EquivalentTo(new[] { "identity", "quota" }));
        Assert.That(waits["aigateway"].OfType<ProjectResource>().Select(p => p.Name), Is.EquivalentTo(new[] { "identity", "quota", "mcpgateway" }));
        Assert.That(waits["console"].OfType<ProjectResource>().Select(p => p.Name), Is.EquivalentTo(new[] { "identity" }), "setup and sign-in need Identity only");

        // Start order: layers of the WaitFor graph between projects (no cycle), the public edge alone in the last one.
        var layers = new List<List<string>>();
        var placed = new HashSet<string>();
        while (placed.Count < Services.Length)
        {
            var layer = app.Projects.Where(p => !placed.Contains(p.Name) && waits[p.Name].OfType<ProjectResource>().All(d => placed.Contains(d.Name)))
                .Select(p => p.Name).ToList();
            Assert.That(layer, Is.Not.Empty, "WaitFor forms a cycle");
            layers.Add(layer);
            placed.UnionWith(layer);
        }
        Assert.That(layers[^1], Is.EqualTo(new[] { "aigateway" }));
    }

    [Test]
    public async Task Service_endpoints_are_served_by_the_services_themselves_and_only_the_gateway_and_console_are_external()
    {
        var app = await RunModelAsync();

        foreach (var project in app.Projects)
        {
            foreach (var endpoint in project.Annotations.OfType<EndpointAnnotation>())
            {
                var name = $"{project.Name}/{endpoint.Name}";
                Assert.That(endpoint.IsProxied, Is.False, $"{name}: no DCP proxy hop");
                Assert.That(endpoint.TargetPort, Is.EqualTo(endpoint.Port), name);
                var external = (project.Name, endpoint.Name) is ("aigateway", "http") or ("console", "http");
                Assert.That(endpoint.IsExternal, Is.EqualTo(external), name);
            }
        }
        Assert.That(app.Get<ProjectResource>("console").Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == "http").Port, Is.EqualTo(3001));
        Assert.That(app.Get<ProjectResource>("identity").Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == "grpc").Transport, Is.EqualTo("http2"));
    }

    [Test]
    public async Task Port_offset_shifts_every_port_of_every_service_and_server()
    {
        var plain = await RunModelAsync();
        var shifted = await RunModelAsync("--port-offset", "100");

        static IEnumerable<(string Name, int? Port)> Ports(AspireModel app) =>
            app.Projects.SelectMany(p => p.Annotations.OfType<EndpointAnnotation>().Select(e => ($"{p.Name}/{e.Name}", e.Port)))
                .Concat(app.Model.Resources.OfType<LocalServerResource>().Select(s => (s.Name, (int?)s.Port)))
                .OrderBy(x => x.Item1, StringComparer.Ordinal);

        var before = Ports(plain).ToList();
        Assert.That(before, Has.Count.EqualTo(12), "8 service endpoints and 4 servers");
        Assert.That(Ports(shifted).Select(p => p.Name), Is.EqualTo(before.Select(p => p.Name)));
        Assert.That(Ports(shifted).Select(p => p.Port), Is.EqualTo(before.Select(p => p.Port + 100)));
    }

    [Test]
    public async Task A_local_run_gives_each_service_its_connection_strings_and_peer_endpoints_shifted_by_the_offset()
    {
        var app = await RunModelAsync("--port-offset", "100");

        var gateway = await app.EnvironmentAsync(app.Get<ProjectResource>("aigateway"));
        var audit = await app.EnvironmentAsync(app.Get<ProjectResource>("auditingest"));

        Assert.That(gateway["Kestrel__Endpoints__http__Url"], Is.EqualTo("http://localhost:3100"));
        Assert.That(gateway["Kestrel__Endpoints__http__Protocols"], Is.EqualTo("Http1"));
        Assert.That(gateway["ConnectionStrings__aigatewaydb"], Does.Contain("Port=15532").And.Contain("Database=aigatewaydb"));
        Assert.That(gateway["services__identity__grpc__0"], Is.EqualTo("http://localhost:13211"));
        Assert.That(gateway["services__mcpgateway__http__0"], Is.EqualTo("http://localhost:13230"));
        Assert.That(gateway["Spool__Directory"], Is.EqualTo(Path.Combine(_data, "spool", "aigateway")));
        Assert.That(gateway.Keys, Has.None.Contains("quotadb").And.None.Contains("identitydb"), "a service sees only the databases it references");
        Assert.That(audit["ConnectionStrings__rabbitmq"], Is.EqualTo("amqp://guest:guest@127.0.0.1:15772/"));
        Assert.That(audit["ConnectionStrings__clickhouse"], Does.Contain("http://127.0.0.1:18223").And.Contain("Database=thinkwatch"));
        var quota = await app.EnvironmentAsync(app.Get<ProjectResource>("quota"));
        Assert.That(quota["Kestrel__Endpoints__grpc__Url"], Is.EqualTo("http://localhost:13221"));
        Assert.That(quota["Kestrel__Endpoints__grpc__Protocols"], Is.EqualTo("Http2"), "gRPC is h2c on an endpoint of its own");
    }

    [TestCase(0, "127.0.0.1", "http://127.0.0.1:3001")]
    [TestCase(100, "127.0.0.1", "http://127.0.0.1:3101")]
    [TestCase(7, "192.168.1.20", "http://192.168.1.20:3008")]
    [TestCase(100, "0.0.0.0", "http://localhost:3101")]
    [TestCase(100, "::", "http://localhost:3101")]
    [TestCase(1, "::1", "http://[::1]:3002")]
    public async Task A_local_run_tells_the_mcp_gateway_the_console_origin_it_really_serves(int offset, string listen, string console)
    {
        var app = await RunModelAsync("--port-offset", $"{offset}", "--listen", listen);

        var mcp = await app.EnvironmentAsync(app.Get<ProjectResource>("mcpgateway"));
        var consoleService = await app.EnvironmentAsync(app.Get<ProjectResource>("console"));

        // OAuth redirect URIs, authorize and connect links are built on it: a second copy under an offset must not send them to the first.
        Assert.That(mcp["McpGateway__ConsoleUrl"], Is.EqualTo(console));
        Assert.That(new Uri(mcp["McpGateway__ConsoleUrl"]).Port, Is.EqualTo(new Uri(consoleService["Kestrel__Endpoints__http__Url"]).Port),
            "the port the console listens on");
    }

    [Test]
    public async Task A_published_model_leaves_the_console_origin_to_the_operator()
    {
        await using var app = await AspireModel.ForPublishAsync();
        Assert.That(app.ExecutionContext.IsPublishMode, Is.True);
        var deployment = await app.ReadDeploymentAsync();
        var cluster = new ClusterContext(PublishOptions.GenerateCredentials(), PublishOptions.GenerateParameters());

        Assert.That(deployment.EnvironmentFor(deployment.Get<ServiceProject>("mcpgateway"), cluster).Keys, Has.None.EqualTo("McpGateway__ConsoleUrl"),
            "only the ingress knows the console's host; a loopback or in-cluster address would send users' browsers astray");
    }

    [Test]
    public async Task Secrets_are_secret_parameters_and_connection_strings_are_secret_variables()
    {
        var app = await RunModelAsync();

        foreach (var project in app.Projects)
        {
            var environment = await app.RawEnvironmentAsync(project);
            Assert.That(environment["ConsoleAuth__SigningKey"], Is.InstanceOf<ParameterResource>().With.Property(nameof(ParameterResource.Secret)).True, project.Name);
            if (project.Name == "console")
            {
                Assert.That(environment.Keys, Has.None.EqualTo("InternalAuth__Token"), "the console makes no internal calls: it uses the public APIs");
            }
            else
            {
                Assert.That(environment["InternalAuth__Token"], Is.InstanceOf<ParameterResource>().With.Property(nameof(ParameterResource.Secret)).True, project.Name);
            }
            if (environment.TryGetValue("Vault__Keys__1", out var vault))
            {
                Assert.That(vault, Is.InstanceOf<ParameterResource>().With.Property(nameof(ParameterResource.Secret)).True, project.Name);
            }
        }
        Assert.That(app.Model.Resources.OfType<ParameterResource>().Where(p => !p.Secret).Select(p => p.Name), Is.Empty, "every parameter is a secret");

        await using var published = await AspireModel.ForPublishAsync();
        var deployment = await published.ReadDeploymentAsync();
        var gateway = deployment.Get<ServiceProject>("aigateway");
        Assert.That(DeploymentModel.IsSecretVariable(gateway, "ConnectionStrings__aigatewaydb"), Is.True);
        Assert.That(DeploymentModel.IsSecretVariable(gateway, "ConsoleAuth__SigningKey"), Is.True);
        Assert.That(DeploymentModel.IsSecretVariable(gateway, "services__quota__http__0"), Is.False);
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_local_run_generates_each_secret_once_per_data_folder_readable_only_by_its_owner()
    {
        var data = Directory.CreateTempSubdirectory("tw-secrets-").FullName;
        string first;
        await using (var app = await AspireModel.ForRunAsync("--data", data))
        {
            var identity = await app.EnvironmentAsync(app.Get<ProjectResource>("identity"));
            var gateway = await app.EnvironmentAsync(app.Get<ProjectResource>("aigateway"));
            Assert.That(identity["ConsoleAuth__SigningKey"], Is.EqualTo(gateway["ConsoleAuth__SigningKey"]));
            first = identity["ConsoleAuth__SigningKey"];
        }
        await using (var again = await AspireModel.ForRunAsync("--data", data))
        {
            Assert.That(await again.Get<ParameterResource>("console-signing-key").GetValueAsync(CancellationToken.None), Is.EqualTo(first), "kept across runs");
        }
        Assert.That(ThinkWatch.Security.SecretStrength.Problem(first, "key"), Is.Null);
        Assert.That(File.GetUnixFileMode(Path.Combine(data, "secrets", "console-signing-key")),
            Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Directory.Delete(data, recursive: true);
    }
}
