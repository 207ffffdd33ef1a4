using ThinkWatch.AppHost.Hosting;
using ThinkWatch.AppHost.Run;

namespace ThinkWatch.AppHost.Tests;

[TestFixture]
public sealed class ModelTests
{
    private static DistributedApplicationModel Shipped() => AppModel.Create([]).Build().Model;

    [Test]
    public void The_shipped_model_is_sound_and_holds_every_resource()
    {
        var model = Shipped();

        Assert.That(model.Validate(), Is.Empty);
        Assert.That(model.Projects.Select(p => p.Name), Is.EquivalentTo(new[] { "aigateway", "mcpgateway", "identity", "quota", "auditingest" }));
        Assert.That(model.InfraServers.Select(s => s.Kind), Is.EquivalentTo(new[] { InfraKind.Postgres, InfraKind.Redis, InfraKind.RabbitMQ, InfraKind.ClickHouse }));
        Assert.That(model.Resources.OfType<PostgresDatabaseResource>().Select(d => d.Name),
            Is.EquivalentTo(new[] { "identitydb", "quotadb", "mcpgatewaydb", "aigatewaydb", "auditdb" }));
        Assert.That(model.Get<ProjectResource>("aigateway").Endpoints.Single(e => e.Name == "http").Port, Is.EqualTo(3000));
    }

    [Test]
    public void A_reference_to_a_resource_outside_the_model_is_reported()
    {
        var other = DistributedApplicationBuilder.CreateBuilder([]);
        var stray = other.AddRedis("stray", port: 16000);
        var builder = DistributedApplicationBuilder.CreateBuilder([]);
        builder.AddProject("svc", "services/X/X.csproj").WithHttpEndpoint(port: 17000).WithReference(stray).WaitFor(stray);

        var ex = Assert.Throws<InvalidOperationException>(() => builder.Build());

        Assert.That(ex!.Message, Does.Contain("svc references 'stray', which is not in the model"));
        Assert.That(ex.Message, Does.Contain("svc waits for 'stray'"));
    }

    [Test]
    public void Port_clashes_are_reported_including_secondary_ports_and_offsets()
    {
        var builder = DistributedApplicationBuilder.CreateBuilder([]);
        builder.AddRabbitMQ("rabbitmq", port: 15672);                       // also takes 15673 and 15674
        builder.AddProject("a", "a.csproj").WithHttpEndpoint(port: 15673);
        builder.AddProject("b", "b.csproj").WithHttpEndpoint(port: 17000).WithGrpcEndpoint(port: 17000);
        var model = new DistributedApplicationModel(builder.Resources);

        var errors = model.Validate();

        Assert.That(errors, Has.Some.Contains("Port 15673 is used by both rabbitmq").And.Some.Contains("Port 17000 is used by both b (http) and b (grpc)"));
        Assert.That(model.Validate(portOffset: 60000), Has.Some.Contains("out of range"));
    }

    [Test]
    public void WaitFor_cycles_and_bad_names_are_reported()
    {
        var builder = DistributedApplicationBuilder.CreateBuilder([]);
        var a = builder.AddProject("a", "a.csproj").WithHttpEndpoint(port: 17001);
        var b = builder.AddProject("b", "b.csproj").WithHttpEndpoint(port: 17002).WaitFor(a);
        a.WaitFor(b);
        builder.AddProject("Not_A_Dns_Name", "c.csproj").WithHttpEndpoint(port: 17003);
        var model = new DistributedApplicationModel(builder.Resources);

        var errors = model.Validate();

        Assert.That(errors, Has.Some.StartsWith("WaitFor forms a cycle: a -> b -> a"));
        Assert.That(errors, Has.Some.Contains("'Not_A_Dns_Name' is not a valid resource name"));
        Assert.Throws<InvalidOperationException>(() => model.StartOrder());
    }

    [Test]
    public void Start_order_puts_every_service_after_what_it_waits_for()
    {
        var model = Shipped();
        var layers = model.StartOrder();

        var layerOf = layers.SelectMany((layer, i) => layer.Select(p => (p, i))).ToDictionary(x => x.p.Name, x => x.i);
        Assert.That(layerOf.Keys, Has.Count.EqualTo(5));
        foreach (var project in model.Projects)
        {
            foreach (var dependency in project.WaitsFor.OfType<ProjectResource>())
            {
                Assert.That(layerOf[dependency.Name], Is.LessThan(layerOf[project.Name]), $"{project.Name} waits for {dependency.Name}");
            }
        }
        Assert.That(layers[^1].Select(p => p.Name), Is.EqualTo(new[] { "aigateway" }));
    }

    [Test]
    public void A_local_run_gives_each_service_its_connection_strings_and_peer_endpoints_shifted_by_the_offset()
    {
        var model = Shipped();
        var options = new RunOptions("/tmp/x", 100, "127.0.0.1", false, TimeSpan.FromSeconds(1));
        var context = new LocalContext(options, new InfraCredentials("postgres", "pw", "guest", "guest", null, "default", ""));

        var gateway = model.EnvironmentFor(model.Get<ProjectResource>("aigateway"), context);
        var audit = model.EnvironmentFor(model.Get<ProjectResource>("auditingest"), context);

        Assert.That(gateway["Kestrel__Endpoints__http__Url"], Is.EqualTo("http://127.0.0.1:3100"));
        Assert.That(gateway["ConnectionStrings__aigatewaydb"], Does.Contain("Port=15532").And.Contain("Database=aigatewaydb").And.Contain("Password=pw"));
        Assert.That(gateway["services__identity__grpc__0"], Is.EqualTo("http://127.0.0.1:13211"));
        Assert.That(gateway["services__mcpgateway__http__0"], Is.EqualTo("http://127.0.0.1:13230"));
        Assert.That(gateway.Keys, Has.None.Contains("quotadb").And.None.Contains("identitydb"), "a service sees only the databases it references");
        Assert.That(audit["ConnectionStrings__rabbitmq"], Is.EqualTo("amqp://guest:guest@127.0.0.1:15772/"));
        Assert.That(audit["ConnectionStrings__clickhouse"], Does.Contain("http://127.0.0.1:18223").And.Contain("Database=thinkwatch"));
        var project = model.Get<ProjectResource>("aigateway");
        Assert.That(DistributedApplicationModel.IsSecretVariable(project, "ConnectionStrings__aigatewaydb"), Is.True);
        Assert.That(DistributedApplicationModel.IsSecretVariable(project, "ConsoleAuth__SigningKey"), Is.True);
        Assert.That(DistributedApplicationModel.IsSecretVariable(project, "services__quota__http__0"), Is.False);
    }

