using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using Spectre.Console;
using ThinkWatch.AppHost.Hosting;

namespace ThinkWatch.AppHost.Run;

/// <summary>
/// `run`: start the infrastructure (infra/infra.sh), then each service in WaitFor order
/// with the environment the model implies, wait for /health/ready, show where everything
/// is, report (never silently restart) a service that dies, and stop all on Ctrl-C/SIGTERM.
/// </summary>
public sealed class Orchestrator(DistributedApplicationModel model, RunOptions options)
{
    private static readonly string[] Colors = ["aqua", "green", "yellow", "fuchsia", "blue", "olive", "teal", "purple"];
    private readonly List<ManagedProcess> _processes = [];
    private readonly Dictionary<string, string> _states = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    private readonly string _repo = DistributedApplication.RepositoryRoot;
    private readonly Lock _stateGate = new();
    private LocalContext? _context;

    public async Task<int> RunAsync()
    {
        var errors = model.Validate(options.PortOffset);
        if (errors.Count > 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]The application model is invalid:[/]\n  {string.Join("\n  ", errors)}");
            return 2;
        }
        Directory.CreateDirectory(options.LogDirectory);
        using var runLock = TryLock();
        if (runLock is null)
        {
            var other = RunState.TryRead(options.StateFile);
            AnsiConsole.MarkupLineInterpolated(
                $"[yellow]ThinkWatch is already running from {options.DataDirectory}[/] (AppHost PID {other?.AppHostPid.ToString() ?? "?"}, since {other?.StartedAt.ToString("u") ?? "?"}). Stop it first (Ctrl-C in its terminal, or kill -TERM {other?.AppHostPid.ToString() ?? "<pid>"}), or use another --data and --port-offset.");
            return 3;
        }

