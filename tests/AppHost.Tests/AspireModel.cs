using System.Reflection;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using ThinkWatch.AppHost.Local;
using ThinkWatch.AppHost.Publish;

namespace ThinkWatch.AppHost.Tests;

/// <summary>
/// The AppHost's app model as Aspire builds it from Program.cs (DistributedApplicationTestingBuilder: Program.cs runs up to
/// <c>builder.Build()</c>, nothing is started), and the environment each project would get.
/// </summary>
internal sealed class AspireModel : IAsyncDisposable
{
    private readonly DistributedApplication _app;
    private readonly string? _scratch;

    private AspireModel(DistributedApplication app, string? scratch)
    {
        _app = app;
        _scratch = scratch;
        Model = app.Services.GetRequiredService<DistributedApplicationModel>();
        ExecutionContext = app.Services.GetRequiredService<DistributedApplicationExecutionContext>();
    }

    public DistributedApplicationModel Model { get; }
    public DistributedApplicationExecutionContext ExecutionContext { get; }
    public IEnumerable<ProjectResource> Projects => Model.Resources.OfType<ProjectResource>();

    /// <summary>The model in run mode (<paramref name="args"/>: --data, --port-offset, --listen …).</summary>
    public static Task<AspireModel> ForRunAsync(params string[] args) => CreateAsync(args, null);

    /// <summary>
    /// The model in publish mode, as `--operation publish` builds it. Its output path is a scratch folder: without one the
    /// testing host left files in AppHost/aspire-output.
    /// </summary>
    public static Task<AspireModel> ForPublishAsync(params string[] args)
    {
        var scratch = Directory.CreateTempSubdirectory("tw-model-publish-").FullName;
        return CreateAsync(["--operation", "publish", "--output-path", scratch, .. args], scratch);
    }

    private static async Task<AspireModel> CreateAsync(string[] args, string? scratch)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(args);
        return new AspireModel(await builder.BuildAsync(), scratch);
    }

    public T Get<T>(string name) where T : IResource => Model.Resources.OfType<T>().Single(r => r.Name == name);

    /// <summary>The publishers' view of the same model (what `publish` writes from).</summary>
    public Task<DeploymentModel> ReadDeploymentAsync() => AspireModelReader.ReadAsync(Model, ExecutionContext, CancellationToken.None);

    /// <summary>
    /// The environment callbacks of <paramref name="resource"/>, run as DCP would before starting it; values stay
    /// unresolved (strings, <see cref="EndpointReference"/>, <see cref="ConnectionStringReference"/>, <see cref="ParameterResource"/> …).
    /// </summary>
    public async Task<Dictionary<string, object>> RawEnvironmentAsync(IResource resource)
    {
        var environment = new Dictionary<string, object>(StringComparer.Ordinal);
        var context = new EnvironmentCallbackContext(ExecutionContext, resource, environment, CancellationToken.None);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }
        return environment;
    }

    /// <summary>
    /// The environment with values as the process sees them, except endpoints: a peer's endpoint becomes
    /// http://localhost:PORT from its (fixed, not proxied) endpoint annotation, so nothing needs DCP's allocation.
    /// </summary>
    public async Task<Dictionary<string, string>> EnvironmentAsync(IResource resource)
    {
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in await RawEnvironmentAsync(resource))
        {
            resolved[name] = value switch
            {
                string s => s,
                EndpointReference e => $"http://localhost:{e.EndpointAnnotation.Port}",
                ConnectionStringReference c => await c.Resource.GetConnectionStringAsync() ?? "",
                IResourceWithConnectionString c => await c.GetConnectionStringAsync() ?? "",
                ParameterResource p => await p.GetValueAsync(CancellationToken.None) ?? "",
                IValueProvider v => await v.GetValueAsync(CancellationToken.None) ?? "",
                _ => value.ToString() ?? "",
            };
        }
        return resolved;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        if (_scratch is not null)
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    /// <summary>The built AppHost (the configuration this test assembly was built in).</summary>
    public static string AppHostDll => Path.Combine(LocalOptions.FindRepositoryRoot(), "AppHost", "bin", BuildConfiguration, "net10.0", "ThinkWatch.AppHost.dll");

    public static string BuildConfiguration =>
        typeof(AspireModel).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
}
