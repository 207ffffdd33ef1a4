using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Lifecycle;
using Microsoft.Extensions.DependencyInjection;
using ThinkWatch.AppHost.Local;

namespace Aspire.Hosting;

public static class RunLockExtensions
{
    /// <summary>
    /// One run per data folder: a second <c>dotnet run --project AppHost</c> on the same folder stops before it starts
    /// anything (its servers would fight over the same files and ports). Released when the run ends.
    /// </summary>
    public static IDistributedApplicationBuilder AddRunLock(this IDistributedApplicationBuilder builder)
    {
        var local = LocalOptions.For(builder);
        if (!local.IsRunMode)
        {
            return builder;
        }
        FileStream? held = null;
        builder.Eventing.Subscribe<BeforeStartEvent>((_, _) =>
        {
            Directory.CreateDirectory(local.DataDirectory);
            var path = Path.Combine(local.DataDirectory, "apphost.lock");
            try
            {
                // FileShare.None takes an exclusive advisory lock: a second run cannot get it while we live.
                held = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                throw new RunLockedException(
                    $"ThinkWatch is already running from {local.DataDirectory}. Stop it first (Ctrl-C in its terminal), or use another --data and --port-offset.");
            }
            return Task.CompletedTask;
        });
        builder.Eventing.Subscribe<AfterResourcesCreatedEvent>((@event, _) =>
        {
            var lifetime = @event.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
            lifetime.ApplicationStopped.Register(() => held?.Dispose());
            return Task.CompletedTask;
        });
        return builder;
    }

    /// <summary>Whether <paramref name="exception"/> (or one it wraps) is the run lock's refusal.</summary>
    public static bool IsRunLocked(Exception exception, out string message)
    {
        for (Exception? e = exception; e is not null; e = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : e.InnerException)
        {
            if (e is RunLockedException locked)
            {
                message = locked.Message;
                return true;
            }
        }
        message = "";
        return false;
    }
}

/// <summary>Another run holds the data folder's lock.</summary>
public sealed class RunLockedException(string message) : InvalidOperationException(message);