        using var stopping = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stopping.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });

        var exitCode = 0;
        try
        {
            if (PortsInUse() is { Count: > 0 } busy)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]Ports already in use by another program:[/] {string.Join(", ", busy)}. Free them or pass --port-offset.");
                return 3;
            }
            var binaries = model.Projects.ToDictionary(p => p.Name, LocateBinary);
            if (!await StartInfrastructureAsync(stopping.Token))
            {
                return 1;
            }
            _context = new LocalContext(options, LocalContext.ReadCredentials(options));

            foreach (var layer in model.StartOrder())
            {
                var ready = await Task.WhenAll(layer.Select(p => StartProjectAsync(p, binaries[p.Name], stopping.Token)));
                if (ready.Any(r => !r))
                {
                    exitCode = stopping.IsCancellationRequested ? 0 : 1;
                    return exitCode;
                }
            }

            PrintSummary();
            AnsiConsole.MarkupLine("[green]ThinkWatch is ready.[/] Ctrl-C stops everything. Logs: [grey]" + Markup.Escape(options.LogDirectory) + "[/]");
            exitCode = await SuperviseAsync(stopping.Token);
            return exitCode;
        }
        finally
        {
            await StopAllAsync();
            File.Delete(options.StateFile);
        }
    }

    private FileStream? TryLock()
    {
        try
        {
            // FileShare.None takes an exclusive advisory lock: a second run cannot get it while we live.
            return new FileStream(options.LockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private List<string> PortsInUse()
    {
        var busy = new List<string>();
        foreach (var project in model.Projects)
        {
            foreach (var endpoint in project.Endpoints)
            {
                var port = endpoint.Port + options.PortOffset;
                try
                {
                    using var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                }
                catch (SocketException)
                {
                    busy.Add($"{port} ({project.Name} {endpoint.Name})");
                }
            }
        }
        return busy;
    }

    private (string Dll, string Directory) LocateBinary(ProjectResource project)
    {
        var csproj = Path.Combine(_repo, project.ProjectPath);
        if (!File.Exists(csproj))
        {
            throw new ArgumentException($"{project.Name}: project {project.ProjectPath} not found under {_repo}");
        }
        var assemblyName = XDocument.Load(csproj).Descendants("AssemblyName").FirstOrDefault()?.Value ?? project.ProjectName;
        var directory = Path.Combine(_repo, project.ProjectDirectory, "bin", DistributedApplication.BuildConfiguration, "net10.0");
        var dll = Path.Combine(directory, assemblyName + ".dll");
        if (!File.Exists(dll))
        {
            throw new ArgumentException($"{project.Name} is not built ({dll} missing). `dotnet run --project AppHost` builds every service first.");
        }
        return (dll, directory);
    }

    private async Task<bool> StartInfrastructureAsync(CancellationToken cancellationToken)
    {
        SetState("infrastructure", "Starting");
        var args = new List<string> { Path.Combine(_repo, "infra", "infra.sh"), "up" };
        args.AddRange(InfraArgs());
        AnsiConsole.MarkupLine("[grey]Starting infrastructure (installs missing Debian packages on first run)…[/]");
        var started = Stopwatch.GetTimestamp();
        await using var infra = ManagedProcess.Start("infra", "bash", args, new Dictionary<string, string>(), _repo,
            Path.Combine(options.LogDirectory, "infra.log"), echo: true, "grey");
        try
        {
            await infra.Exited.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await infra.StopAsync(TimeSpan.FromSeconds(5));
            return false;
        }
        await infra.StopAsync(TimeSpan.Zero); // drains output
        if (infra.ExitCode != 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]Infrastructure failed to start[/] (exit {infra.ExitCode}); see {options.LogDirectory}/infra.log");
            return false;
        }
        foreach (var server in model.InfraServers)
        {
            SetState(server.Name, "Running");
        }
        AnsiConsole.MarkupLineInterpolated($"[grey]Infrastructure ready in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s[/]");
        return true;
    }

    private async Task<bool> StartProjectAsync(ProjectResource project, (string Dll, string Directory) binary, CancellationToken cancellationToken)
    {
        var env = new Dictionary<string, string>(model.EnvironmentFor(project, _context!), StringComparer.Ordinal)
        {
            ["DOTNET_ENVIRONMENT"] = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? "Production",
            ["ASPNETCORE_URLS"] = "",
            // Events waiting for the broker survive restarts in the run's data folder, one folder per service.
            ["Spool__Directory"] = Path.Combine(options.DataDirectory, "spool", project.Name),
        };
        if (Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } otlp)
        {
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
        }
        SetState(project.Name, "Starting");
        var color = Colors[_processes.Count % Colors.Length];
        ManagedProcess process;
        lock (_stateGate)
        {
            process = ManagedProcess.Start(project.Name, "dotnet", [binary.Dll], env, binary.Directory,
                Path.Combine(options.LogDirectory, project.Name + ".log"), options.FollowLogs, color);
            _processes.Add(process);
        }
        WriteState();

        var health = _context!.UrlOf(project, project.Endpoints.First(e => e.Name == "http")) + "/health/ready";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.GetTimestamp() + (long)(options.ReadyTimeout.TotalSeconds * Stopwatch.Frequency);
        while (!cancellationToken.IsCancellationRequested)
        {
            if (process.HasExited)
            {
                SetState(project.Name, $"Exited ({process.ExitCode})");
                Report(process, $"{project.Name} exited with code {process.ExitCode} before it was ready");
                return false;
            }
            try
            {
                using var response = await http.GetAsync(health, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    SetState(project.Name, "Running");
                    AnsiConsole.MarkupLineInterpolated($"[green]✓[/] {project.Name} ready");
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // probe timed out
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                SetState(project.Name, "NotReady");
                Report(process, $"{project.Name} was not ready after {options.ReadyTimeout.TotalSeconds:0} s ({health})");
                return false;
            }
            try
            {
                await Task.Delay(200, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return false;
    }

    /// <summary>Until Ctrl-C: a service that exits is reported loudly and left stopped (nothing restarts silently).</summary>
    private async Task<int> SuperviseAsync(CancellationToken stopping)
    {
        var running = _processes.ToList();
        var stopped = Task.Delay(Timeout.Infinite, stopping);
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            var exits = running.Select(p => p.Exited).ToList();
            var finished = await Task.WhenAny(exits.Append(stopped));
            if (finished == stopped)
            {
                break;
            }
            var process = running[exits.IndexOf(finished)];
            running.Remove(process);
            failures++;
            SetState(process.Name, $"Exited ({process.ExitCode})");
            Report(process, $"{process.Name} exited with code {process.ExitCode}; it is NOT restarted. Stop with Ctrl-C and run again after fixing the cause");
        }
        AnsiConsole.MarkupLine("[grey]Stopping…[/]");
        return failures == 0 ? 0 : 1;
    }

    private static void Report(ManagedProcess process, string message)
    {
        AnsiConsole.MarkupLineInterpolated($"[red]✗ {message}.[/] Last lines of {process.LogPath}:");
        foreach (var line in process.Tail().TakeLast(10))
        {
            AnsiConsole.MarkupLineInterpolated($"  [grey]{line}[/]");
        }
    }

    private async Task StopAllAsync()
    {
        // Reverse start order: the edge first, the infrastructure last.
        foreach (var process in Enumerable.Reverse(_processes).ToList())
        {
            try
            {
                await process.DisposeAsync();
                SetState(process.Name, "Stopped");
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
            {
                // Keep going: the infrastructure must be stopped whatever happened to one service.
                AnsiConsole.MarkupLineInterpolated($"[red]stopping {process.Name} failed:[/] {ex.Message}");
            }
        }
        if (_states.ContainsKey("infrastructure"))
        {
            var down = Process.Start(new ProcessStartInfo("bash", [Path.Combine(_repo, "infra", "infra.sh"), "down", .. InfraArgs()]) { UseShellExecute = false });
            await down!.WaitForExitAsync();
        }
        AnsiConsole.MarkupLine("[grey]Stopped.[/]");
    }

    /// <summary>--data, each server's port and --only, as infra/infra.sh takes them.</summary>
    private List<string> InfraArgs()
    {
        var args = new List<string> { "--data", options.InfraDirectory };
        var only = new List<string>();
        foreach (var server in model.InfraServers)
        {
            var name = server.Kind.ToString().ToLowerInvariant();
            args.AddRange([$"--{name}-port", (server.Port + options.PortOffset).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            only.Add(name);
        }
        args.AddRange(["--only", string.Join(',', only)]);
        return args;
    }

    private void SetState(string name, string state)
    {
        lock (_stateGate)
        {
            _states[name] = state;
        }
        WriteState();
    }

    private void WriteState()
    {
        List<ResourceState> resources;
        lock (_stateGate)
        {
            resources = model.InfraServers.Select(s => new ResourceState(s.Name, s.Kind.ToString(), _states.GetValueOrDefault(s.Name, "Pending"),
                    InfraPids(s), [$"127.0.0.1:{s.Port + options.PortOffset}"], null))
                .Concat(model.Projects.Select(p =>
                {
                    var process = _processes.FirstOrDefault(x => x.Name == p.Name);
                    return new ResourceState(p.Name, "Project", _states.GetValueOrDefault(p.Name, "Pending"),
                        process is null ? [] : [process.Pid],
                        p.Endpoints.Select(e => $"{e.Name}: http://127.0.0.1:{e.Port + options.PortOffset}").ToList(),
                        process?.LogPath);
                }))
                .ToList();
        }
        new RunState(Environment.ProcessId, _startedAt, options.DataDirectory, resources).Write(options.StateFile);
    }

    private List<int> InfraPids(InfraResource server)
    {
        var dir = options.InfraDirectory;
        string[] files = server.Kind switch
        {
            InfraKind.Postgres => [Path.Combine(dir, "postgres", "data", "postmaster.pid")],
            InfraKind.Redis => [Path.Combine(dir, "redis", "pid")],
            InfraKind.RabbitMQ => [Path.Combine(dir, "rabbitmq", "pid"), Path.Combine(dir, "rabbitmq", "epmd.pid")],
            InfraKind.ClickHouse => [Path.Combine(dir, "clickhouse", "pid")],
            _ => [],
        };
        return files.Where(File.Exists)
            .Select(f => File.ReadLines(f).FirstOrDefault())
            .Select(l => int.TryParse(l?.Trim(), out var pid) ? pid : 0)
            .Where(pid => pid > 0)
            .ToList();
    }

    private void PrintSummary()
    {
        var table = new Table().RoundedBorder().AddColumns("Resource", "Type", "State", "Endpoints", $"Log (under {Markup.Escape(options.DataDirectory)})");
        foreach (var server in model.InfraServers)
        {
            table.AddRow(server.Name, server.Kind.ToString(), "[green]Running[/]", $"127.0.0.1:{server.Port + options.PortOffset}",
                Markup.Escape(Path.Combine("infra", server.Kind.ToString().ToLowerInvariant())));
        }
        foreach (var project in model.Projects)
        {
            var endpoints = string.Join("\n", project.Endpoints.Select(e =>
                $"{e.Name}: {_context!.BindUrlOf(project, e)}{(e.IsExternal ? " (public)" : "")}"));
            table.AddRow(project.Name, "Project", "[green]Running[/]", Markup.Escape(endpoints),
                Markup.Escape(Path.Combine("logs", project.Name + ".log")));
        }
        AnsiConsole.Write(table);
    }
}
