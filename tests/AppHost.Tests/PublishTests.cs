using System.Text.RegularExpressions;
using ThinkWatch.AppHost.Publish;
using YamlDotNet.RepresentationModel;

namespace ThinkWatch.AppHost.Tests;

/// <summary>
/// `publish` through Aspire's own entry point (the built AppHost, <c>--operation publish --step publish --output-path DIR</c>)
/// writes YAML that parses and matches the app model: nothing a reference implies is missing. Expectations come from the
/// Aspire model (DistributedApplicationTestingBuilder in publish mode) read as the publisher reads it.
/// </summary>
[TestFixture]
public sealed partial class PublishTests
{
    private string _output = null!;
    private DeploymentModel _model = null!;

    [OneTimeSetUp]
    public async Task ReadTheModel()
    {
        await using var app = await AspireModel.ForPublishAsync();
        Assert.That(app.ExecutionContext.IsPublishMode, Is.True);
        _model = await app.ReadDeploymentAsync();
        // The publisher sees every project Aspire has, no more, no less.
        Assert.That(_model.Projects.Select(p => p.Name), Is.EquivalentTo(app.Projects.Select(p => p.Name)));
        Assert.That(_model.Projects, Is.Not.Empty);
    }

    [SetUp]
    public void CreateOutput() => _output = Directory.CreateTempSubdirectory("tw-publish-").FullName;

    [TearDown]
    public void RemoveOutput() => Directory.Delete(_output, recursive: true);

    private async Task PublishAsync(params string[] extra)
    {
        var (exit, log) = await RunPublishAsync(["--output-path", _output, .. extra]);
        Assert.That(exit, Is.EqualTo(0), log);
    }

    /// <summary>The built AppHost as `dotnet ThinkWatch.AppHost.dll --operation publish --step publish ARGS`: exit code and output.</summary>
    private static Task<(int Exit, string Log)> RunPublishAsync(params string[] args) =>
        AppHostProcess.RunAsync(["--operation", "publish", "--step", "publish", .. args], TimeSpan.FromMinutes(2));