    [TestCase(0, "127.0.0.1", "http://127.0.0.1:3001")]
    [TestCase(100, "127.0.0.1", "http://127.0.0.1:3101")]
    [TestCase(7, "192.168.1.20", "http://192.168.1.20:3008")]
    [TestCase(100, "0.0.0.0", "http://localhost:3101")]
    [TestCase(100, "::", "http://localhost:3101")]
    [TestCase(1, "::1", "http://[::1]:3002")]
    public void A_local_run_tells_the_mcp_gateway_the_console_origin_it_really_serves(int offset, string listen, string console)
    {
        var model = Shipped();
        var context = new LocalContext(new RunOptions("/tmp/x", offset, listen, false, TimeSpan.FromSeconds(1)),
            new InfraCredentials("postgres", "pw", "guest", "guest", null, "default", ""));

        var mcp = model.EnvironmentFor(model.Get<ProjectResource>("mcpgateway"), context);
        var identity = model.EnvironmentFor(model.Get<ProjectResource>("identity"), context);

        // OAuth redirect URIs, authorize and connect links are built on it: a second copy under an offset must not send them to the first.
        Assert.That(mcp["McpGateway__ConsoleUrl"], Is.EqualTo(console));
        Assert.That(new Uri(mcp["McpGateway__ConsoleUrl"]).Port, Is.EqualTo(new Uri(identity["Kestrel__Endpoints__http__Url"]).Port),
            "the port the console listens on");
    }

    [Test]
    public void A_published_model_leaves_the_console_origin_to_the_operator()
    {
        var model = Shipped();
        var cluster = new ThinkWatch.AppHost.Publish.ClusterContext(new InfraCredentials("postgres", "pw", "guest", "guest", null, "default", ""), _ => "secret");

        Assert.That(model.EnvironmentFor(model.Get<ProjectResource>("mcpgateway"), cluster).Keys, Has.None.EqualTo("McpGateway__ConsoleUrl"),
            "only the ingress knows the console's host; a loopback or in-cluster address would send users' browsers astray");
    }

    [Test]
    public void An_endpoint_variable_must_name_an_external_endpoint_of_a_service_in_the_model()
    {
        var builder = DistributedApplicationBuilder.CreateBuilder([]);
        var console = builder.AddProject("console", "console.csproj").WithHttpEndpoint(port: 17020, isExternal: true).WithGrpcEndpoint(port: 17021);
        builder.AddProject("svc", "svc.csproj").WithHttpEndpoint(port: 17022)
            .WithEnvironment("Console__Url", console.GetEndpoint("http"))
            .WithEnvironment("Console__Grpc", console.GetEndpoint("grpc"))
            .WithEnvironment("Console__Nothing", console.GetEndpoint("nosuch"));

        var errors = new DistributedApplicationModel(builder.Resources).Validate();

        Assert.That(errors, Has.Some.Contains("Console__Grpc").And.Some.Contains("Console__Nothing"));
        Assert.That(errors, Has.None.Contains("Console__Url"));
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_local_run_generates_each_secret_once_per_data_folder_readable_only_by_its_owner()
    {
        var model = Shipped();
        var data = Directory.CreateTempSubdirectory("tw-secrets-").FullName;
        try
        {
            var context = new LocalContext(new RunOptions(data, 0, "127.0.0.1", false, TimeSpan.FromSeconds(1)),
                new InfraCredentials("postgres", "pw", "guest", "guest", null, "default", ""));
            var identity = model.EnvironmentFor(model.Get<ProjectResource>("identity"), context);
            var gateway = model.EnvironmentFor(model.Get<ProjectResource>("aigateway"), context);
            var again = new LocalContext(new RunOptions(data, 0, "127.0.0.1", false, TimeSpan.FromSeconds(1)), context.Credentials)
                .ValueOf(model.Get<ParameterResource>("console-signing-key"));

            Assert.That(identity["ConsoleAuth__SigningKey"], Is.EqualTo(gateway["ConsoleAuth__SigningKey"]));
            Assert.That(again, Is.EqualTo(identity["ConsoleAuth__SigningKey"]), "kept across runs");
            Assert.That(ThinkWatch.Security.SecretStrength.Problem(again, "key"), Is.Null);
            Assert.That(File.GetUnixFileMode(Path.Combine(data, "secrets", "console-signing-key")),
                Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Test]
    public void A_parameter_outside_the_model_is_reported()
    {
        var stray = DistributedApplicationBuilder.CreateBuilder([]).AddParameter("stray-secret");
        var builder = DistributedApplicationBuilder.CreateBuilder([]);
        builder.AddProject("svc", "svc.csproj").WithHttpEndpoint(port: 17010).WithEnvironment("Secret__Value", stray);

        Assert.That(new DistributedApplicationModel(builder.Resources).Validate(), Has.Some.Contains("svc uses parameter 'stray-secret'"));
    }
}
