using ThinkWatch.Security;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>
/// /api/log-forwarders: the SIEM forwarders (syslog UDP/TCP, webhook, Kafka). Reading needs
/// logs:read; changing them settings:manage. Secrets are write-only.
/// </summary>
public static class ForwardersApi
{
    public static IEndpointRouteBuilder MapForwardersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/log-forwarders").WithTags("Log forwarders");
        group.MapGet("/", (ForwarderStore s, CancellationToken ct) => s.ListAsync(ct)).RequirePermission(Permissions.LogsRead);
        group.MapGet("/{id:guid}", async (ForwarderStore s, Guid id, CancellationToken ct) => OutcomeResults.Map(await s.GetAsync(id, ct)))
            .RequirePermission(Permissions.LogsRead);
        group.MapPost("/", async (ForwarderStore s, ForwardingDispatcher d, HttpContext http, ForwarderInput input, CancellationToken ct) =>
            OutcomeResults.Created(Changed(d, await s.CreateAsync(ConsoleActor.From(http), input, ct)), f => $"/api/log-forwarders/{f.Id}"))
            .RequirePermission(Permissions.SettingsManage);
        group.MapPut("/{id:guid}", async (ForwarderStore s, ForwardingDispatcher d, HttpContext http, Guid id, ForwarderInput input, CancellationToken ct) =>
            OutcomeResults.Map(Changed(d, await s.UpdateAsync(ConsoleActor.From(http), id, input, ct)))).RequirePermission(Permissions.SettingsManage);
        group.MapDelete("/{id:guid}", async (ForwarderStore s, ForwardingDispatcher d, HttpContext http, Guid id, CancellationToken ct) =>
            OutcomeResults.Map(Changed(d, await s.DeleteAsync(ConsoleActor.From(http), id, ct)))).RequirePermission(Permissions.SettingsManage);
        group.MapGet("/{id:guid}/dead-letters", (ForwarderStore s, Guid id, CancellationToken ct) => s.DeadLettersAsync(id, 100, ct))
            .RequirePermission(Permissions.LogsRead);
        group.MapPost("/replay", async (DeadLetterReplayer r, CancellationToken ct) => TypedResults.Ok(new { delivered = await r.ReplayAsync(ct) }))
            .RequirePermission(Permissions.SettingsManage);
        return app;
    }

    private static Outcome<ForwarderView> Changed(ForwardingDispatcher dispatcher, Outcome<ForwarderView> outcome)
    {
        if (outcome is Outcome<ForwarderView>.Done)
        {
            dispatcher.Invalidate();
        }
        return outcome;
    }
}
