using System.Diagnostics;

namespace ThinkWatch.Integrations;

/// <summary>
/// Work a request hands to the background (usage settled and published later, events waiting in the
/// spool) runs outside the request's <see cref="Activity"/>, so its calls (gRPC, the RabbitMQ publish)
/// would start traces of their own. The request's context is kept with the work and the work runs in
/// an activity continuing it: one request, one trace, across every service it reaches.
/// </summary>
public static class TraceContinuation
{
    /// <summary>Matches ServiceDefaults' "ThinkWatch.*" tracing source.</summary>
    public const string SourceName = "ThinkWatch.Integrations";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>The current activity's context, to continue later; default when there is none.</summary>
    public static ActivityContext Capture() => Activity.Current?.Context ?? default;

    /// <summary>
    /// Starts <paramref name="name"/> as a child of <paramref name="parent"/> and makes it current; null when there is
    /// no parent or nobody listens (nothing is traced then). Dispose it when the work is done.
    /// </summary>
    public static Activity? Continue(string name, ActivityContext parent) =>
        parent == default ? null : Source.StartActivity(name, ActivityKind.Internal, parent);

    /// <summary>The current activity as a W3C traceparent, for work that is written down (the spool); null when there is none.</summary>
    public static (string? TraceParent, string? TraceState) CaptureHeader() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? (current.Id, current.TraceStateString) : (null, null);

    /// <summary>The context a <see cref="CaptureHeader"/> wrote down; default when there was none (or it does not parse).</summary>
    public static ActivityContext Parse(string? traceParent, string? traceState) =>
        ActivityContext.TryParse(traceParent, traceState, out var context) ? context : default;
}
