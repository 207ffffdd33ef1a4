using System.Collections.Frozen;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ThinkWatch.Integrations;

public sealed class SpoolOptions
{
    public const string Section = "Spool";

    /// <summary>Where events wait for the broker; one folder per instance, on a persistent volume in production. Empty: under the temp folder.</summary>
    public string Directory { get; set; } = "";

    [Range(1024 * 1024, 1L << 40)]
    public long MaxBytes { get; set; } = 1L << 30;

    [Range(64 * 1024, 1L << 32)]
    public long SegmentBytes { get; set; } = 16 * 1024 * 1024;

    public SpoolFullPolicy FullPolicy { get; set; } = SpoolFullPolicy.DropOldest;

    /// <summary>A batch not published within this is a stall (see <see cref="EventSpoolPublisher"/>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A full spool is reported at most this often (every lost event is counted).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan FullLogInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Events for the bus that must not be lost: written to a <see cref="DiskSpool"/> at once (the
/// caller never waits for the broker), published in order by <see cref="EventSpoolPublisher"/>
/// and forgotten only once the broker took them — so a broker outage or a restart only delays
/// them. Delivery is at least once (a crash between publish and acknowledgement repeats a few);
/// consumers de-duplicate by event id.
/// </summary>
public sealed partial class EventSpool : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly FrozenDictionary<string, Type> _types;
    private readonly IOptions<SpoolOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<EventSpool> _logger;
    private readonly Counter<long> _lost;
    private long _lastFullLog = long.MinValue;

    public EventSpool(IReadOnlyCollection<Type> messageTypes, IOptions<SpoolOptions> options, IHostEnvironment environment, IMeterFactory meters, TimeProvider time,
        ILogger<EventSpool> logger)
    {
        _types = messageTypes.ToFrozenDictionary(t => t.FullName!, t => t);
        (_options, _time, _logger) = (options, time, logger);
        var o = options.Value;
        var directory = o.Directory is { Length: > 0 } d ? d : Path.Combine(Path.GetTempPath(), "thinkwatch-spool", environment.ApplicationName);
        Spool = new DiskSpool(directory, o.MaxBytes, o.SegmentBytes, o.FullPolicy, logger);
        var meter = meters.Create("ThinkWatch");
        meter.CreateObservableGauge("spool.depth", () => Depth, description: "Events waiting for the broker.");
        meter.CreateObservableGauge("spool.bytes", () => Spool.Bytes, description: "Bytes of events waiting for the broker.");
        _lost = meter.CreateCounter<long>("spool.dropped", description: "Events lost because the spool was full.");
    }

    internal DiskSpool Spool { get; }

    /// <summary>Events waiting for the broker.</summary>
    public long Depth => Spool.Depth;

    /// <summary>Queues <paramref name="message"/> for the bus; false (counted, logged) when the full spool's policy dropped it.</summary>
    public bool Enqueue<T>(T message) where T : class
    {
        if (!_types.ContainsKey(typeof(T).FullName!))
        {
            throw new InvalidOperationException($"{typeof(T).Name} is not registered with the spool.");
        }
        // The trace of the request that raised the event goes with it: the publish, whenever it happens, continues it.
        var (traceParent, traceState) = TraceContinuation.CaptureHeader();
        var bytes = JsonSerializer.SerializeToUtf8Bytes(
            new Envelope(typeof(T).FullName!, JsonSerializer.SerializeToElement(message, Json), traceParent, traceState), Json);
        var before = Spool.Dropped;
        var appended = Spool.TryAppend(bytes);
        if (Spool.Dropped > before)
        {
            _lost.Add(Spool.Dropped - before);
            var now = _time.GetTimestamp();
            var last = Interlocked.Read(ref _lastFullLog);
            if (last == long.MinValue || _time.GetElapsedTime(last, now) >= _options.Value.FullLogInterval)
            {
                Interlocked.Exchange(ref _lastFullLog, now);
                LogFull(_logger, Spool.Depth, Spool.Dropped, _options.Value.FullPolicy);
            }
        }
        return appended;
    }

    internal (object Message, Type Type, ActivityContext Trace)? Open(byte[] record)
    {
        var envelope = JsonSerializer.Deserialize<Envelope>(record, Json)!;
        return _types.TryGetValue(envelope.Type, out var type)
            ? (envelope.Body.Deserialize(type, Json)!, type, TraceContinuation.Parse(envelope.TraceParent, envelope.TraceState))
            : null;
    }

    public void Dispose() => Spool.Dispose();

    /// <summary>One spooled event; records spooled before the trace was kept have none.</summary>
    private sealed record Envelope(
        string Type,
        JsonElement Body,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TraceParent = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TraceState = null);

