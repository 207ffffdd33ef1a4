using System.Text.Json;
using ThinkWatch.AuditIngest.Ingest;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>
/// One event on its way to a SIEM: its id and time, and its JSON — the row as ClickHouse stores it,
/// with the same snake_case field names /api/logs and its CSV use.
/// </summary>
public sealed record ForwardedEvent(string EventId, DateTimeOffset Ts, string Json)
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static ForwardedEvent Of<TRow>(TRow row) where TRow : IEventRow => new(row.EventId, row.Ts, JsonSerializer.Serialize(row, Options));

    /// <summary>A JSON array of events, as dead letters keep them.</summary>
    public static string ToJsonArray(IReadOnlyList<ForwardedEvent> events) => "[" + string.Join(',', events.Select(e => e.Json)) + "]";

    public static IReadOnlyList<ForwardedEvent> FromJsonArray(string json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(e => new ForwardedEvent(
            e.GetProperty("event_id").GetString()!, e.GetProperty("ts").GetDateTimeOffset(), e.GetRawText()))];
    }
}

/// <summary>A delivery that failed; <see cref="Retryable"/> false when trying again cannot help (the receiver refused the request itself).</summary>
public sealed class ForwardingException(string message, bool retryable = true, Exception? inner = null) : Exception(message, inner)
{
    public bool Retryable { get; } = retryable;
}

/// <summary>Carries batches to one kind of receiver.</summary>
public interface IForwarderTransport
{
    IReadOnlyList<string> Kinds { get; }

    /// <summary>Delivers every event or throws (<see cref="ForwardingException"/>, or an I/O error).</summary>
    Task SendAsync(Forwarder forwarder, string eventKind, IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken);
}
