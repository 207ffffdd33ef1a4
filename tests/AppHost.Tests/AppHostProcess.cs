using System.Diagnostics;

namespace ThinkWatch.AppHost.Tests;

/// <summary>The built AppHost run as a user runs it: <c>dotnet ThinkWatch.AppHost.dll ARGS</c>.</summary>
internal static class AppHostProcess
{
    /// <summary>Runs it to its end (killed with its children after <paramref name="timeout"/>): exit code and output.</summary>
    public static async Task<(int Exit, string Log)> RunAsync(string[] args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in (string[])[AspireModel.AppHostDll, .. args])
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
