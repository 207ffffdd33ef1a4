using Spectre.Console;
using ThinkWatch.AppHost.Hosting;

namespace ThinkWatch.AppHost.Run;

/// <summary>`logs [--follow] [name…]`: every resource's log of the current (or last) run, each line prefixed.</summary>
public static class LogViewer
{
    public static async Task<int> RunAsync(CommandLine cli)
    {
        cli.RejectUnknown("data", "follow");
        var options = new RunOptions(Path.GetFullPath(cli.Get("data", RunOptions.DefaultDataDirectory)), 0, "127.0.0.1", true, TimeSpan.Zero);
        if (!Directory.Exists(options.LogDirectory))
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]No logs under {options.LogDirectory}[/]");
            return 1;
        }
        var files = Directory.GetFiles(options.LogDirectory, "*.log")
            .Where(f => cli.Positional.Count == 0 || cli.Positional.Contains(Path.GetFileNameWithoutExtension(f)))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]No log named {string.Join(", ", cli.Positional)}[/]");
            return 1;
        }
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        var readers = files.Select(f => (Name: Path.GetFileNameWithoutExtension(f),
            Reader: new StreamReader(new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)))).ToList();
        try
        {
            do
            {
                var any = false;
                foreach (var (name, reader) in readers)
                {
                    while (await reader.ReadLineAsync() is { } line)
                    {
                        any = true;
                        Console.WriteLine($"[{name}] {line}");
                    }
                }
                if (!any && cli.Flag("follow"))
                {
                    await Task.Delay(250, stop.Token).ContinueWith(_ => { });
                }
            }
            while (cli.Flag("follow") && !stop.IsCancellationRequested);
        }
        finally
        {
            readers.ForEach(r => r.Reader.Dispose());
        }
        return 0;
    }
}
