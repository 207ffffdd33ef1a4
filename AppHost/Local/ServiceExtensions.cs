using Aspire.Hosting.ApplicationModel;
using ThinkWatch.AppHost.Local;

namespace Aspire.Hosting;

/// <summary>How a ThinkWatch service is run locally by the AppHost.</summary>
public static class ServiceExtensions
{
    /// <summary>
    /// An endpoint the service serves itself on a fixed port (shifted by --port-offset), not behind DCP's proxy: no
    /// extra hop on the request path. <paramref name="http2"/>: gRPC needs HTTP/2 without TLS (h2c), so it gets an
    /// endpoint of its own. External endpoints (the gateway's :3000, the console's :3001) bind to --listen.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithServiceEndpoint(this IResourceBuilder<ProjectResource> project, string name, int port,
        bool http2 = false, bool isExternal = false)
    {
        var shifted = LocalOptions.For(project.ApplicationBuilder).Shift(port);
        return project
            .WithEndpoint(port: shifted, targetPort: shifted, scheme: "http", name: name, isProxied: false, isExternal: isExternal)
            .WithEndpoint(name, endpoint => endpoint.Transport = http2 ? "http2" : "http");
    }

    /// <summary>
    /// Kestrel binds each endpoint with its protocol (Aspire's ASPNETCORE_URLS cannot say "HTTP/2 only"), events waiting for the
    /// broker are spooled under DATA/spool/NAME, and services run as in production unless the AppHost is told otherwise
    /// (<c>--services-environment Development</c>).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithLocalRunDefaults(this IResourceBuilder<ProjectResource> project)
    {
        var local = LocalOptions.For(project.ApplicationBuilder);
        var environment = project.ApplicationBuilder.Configuration["services-environment"] ?? "Production";
        return project.WithEnvironment(context =>
        {
            if (!context.ExecutionContext.IsRunMode)
            {
                return;
            }
            context.EnvironmentVariables.Remove("ASPNETCORE_URLS");
            context.EnvironmentVariables.Remove("HTTP_PORTS");
            foreach (var endpoint in project.Resource.Annotations.OfType<EndpointAnnotation>())
            {
                var host = endpoint.IsExternal ? local.BindHost : "localhost";
                context.EnvironmentVariables[$"Kestrel__Endpoints__{endpoint.Name}__Url"] = $"http://{host}:{endpoint.TargetPort}";
                context.EnvironmentVariables[$"Kestrel__Endpoints__{endpoint.Name}__Protocols"] = endpoint.Transport == "http2" ? "Http2" : "Http1";
            }
            context.EnvironmentVariables["DOTNET_ENVIRONMENT"] = environment;
            context.EnvironmentVariables["ASPNETCORE_ENVIRONMENT"] = environment;
            context.EnvironmentVariables["Spool__Directory"] = Path.Combine(local.DataDirectory, "spool", project.Resource.Name);
        });
    }

    /// <summary>
    /// Where people reach <paramref name="project"/>'s external endpoint (links, OAuth redirect URIs): what this run really
    /// serves after --port-offset and --listen. When published it stays an endpoint reference (the operator's ingress decides).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPublicUrl(this IResourceBuilder<ProjectResource> target, string variable,
        IResourceBuilder<ProjectResource> project, string endpointName = "http")
    {
        var local = LocalOptions.For(target.ApplicationBuilder);
        var endpoint = project.GetEndpoint(endpointName);
        return target.WithEnvironment(context =>
        {
            context.EnvironmentVariables[variable] = context.ExecutionContext.IsRunMode
                ? $"http://{local.PublicHost}:{endpoint.EndpointAnnotation.TargetPort}"
                : endpoint;
        });
    }

    /// <summary>A secret generated once per data folder (DATA/secrets/NAME, mode 600), as an Aspire secret parameter.</summary>
    public static IResourceBuilder<ParameterResource> AddGeneratedSecret(this IDistributedApplicationBuilder builder, string name)
    {
        var local = LocalOptions.For(builder);
        return builder.AddParameter(name, () => local.ReadOrCreateSecret(Path.Combine("secrets", name), LocalOptions.NewKey), secret: true);
    }
}
