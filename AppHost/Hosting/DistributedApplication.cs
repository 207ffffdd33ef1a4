using System.Reflection;
using Spectre.Console;
using ThinkWatch.AppHost.Publish;
using ThinkWatch.AppHost.Run;

namespace ThinkWatch.AppHost.Hosting;

public sealed class DistributedApplication(DistributedApplicationModel model, string[] args)
{
    public DistributedApplicationModel Model { get; } = model;

    public async Task<int> RunAsync()
    {
        try
        {
            var cli = new CommandLine(args);
            return cli.Verb switch
            {
                "run" => await new Orchestrator(Model, RunOptions.From(cli)).RunAsync(),
                "publish" => Publisher.Publish(Model, PublishOptions.From(cli)),
                "logs" => await LogViewer.RunAsync(cli),
                "help" or "--help" => Help(),
                _ => throw new ArgumentException($"unknown verb '{cli.Verb}'"),
            };
        }
        catch (ArgumentException ex)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            Help();
            return 2;
        }
    }

    private static int Help()
    {
        AnsiConsole.WriteLine("""
            usage: dotnet run --project AppHost -- [verb] [options]
              run        (default) start infrastructure and every service, wait until ready, stop all on Ctrl-C
                         --data DIR (default /var/lib/thinkwatch)  --port-offset N  --listen ADDR (external endpoints)
                         --follow (print every resource's log, prefixed)  --ready-timeout SECONDS
              logs       print the logs of the running (or last) run, prefixed: [--data DIR] [--follow] [name…]
              publish    --target kubernetes|compose --output DIR [--image-registry R] [--image-tag T]
                         [--infra statefulset|external] [--namespace NS]
            """);
        return 0;
    }

    /// <summary>The repository this AppHost was built from (set at build time), or the nearest one above the binary.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var fromBuild = typeof(DistributedApplication).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "ThinkWatch.RepositoryRoot")?.Value;
            if (fromBuild is not null && File.Exists(Path.Combine(fromBuild, "ThinkWatch.slnx")))
            {
                return fromBuild;
            }
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ThinkWatch.slnx")))
                {
                    return dir.FullName;
                }
            }
            throw new InvalidOperationException("Cannot find the repository (ThinkWatch.slnx) above " + AppContext.BaseDirectory);
        }
    }

    public static string BuildConfiguration =>
        typeof(DistributedApplication).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "ThinkWatch.Configuration")?.Value ?? "Debug";
}