    private static List<YamlMappingNode> Documents(string path, bool helmTemplate = false)
    {
        var text = File.ReadAllText(path);
        if (helmTemplate)
        {
            text = HelmExpression().Replace(text, "x");
        }
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static string Kind(YamlMappingNode doc) => doc.Scalar("kind");

    [Test]
    public async Task Kubernetes_manifests_hold_a_probed_deployment_and_a_service_per_project_with_the_env_its_references_imply()
    {
        await PublishAsync("--target", "kubernetes", "--image-registry", "registry.local/tw", "--image-tag", "1.2.3");

        foreach (var project in _model.Projects)
        {
            var docs = Documents(Path.Combine(_output, $"{project.Name}.yaml"));
            var deployment = docs.Single(d => Kind(d) == "Deployment");
            var container = (YamlMappingNode)deployment.Path("spec", "template", "spec").Sequence("containers")[0];
            Assert.That(container.Scalar("image"), Is.EqualTo($"registry.local/tw/{project.Name}:1.2.3"));
            Assert.That(container.Path("livenessProbe", "httpGet").Scalar("path"), Is.EqualTo("/health/live"), project.Name);
            Assert.That(container.Path("readinessProbe", "httpGet").Scalar("path"), Is.EqualTo("/health/ready"), project.Name);
            Assert.That(container.Path("resources", "requests").Scalar("memory"), Is.Not.Empty);
            Assert.That(docs.Count(d => Kind(d) == "Service"), Is.EqualTo(1), project.Name);

            var envFrom = container.Sequence("envFrom").Cast<YamlMappingNode>().ToList();
            var configMapName = envFrom.Single(e => e.Children.ContainsKey("configMapRef")).Path("configMapRef").Scalar("name");
            var secretName = envFrom.Single(e => e.Children.ContainsKey("secretRef")).Path("secretRef").Scalar("name");
            var configKeys = docs.Single(d => Kind(d) == "ConfigMap" && d.Path("metadata").Scalar("name") == configMapName).Path("data").Children.Keys.Select(k => k.ToString()).ToHashSet();
            var secretKeys = docs.Single(d => Kind(d) == "Secret" && d.Path("metadata").Scalar("name") == secretName).Path("stringData").Children.Keys.Select(k => k.ToString()).ToHashSet();

            foreach (var reference in project.References)
            {
                if (reference is IDeploymentConnection connection)
                {
                    Assert.That(secretKeys, Does.Contain($"ConnectionStrings__{connection.ConnectionName}"), $"{project.Name} -> {reference.Name}");
                }
                else if (reference is ServiceProject peer)
                {
                    Assert.That(configKeys, Does.Contain($"services__{peer.Name}__http__0"), $"{project.Name} -> {peer.Name}");
                }
            }
            foreach (var variable in project.SecretEnvironment.Keys)
            {
                Assert.That(secretKeys, Does.Contain(variable), $"{project.Name}: {variable}");
            }
            Assert.That(configKeys.Where(k => DeploymentModel.IsSecretVariable(project, k)), Is.Empty, "secrets live in the Secret only");
        }
    }

    [Test]
    public async Task Infrastructure_is_statefulsets_by_default_and_external_names_on_request()
    {
        await PublishAsync("--target", "kubernetes");
        var stateful = Documents(Path.Combine(_output, "infra.yaml"));
        Assert.That(stateful.Where(d => Kind(d) == "StatefulSet").Select(d => d.Path("metadata").Scalar("name")),
            Is.EquivalentTo(new[] { "postgres", "redis", "rabbitmq", "clickhouse" }));
        Assert.That(stateful.Where(d => Kind(d) == "Secret"), Has.Exactly(1).Items);

        await PublishAsync("--target", "kubernetes", "--infra", "external");
        var external = Documents(Path.Combine(_output, "infra.yaml"));
        Assert.That(external.Where(d => Kind(d) == "StatefulSet"), Is.Empty);
        Assert.That(external.Where(d => Kind(d) == "Service").Select(d => d.Path("spec").Scalar("type")), Is.All.EqualTo("ExternalName"));
    }

    [Test]
    public async Task The_postgres_password_in_every_connection_string_is_the_one_the_server_is_given()
    {
        await PublishAsync("--target", "kubernetes");

        var infraSecret = Documents(Path.Combine(_output, "infra.yaml")).Single(d => Kind(d) == "Secret").Path("stringData");
        var password = infraSecret.Children.Single(kv => kv.Key.ToString().Contains("postgres", StringComparison.Ordinal)).Value.ToString();
        Assert.That(password, Has.Length.GreaterThanOrEqualTo(32));
        foreach (var project in _model.Projects.Where(p => p.References.OfType<PostgresDatabase>().Any()))
        {
            var secret = Documents(Path.Combine(_output, $"{project.Name}.yaml")).Single(d => Kind(d) == "Secret").Path("stringData");
            var connection = secret.Children.Single(kv => kv.Key.ToString().EndsWith("db", StringComparison.Ordinal)).Value.ToString();
            Assert.That(connection, Does.Contain($"Password={password};"), project.Name);
        }
    }

    [Test]
    public async Task Every_service_gets_the_same_generated_console_signing_key()
    {
        await PublishAsync("--target", "kubernetes");

        var keys = _model.Projects.Select(p => Documents(Path.Combine(_output, $"{p.Name}.yaml")).Single(d => Kind(d) == "Secret")
            .Path("stringData").Scalar("ConsoleAuth__SigningKey")).ToList();

        Assert.That(keys.Distinct().Count(), Is.EqualTo(1));
        Assert.That(ThinkWatch.Security.SecretStrength.Problem(keys[0], "key"), Is.Null);
    }

    [Test]
    public async Task The_helm_chart_has_a_template_per_service_and_values_for_each()
    {
        await PublishAsync("--target", "kubernetes");
        var chart = Path.Combine(_output, "chart");

        var chartYaml = Documents(Path.Combine(chart, "Chart.yaml")).Single();
        var values = Documents(Path.Combine(chart, "values.yaml")).Single();

        Assert.That(chartYaml.Scalar("apiVersion"), Is.EqualTo("v2"));
        Assert.That(values.Path("services").Children.Keys.Select(k => k.ToString()), Is.EquivalentTo(_model.Projects.Select(p => p.Name)));
        foreach (var project in _model.Projects)
        {
            var template = Documents(Path.Combine(chart, "templates", $"{project.Name}.yaml"), helmTemplate: true);
            Assert.That(template.Select(Kind), Is.SupersetOf(new[] { "ConfigMap", "Secret", "Deployment", "Service" }), project.Name);
            Assert.That(File.ReadAllText(Path.Combine(chart, "templates", $"{project.Name}.yaml")), Does.Contain(".Values.image"));
        }
        var infraTemplate = File.ReadAllText(Path.Combine(chart, "templates", "infra.yaml"));
        Assert.That(infraTemplate, Does.Contain("required \"set infra.postgres.password\""), "passwords must be supplied");
        Assert.That(infraTemplate, Does.Contain("required \"set secrets.consoleSigningKey\""), "and the signing key");
        Assert.That(values.Path("secrets").Scalar("consoleSigningKey"), Is.Empty, "never a default secret");
    }

    [Test]
    public async Task Compose_file_runs_every_service_after_its_dependencies_are_healthy()
    {
        await PublishAsync("--target", "compose");

        var compose = Documents(Path.Combine(_output, "docker-compose.yaml")).Single();
        var services = compose.Path("services");
        Assert.That(services.Children.Keys.Select(k => k.ToString()),
            Is.EquivalentTo(_model.Projects.Select(p => p.Name).Concat(_model.InfraServers.Select(s => s.Name))));
        foreach (var project in _model.Projects)
        {
            var service = services.Path(project.Name);
            var environment = service.Path("environment").Children.Keys.Select(k => k.ToString()).ToList();
            foreach (var connection in project.References.OfType<IDeploymentConnection>())
            {
                Assert.That(environment, Does.Contain($"ConnectionStrings__{connection.ConnectionName}"), project.Name);
            }
            foreach (var waited in project.WaitsFor.Where(w => w is not ServiceProject))
            {
                var server = waited is PostgresDatabase db ? db.Parent.Name : waited.Name;
                Assert.That(service.Path("depends_on", server).Scalar("condition"), Is.EqualTo("service_healthy"), $"{project.Name} -> {server}");
            }
        }
    }

    [Test]
    public async Task Bad_options_make_the_publish_step_fail_and_write_nothing()
    {
        foreach (var bad in new[] { new[] { "--target", "nomad" }, ["--infra", "sideways"] })
        {
            var (exit, log) = await RunPublishAsync(["--output-path", _output, .. bad]);
            Assert.That(exit, Is.Not.Zero, string.Join(' ', bad));
            Assert.That(log, Does.Contain($"'{bad[1]}'"), "the error names the bad value");
            Assert.That(Directory.EnumerateFileSystemEntries(_output), Is.Empty, string.Join(' ', bad));
        }
    }

    [GeneratedRegex(@"\{\{.*?\}\}")]
    private static partial Regex HelmExpression();
}

internal static class YamlNavigation
{
    public static YamlMappingNode Path(this YamlMappingNode node, params string[] keys)
    {
        foreach (var key in keys)
        {
            node = (YamlMappingNode)node.Children[new YamlScalarNode(key)];
        }
        return node;
    }

    public static string Scalar(this YamlMappingNode node, string key) =>
        ((YamlScalarNode)node.Children[new YamlScalarNode(key)]).Value ?? "";

    public static YamlSequenceNode Sequence(this YamlMappingNode node, string key) =>
        (YamlSequenceNode)node.Children[new YamlScalarNode(key)];
}
