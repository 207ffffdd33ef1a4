using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ThinkWatch.Testing;

/// <summary>A request the fake received, fully buffered for assertions.</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body, DateTimeOffset ReceivedAt)
{
    /// <summary>The request target as it came on the wire (percent-encoding intact).</summary>
    public string RawTarget { get; init; } = Path;
}

/// <summary>
/// An in-process upstream (model provider or any HTTP API) on a free loopback port,
/// answering each route with a scripted sequence of responses (the last one repeats).
/// WireMock.Net does not restore here; this speaks the real wire formats, SSE included.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private WebApplication _app = null!;
    private readonly ConcurrentDictionary<string, FakeRoute> _routes = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();


    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Requests no scripted route answers go to <see cref="FakeModels"/> (a model behind every wire format).</summary>
    public bool AnswersModels { get; set; }
    public IReadOnlyList<RecordedRequest> Requests => _requests.ToList();

    public static async Task<FakeUpstream> StartAsync()
    {
        var fake = new FakeUpstream();
        (fake._app, fake.BaseAddress) = await LoopbackServer.StartAsync(app => app.Run(fake.HandleAsync));
        return fake;
    }

    /// <summary>Forgets every scripted route and recorded request (for fixtures shared by several tests).</summary>
    public void Reset()
    {
        _routes.Clear();
        _requests.Clear();
    }

    /// <summary>Script the answers to METHOD PATH (exact path, query ignored).</summary>
    public FakeRoute On(string method, string path) => _routes.GetOrAdd($"{method} {path}", _ => new FakeRoute());

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        _requests.Enqueue(new RecordedRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "/",
            context.Request.QueryString.Value ?? "",
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body,
            DateTimeOffset.UtcNow) { RawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path });

        if (!_routes.TryGetValue($"{context.Request.Method} {context.Request.Path}", out var route) || route.Next() is not { } respond)
        {
            if (AnswersModels && context.Request.Method == "POST" && await FakeModels.HandleAsync(context, body))
            {
                return;
            }
            context.Response.StatusCode = 404;
            await context.Response.WriteAsJsonAsync(new { error = new { message = $"fake upstream has no route for {context.Request.Method} {context.Request.Path}", type = "not_found" } });
            return;
        }
        try
        {
            await respond(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            route.MarkCancelled();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The scripted answers of one route.</summary>
public sealed class FakeRoute
{
    private readonly Lock _gate = new();
    private readonly Queue<Func<HttpContext, Task>> _queue = new();
    private Func<HttpContext, Task>? _last;
    private int _calls;
    private int _cancelled;

    public int Calls => Volatile.Read(ref _calls);
    /// <summary>How many responses were cut short because the caller went away.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    /// <summary>Answer with these, in order; the last one repeats.</summary>
    public FakeRoute Respond(params Func<HttpContext, Task>[] responses)
    {
        lock (_gate)
        {
            foreach (var response in responses)
            {
                _queue.Enqueue(response);
            }
        }
        return this;
    }

    internal Func<HttpContext, Task>? Next()
    {
        Interlocked.Increment(ref _calls);
        lock (_gate)
        {
            if (_queue.TryDequeue(out var next))
            {
                _last = next;
            }
            return _last;
        }
    }

    internal void MarkCancelled() => Interlocked.Increment(ref _cancelled);
}

/// <summary>Building blocks for scripted answers.</summary>
public static class FakeResponse
{
    public static Func<HttpContext, Task> Json(string json, int status = 200, IReadOnlyDictionary<string, string>? headers = null) => async context =>
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        foreach (var (key, value) in headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[key] = value;
        }
        await context.Response.WriteAsync(json, context.RequestAborted);
    };

    public static Func<HttpContext, Task> Error(int status, string json, TimeSpan? retryAfter = null) =>
        Json(json, status, retryAfter is { } r ? new Dictionary<string, string> { ["Retry-After"] = ((int)r.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) } : null);

    /// <summary>Server-sent events, flushed one by one. With <paramref name="holdAfterFirst"/>, the rest waits until that task completes.</summary>
    public static Func<HttpContext, Task> Sse(IEnumerable<SseEvent> events, TimeSpan? interval = null, Task? holdAfterFirst = null) => async context =>
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var first = true;
        foreach (var e in events)
        {
            if (!first)
            {
                if (holdAfterFirst is not null)
                {
                    await holdAfterFirst.WaitAsync(context.RequestAborted);
                    holdAfterFirst = null;
                }
                if (interval is { } delay)
                {
                    await Task.Delay(delay, context.RequestAborted);
                }
            }
            first = false;
            await context.Response.WriteAsync(e.ToWire(), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    };

    /// <summary>Wait, then answer as <paramref name="then"/>; a caller that gives up first cancels the wait.</summary>
    public static Func<HttpContext, Task> Delay(TimeSpan delay, Func<HttpContext, Task> then) => async context =>
    {
        await Task.Delay(delay, context.RequestAborted);
        await then(context);
    };

    /// <summary>Drop the connection without an answer.</summary>
    public static Func<HttpContext, Task> Abort() => context =>
    {
        context.Abort();
        return Task.CompletedTask;
    };
}

/// <summary>One server-sent event.</summary>
public sealed record SseEvent(string Data, string? Event = null)
{
    public string ToWire()
    {
        var sb = new StringBuilder();
        if (Event is not null)
        {
            sb.Append("event: ").Append(Event).Append('\n');
        }
        foreach (var line in Data.Split('\n'))
        {
            sb.Append("data: ").Append(line).Append('\n');
        }
        return sb.Append('\n').ToString();
    }
}
