using System.Collections.Concurrent;
using System.Diagnostics;

namespace ThinkWatch.Testing;

/// <summary>
/// Records every activity of the named sources that stops while it lives, as an exporter would receive them.
/// Services hosted in the test process share the static sources, so one recorder sees every service's activities.
/// Listening makes a source create activities: name only the sources the services trace (RabbitMQ.Client's, say,
/// would come between MassTransit's publish and its consumer).
/// </summary>
public sealed class TraceRecorder : IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    /// <param name="sources">Source names; one ending in ".*" stands for every source with that prefix.</param>
    public TraceRecorder(params string[] sources)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => sources.Any(n => n.EndsWith(".*", StringComparison.Ordinal) ? s.Name.StartsWith(n[..^1], StringComparison.Ordinal) : s.Name == n),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The activities of <paramref name="trace"/> that stopped so far.</summary>
    public IReadOnlyList<Activity> InTrace(ActivityTraceId trace) => [.. _stopped.Where(a => a.TraceId == trace)];

    /// <summary>Whether the activity's name or one of its tags mentions <paramref name="text"/> (a path, a queue, a message type).</summary>
    public static bool Names(Activity activity, string text) =>
        activity.DisplayName.Contains(text, StringComparison.Ordinal)
        || activity.TagObjects.Any(t => t.Value?.ToString()?.Contains(text, StringComparison.Ordinal) == true);

    /// <summary>One line per activity, for a failing assertion to show.</summary>
    public static string Describe(IEnumerable<Activity> activities) =>
        string.Join("\n", activities.Select(a => $"{a.Source.Name} {a.Kind} {a.DisplayName}"));

    public void Dispose() => _listener.Dispose();
}
