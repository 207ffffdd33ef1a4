using System.Diagnostics;
using System.Text.Json;
using ThinkWatch.AppHost.Hosting;
using ThinkWatch.AppHost.Run;

namespace ThinkWatch.AppHost.Tests;

/// <summary>
/// `AppHost run` end to end, as a user runs it: its own infrastructure and all five services
/// on ports shifted away from a developer's instance and the test infrastructure, every
/// /health/ready answering, a second run refused, SIGTERM leaving no process behind.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class RunTests
{
    // Every shifted port (12000 … 27125) stays below Linux's ephemeral range (32768+): an
    // outgoing connection or a port-0 listener of a test running in parallel can take any port
    // up there, and did (CI: the AI gateway on 34000 failed to bind).
    private const int PortOffset = 9000;

    private static string DataDirectory =>
        Path.Combine(Path.GetDirectoryName(ThinkWatch.Testing.TestInfrastructure.DataDirectory)!, "apphost");

    private static Process StartAppHost(string logPath, params string[] args)
    {
        var dll = Path.Combine(DistributedApplication.RepositoryRoot, "AppHost", "bin", DistributedApplication.BuildConfiguration, "net10.0", "ThinkWatch.AppHost.dll");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["COLUMNS"] = "200";
        var process = Process.Start(info)!;
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var gate = new Lock();
        void Write(string? line)
        {
            if (line is not null)
            {
                lock (gate)
                {
                    log.WriteLine(line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Exited += (_, _) => { lock (gate) { log.Dispose(); } };
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    [Test]
    [CancelAfter(300_000)]
    public async Task Run_starts_everything_ready_refuses_a_second_run_and_stops_cleanly(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(DataDirectory);
        var log = Path.Combine(DataDirectory, "test-output.log");
        File.Delete(log);
        string[] runArgs = ["run", "--data", DataDirectory, "--port-offset", $"{PortOffset}", "--ready-timeout", "240"];
        using var appHost = StartAppHost(log, runArgs);
        var stateFile = Path.Combine(DataDirectory, "apphost.json");
        RunState? state = null;
        try
        {
            // 1. Every resource reaches Running (the AppHost only says so after /health/ready answered).
            while (!cancellationToken.IsCancellationRequested)
            {
                Assert.That(appHost.HasExited, Is.False, () => "AppHost exited early:\n" + File.ReadAllText(log));
                state = RunState.TryRead(stateFile);
                if (state is not null && state.Resources.All(r => r.State == "Running"))
                {
                    break;
                }
                await Task.Delay(250, cancellationToken);
            }
            Assert.That(state!.AppHostPid, Is.EqualTo(appHost.Id));
            Assert.That(state.Resources.Select(r => r.Name), Is.SupersetOf(new[] { "postgres", "redis", "rabbitmq", "clickhouse", "aigateway", "mcpgateway", "identity", "quota", "auditingest" }));

            // 2. Each service answers /health/ready itself, every check healthy.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            foreach (var project in state.Resources.Where(r => r.Type == "Project"))
            {
                var url = project.Urls.Single(u => u.StartsWith("http: ", StringComparison.Ordinal))["http: ".Length..];
                using var response = await http.GetAsync(url + "/health/ready", cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                Assert.That((int)response.StatusCode, Is.EqualTo(200), $"{project.Name}: {body}");
                Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("status").GetString(), Is.EqualTo("Healthy"));
                Assert.That(File.Exists(project.Log), Is.True, $"{project.Name} writes its log to a file");
            }
            Assert.That(await http.GetStringAsync($"http://127.0.0.1:{3000 + PortOffset}/health/live", cancellationToken), Does.Contain("Healthy"),
                "the AI gateway is on 3000 plus the offset");

            // 3. A second run on the same data folder is refused, touching nothing.
            var secondLog = Path.Combine(DataDirectory, "second-run.log");
            File.Delete(secondLog);
            using (var second = StartAppHost(secondLog, runArgs))
            {
                await second.WaitForExitAsync(cancellationToken);
                Assert.That(second.ExitCode, Is.EqualTo(3));
            }
            Assert.That(File.ReadAllText(secondLog), Does.Contain("already running"));
            Assert.That(RunState.TryRead(stateFile)?.AppHostPid, Is.EqualTo(appHost.Id));
        }
        finally
        {
            // 4. SIGTERM: everything stops, the AppHost exits 0, no process of the run is left.
            if (!appHost.HasExited)
            {
                Assert.That(ManagedProcess.Kill(appHost.Id, 15), Is.Zero);
            }
            using var stopTimeout = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken.None);
            stopTimeout.CancelAfter(TimeSpan.FromSeconds(90));
            await appHost.WaitForExitAsync(stopTimeout.Token);
        }

        Assert.That(appHost.ExitCode, Is.EqualTo(0), () => File.ReadAllText(log));
        var pids = state!.Resources.SelectMany(r => r.Pids).ToList();
        Assert.That(pids, Has.Count.GreaterThanOrEqualTo(9), "every service and every server has a PID");
        Assert.That(pids.Where(pid => Directory.Exists($"/proc/{pid}")), Is.Empty, "no process of the run is left");
        Assert.That(File.Exists(stateFile), Is.False);
        Assert.That(File.ReadAllText(log), Does.Contain("Stopped."));
    }
}
