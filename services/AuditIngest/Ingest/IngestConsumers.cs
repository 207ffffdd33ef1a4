using MassTransit;
using ThinkWatch.Contracts.Events;

namespace ThinkWatch.AuditIngest.Ingest;

/// <summary>
/// Takes events from the bus in batches and writes them to their table; the batch is acknowledged
/// only when ClickHouse accepted it (Consume returns), so nothing is lost while ClickHouse is away.
/// </summary>
public abstract class IngestConsumer<TEvent, TRow>(EventWriter writer, string table, Func<TEvent, TRow> toRow) : IConsumer<Batch<TEvent>>
    where TEvent : class
    where TRow : IEventRow
{
    public async Task Consume(ConsumeContext<Batch<TEvent>> context)
    {
        var rows = new List<TRow>(context.Message.Length);
        foreach (var message in context.Message)
        {
            rows.Add(toRow(message.Message));
        }
        await writer.WriteAsync(table, rows, context.CancellationToken);
    }
}

public sealed class UsageIngestConsumer(EventWriter writer) : IngestConsumer<UsageRecorded, UsageRow>(writer, UsageRow.Table, UsageRow.From);

public sealed class McpCallIngestConsumer(EventWriter writer) : IngestConsumer<McpCallRecorded, McpCallRow>(writer, McpCallRow.Table, McpCallRow.From);

public sealed class AdminAuditIngestConsumer(EventWriter writer) : IngestConsumer<AdminActionRecorded, AdminAuditRow>(writer, AdminAuditRow.Table, AdminAuditRow.From);

public sealed class AccessIngestConsumer(EventWriter writer) : IngestConsumer<AccessDenied, AccessRow>(writer, AccessRow.Table, AccessRow.From);

/// <summary>
/// The same events from queues of their own, for the SIEM forwarders: acknowledged once every
/// forwarder took the batch or kept it as a dead letter. A slow or absent receiver backs up only
/// these queues, never ingestion.
/// </summary>
public abstract class ForwardConsumer<TEvent, TRow>(Forwarding.ForwardingDispatcher dispatcher, string eventKind, Func<TEvent, TRow> toRow) : IConsumer<Batch<TEvent>>
    where TEvent : class
    where TRow : IEventRow
{
    public Task Consume(ConsumeContext<Batch<TEvent>> context) =>
        dispatcher.ForwardAsync(eventKind, [.. context.Message.Select(m => Forwarding.ForwardedEvent.Of(toRow(m.Message)))], context.CancellationToken);
}

public sealed class UsageForwardConsumer(Forwarding.ForwardingDispatcher dispatcher) : ForwardConsumer<UsageRecorded, UsageRow>(dispatcher, Logs.LogKind.Usage.Name, UsageRow.From);

public sealed class McpCallForwardConsumer(Forwarding.ForwardingDispatcher dispatcher) : ForwardConsumer<McpCallRecorded, McpCallRow>(dispatcher, Logs.LogKind.Mcp.Name, McpCallRow.From);

public sealed class AdminAuditForwardConsumer(Forwarding.ForwardingDispatcher dispatcher) : ForwardConsumer<AdminActionRecorded, AdminAuditRow>(dispatcher, Logs.LogKind.Admin.Name, AdminAuditRow.From);

public sealed class AccessForwardConsumer(Forwarding.ForwardingDispatcher dispatcher) : ForwardConsumer<AccessDenied, AccessRow>(dispatcher, Logs.LogKind.Access.Name, AccessRow.From);
