using Aspire.Hosting.Pipelines;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ThinkWatch.AppHost.Publish;

namespace Aspire.Hosting;

public static partial class ManifestPublishingExtensions
{
    /// <summary>
    /// Publishing as a step of Aspire's pipeline (Aspire.Hosting.Kubernetes is not served here): Kubernetes manifests and
    /// a Helm chart, or a compose file, for the app model, written to the pipeline's output directory.
    /// <code>dotnet run --project AppHost -- --operation publish --step publish --output-path out [--target kubernetes|compose]
    ///   [--image-registry R] [--image-tag T] [--infra statefulset|external] [--namespace NS]</code>
    /// </summary>
    public static IDistributedApplicationBuilder AddManifestPublishing(this IDistributedApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Pipeline.AddStep("publish-thinkwatch", async context =>
        {
            var output = context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();
            List<string> written;
            PublishOptions options;
            try
            {
                options = PublishOptions.From(configuration, output);
                var model = await AspireModelReader.ReadAsync(context.Model, context.ExecutionContext, context.CancellationToken);
                written = Publisher.Publish(model, options);
            }
            catch
            {
                // Aspire logs a failed step but the AppHost still exits 0: scripts and CI must see the failure.
                Environment.ExitCode = 1;
                throw;
            }
            foreach (var file in written)
            {
                Wrote(context.Logger, Path.GetRelativePath(Environment.CurrentDirectory, file));
            }
            context.Summary.Add("ThinkWatch", $"{written.Count} files ({options.Target}) in {output}");
        }, dependsOn: WellKnownPipelineSteps.PublishPrereq, requiredBy: WellKnownPipelineSteps.Publish);
        return builder;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "wrote {File}")]
    private static partial void Wrote(ILogger logger, string file);
}