    [LoggerMessage(EventId = 1031, Level = LogLevel.Error, Message = "The event spool is full ({Depth} events waiting, {Dropped} lost so far, policy {Policy}); is the message broker down?")]
    private static partial void LogFull(ILogger logger, long depth, long dropped, SpoolFullPolicy policy);
}

/// <summary>
/// Publishes spooled events in order, a batch at a time; a failed batch is read again after a pause. A batch that is not
/// published within <see cref="SpoolOptions.PublishTimeout"/> is a stall: RabbitMQ.Client 7 can leave a channel with publisher confirms hung
/// after the broker restarts, every publish on it waiting while the connection is back (rabbitmq-dotnet-client #1928/#1930).
/// After <see cref="RestartAfterStalls"/> stalls in a row the bus is restarted, which opens fresh connections and channels and
/// empties MassTransit's endpoint caches.
/// </summary>
public sealed partial class EventSpoolPublisher(EventSpool spool, IBusControl bus, IOptions<SpoolOptions> options, TimeProvider time,
    ILogger<EventSpoolPublisher> logger) : BackgroundService
{
    public const int BatchSize = 256;
    public const int RestartAfterStalls = 2;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var (failures, stalls) = (0, 0);
        while (!stoppingToken.IsCancellationRequested)
        {
            var batch = await spool.Spool.ReadAsync(BatchSize, TimeSpan.FromSeconds(1), stoppingToken);
            if (batch.Records.Count == 0)
            {
                continue;
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            try
            {
                timeout.CancelAfter(options.Value.PublishTimeout);
                foreach (var record in batch.Records)
                {
                    if (spool.Open(record) is var (message, type, trace))
                    {
                        // MassTransit's publish activity (and so the consumer's) joins the trace of the request that raised the event.
                        using var activity = TraceContinuation.Continue("publish spooled event", trace);
                        activity?.SetTag("thinkwatch.event", type.Name);
                        await bus.Publish(message, type, timeout.Token);
                    }
                }
                spool.Spool.Acknowledge(batch.Next);
                (failures, stalls) = (0, 0);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                spool.Spool.Rewind();
                failures++;
                stalls = timeout.IsCancellationRequested ? stalls + 1 : 0;
                LogPublishFailed(logger, batch.Records.Count, spool.Spool.Depth, ex.GetType().Name, ex.Message);
                if (stalls >= RestartAfterStalls)
                {
                    stalls = 0;
                    await RestartBusAsync(stoppingToken);
                }
                // 0.5 s, 1 s, 2 s … up to 30 s between attempts while the broker is away.
                await Task.Delay(Backoff.Exponential(failures, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30)), time, stoppingToken);
            }
        }
    }

    private async Task RestartBusAsync(CancellationToken stoppingToken)
    {
        LogRestartingBus(logger, RestartAfterStalls);
        await StepAsync("stop", TimeSpan.FromSeconds(10), bus.StopAsync, stoppingToken);
        // If it does not start (the broker is away again), publishes fail and a later stall restarts it again.
        await StepAsync("start", TimeSpan.FromSeconds(30), bus.StartAsync, stoppingToken);
    }

    private async Task StepAsync(string step, TimeSpan limit, Func<CancellationToken, Task> action, CancellationToken stoppingToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(limit);
            await action(timeout.Token);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogRestartFailed(logger, step, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 1032, Level = LogLevel.Warning, Message = "Publishing {Count} spooled events failed ({Depth} waiting): {Error}: {Reason}; retrying")]
    private static partial void LogPublishFailed(ILogger logger, int count, long depth, string error, string reason);

    [LoggerMessage(EventId = 1033, Level = LogLevel.Warning, Message = "Publishing stalled {Stalls} times in a row; restarting the bus for fresh connections")]
    private static partial void LogRestartingBus(ILogger logger, int stalls);

    [LoggerMessage(EventId = 1034, Level = LogLevel.Error, Message = "Restarting the bus failed to {Step}: {Error}: {Reason}")]
    private static partial void LogRestartFailed(ILogger logger, string step, string error, string reason);
}

public static class EventSpoolExtensions
{
    /// <summary>A durable disk spool for these message types, published through the service's MassTransit bus.</summary>
    public static IHostApplicationBuilder AddEventSpool(this IHostApplicationBuilder builder, params Type[] messageTypes)
    {
        builder.Services.AddOptions<SpoolOptions>().BindConfiguration(SpoolOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<EventSpool>(sp, (IReadOnlyCollection<Type>)messageTypes));
        builder.Services.AddHostedService<EventSpoolPublisher>();
        return builder;
    }
}
