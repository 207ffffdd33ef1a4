using System.Text.Json;
using Dapper;
using Npgsql;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>A batch a forwarder did not take, waiting to be offered again.</summary>
public sealed record DeadLetter(long Id, Guid ForwarderId, string EventKind, string Events, int EventCount, int Attempts, string LastError, DateTime CreatedAt);

/// <summary>
/// Forwarders and their dead letters in Postgres. Input is checked completely before anything is
/// written; secrets are sealed (AES-256-GCM) and never read back out through the API; every change
/// commits with its admin audit record through the outbox.
/// </summary>
public sealed class ForwarderStore(NpgsqlDataSource dataSource, SecretBox box, EventOutbox outbox, TimeProvider time)
{
    /// <summary>A table row; settable properties, because Dapper matches constructors only on exact column types.</summary>
    private sealed record Row
    {
        public Guid Id { get; init; }
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public string[] EventKinds { get; init; } = [];
        public bool Enabled { get; init; }
        public string Settings { get; init; } = "{}";
        public byte[]? SecretSealed { get; init; }
        public int? SecretKeyVersion { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime UpdatedAt { get; init; }
    }

    private const string Columns = """
        id AS Id, name AS Name, kind AS Kind, event_kinds AS EventKinds, enabled AS Enabled, settings::text AS Settings,
        secret_sealed AS SecretSealed, secret_key_version AS SecretKeyVersion, created_at AS CreatedAt, updated_at AS UpdatedAt
        """;

    public Task<IReadOnlyList<ForwarderView>> ListAsync(CancellationToken cancellationToken) => ViewsAsync(null, cancellationToken);

    public async Task<Outcome<ForwarderView>> GetAsync(Guid id, CancellationToken cancellationToken) =>
        (await ViewsAsync(id, cancellationToken)) is [var view] ? new Outcome<ForwarderView>.Done(view) : new Outcome<ForwarderView>.NotFound();

    /// <summary>Every forwarder, or the one with <paramref name="id"/>, with its dead-letter backlog.</summary>
    private async Task<IReadOnlyList<ForwarderView>> ViewsAsync(Guid? id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM log_forwarders WHERE @id::uuid IS NULL OR id = @id ORDER BY name", new { id }, cancellationToken: cancellationToken));
        var backlog = await BacklogAsync(connection, id, null, cancellationToken);
        return [.. rows.Select(r => View(r, backlog.GetValueOrDefault(r.Id)))];
    }

    /// <summary>Dead letters kept per forwarder: every forwarder's, or the one with <paramref name="id"/>.</summary>
    private static async Task<Dictionary<Guid, long>> BacklogAsync(NpgsqlConnection connection, Guid? id, NpgsqlTransaction? tx, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<(Guid Id, long Count)>(new CommandDefinition(
            "SELECT forwarder_id, count(*) FROM forwarder_dead_letters WHERE @id::uuid IS NULL OR forwarder_id = @id GROUP BY forwarder_id", new { id }, tx,
            cancellationToken: cancellationToken))).ToDictionary(b => b.Id, b => b.Count);

    /// <summary>Every forwarder with its secret opened, for delivery.</summary>
    public async Task<IReadOnlyList<Forwarder>> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"SELECT {Columns} FROM log_forwarders", cancellationToken: cancellationToken));
        return [.. rows.Select(r => new Forwarder(r.Id, r.Name, r.Kind, r.EventKinds, r.Enabled, Settings(r.Settings),
            r.SecretSealed is { } sealedSecret ? box.Open(sealedSecret, r.SecretKeyVersion!.Value, r.Id.ToByteArray()) : null))];
    }

    public Task<Outcome<ForwarderView>> CreateAsync(ConsoleActor actor, ForwarderInput input, CancellationToken cancellationToken) =>
        SaveAsync(actor, null, input, cancellationToken);

    public Task<Outcome<ForwarderView>> UpdateAsync(ConsoleActor actor, Guid id, ForwarderInput input, CancellationToken cancellationToken) =>
        SaveAsync(actor, id, input, cancellationToken);

    private async Task<Outcome<ForwarderView>> SaveAsync(ConsoleActor actor, Guid? id, ForwarderInput input, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        Row? existing = null;
        if (id is { } existingId)
        {
            existing = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM log_forwarders WHERE id = @existingId FOR UPDATE", new { existingId }, tx, cancellationToken: cancellationToken));
            if (existing is null)
            {
                return new Outcome<ForwarderView>.NotFound();
            }
        }
        var errors = ForwarderValidation.Check(input, hasSecret: existing?.SecretSealed is not null);
        if (errors.Count > 0)
        {
            return new Outcome<ForwarderView>.Invalid(errors);
        }
        var rowId = id ?? Guid.CreateVersion7();
        var now = time.GetUtcNow().UtcDateTime;
        var (secret, version) = input.Secret is { Length: > 0 } s ? (box.Seal(s, rowId.ToByteArray()), (int?)box.CurrentVersion)
            : (existing?.SecretSealed, existing?.SecretKeyVersion);
        var row = new Row
        {
            Id = rowId, Name = input.Name!.Trim(), Kind = input.Kind!, EventKinds = [.. input.EventKinds!.Distinct()], Enabled = input.Enabled ?? true,
            Settings = JsonSerializer.Serialize(input.Settings ?? new ForwarderSettings(), ForwarderSettings.Json), SecretSealed = secret, SecretKeyVersion = version,
            CreatedAt = existing?.CreatedAt ?? now, UpdatedAt = now,
        };
        try
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO log_forwarders (id, name, kind, event_kinds, enabled, settings, secret_sealed, secret_key_version, created_at, updated_at)
                VALUES (@Id, @Name, @Kind, @EventKinds, @Enabled, @Settings::jsonb, @SecretSealed, @SecretKeyVersion, @CreatedAt, @UpdatedAt)
                ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, event_kinds = EXCLUDED.event_kinds, enabled = EXCLUDED.enabled,
                    settings = EXCLUDED.settings, secret_sealed = EXCLUDED.secret_sealed, secret_key_version = EXCLUDED.secret_key_version, updated_at = EXCLUDED.updated_at
                """, row, tx, cancellationToken: cancellationToken));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return new Outcome<ForwarderView>.Invalid(new() { ["name"] = ["A forwarder with this name exists already."] });
        }
        // An update answers with the backlog like a read does (a new forwarder has none).
        var deadLetters = id is null ? 0 : (await BacklogAsync(connection, rowId, tx, cancellationToken)).GetValueOrDefault(rowId);
        var view = View(row, deadLetters);
        await CommitAsync(actor, id is null ? "log_forwarder.create" : "log_forwarder.update", rowId, view, connection, tx, cancellationToken);
        return new Outcome<ForwarderView>.Done(view);
    }

    public async Task<Outcome<ForwarderView>> DeleteAsync(ConsoleActor actor, Guid id, CancellationToken cancellationToken)
    {
        var row = await outbox.DeleteAuditedAsync<Row>(dataSource, actor, time.GetUtcNow(), $"DELETE FROM log_forwarders WHERE id = @id RETURNING {Columns}",
            new { id }, "log_forwarder.delete", "log_forwarder", id.ToString(), r => View(r, 0), cancellationToken);
        return row is null ? new Outcome<ForwarderView>.NotFound() : new Outcome<ForwarderView>.Done(View(row, 0));
    }

    private async Task CommitAsync(ConsoleActor actor, string action, Guid id, ForwarderView details, NpgsqlConnection connection, NpgsqlTransaction tx,
        CancellationToken cancellationToken)
    {
        await outbox.CommitAuditedAsync(actor, time.GetUtcNow(), action, "log_forwarder", id.ToString(), details, connection, tx, cancellationToken);
    }

    public async Task AddDeadLetterAsync(Guid forwarderId, string eventKind, string eventsJson, int eventCount, int attempts, string error,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO forwarder_dead_letters (forwarder_id, event_kind, events, event_count, attempts, last_error, created_at)
            VALUES (@forwarderId, @eventKind, @eventsJson::jsonb, @eventCount, @attempts, @error, @now)
            """, new { forwarderId, eventKind, eventsJson, eventCount, attempts, error = Truncate(error), now = time.GetUtcNow().UtcDateTime },
            cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<DeadLetter>> DeadLettersAsync(Guid forwarderId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<DeadLetter>(new CommandDefinition("""
            SELECT id AS Id, forwarder_id AS ForwarderId, event_kind AS EventKind, events::text AS Events, event_count AS EventCount, attempts AS Attempts,
                   last_error AS LastError, created_at AS CreatedAt
            FROM forwarder_dead_letters WHERE forwarder_id = @forwarderId ORDER BY id LIMIT @limit
            """, new { forwarderId, limit }, cancellationToken: cancellationToken))];
    }

    public async Task RemoveDeadLetterAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM forwarder_dead_letters WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    public async Task RecordAttemptAsync(long id, string error, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE forwarder_dead_letters SET attempts = attempts + 1, last_error = @error WHERE id = @id", new { id, error = Truncate(error) },
            cancellationToken: cancellationToken));
    }

    private static string Truncate(string error) => error.Length <= 2000 ? error : error[..2000];

    private static ForwarderSettings Settings(string json) => JsonSerializer.Deserialize<ForwarderSettings>(json, ForwarderSettings.Json) ?? new();

    private static ForwarderView View(Row r, long deadLetters) =>
        new(r.Id, r.Name, r.Kind, r.EventKinds, r.Enabled, Settings(r.Settings), r.SecretSealed is not null, deadLetters, r.CreatedAt, r.UpdatedAt);
}

/// <summary>What a forwarder must say to be saved; every problem at once, by field.</summary>
public static class ForwarderValidation
{
    public const int MinSecretLength = 16;

    public static Dictionary<string, string[]> Check(ForwarderInput input, bool hasSecret)
    {
        var errors = new Dictionary<string, string[]>();
        if (input.Name?.Trim() is not { Length: > 0 and <= 100 })
        {
            errors["name"] = ["Required, at most 100 characters."];
        }
        if (input.Kind is null || !ForwarderKinds.All.Contains(input.Kind))
        {
            errors["kind"] = [$"One of: {string.Join(", ", ForwarderKinds.All)}."];
        }
        if (input.EventKinds is not { Length: > 0 } kinds || kinds.Any(k => !ForwarderKinds.EventKinds.Contains(k)))
        {
            errors["eventKinds"] = [$"One or more of: {string.Join(", ", ForwarderKinds.EventKinds)}."];
        }
        var s = input.Settings ?? new ForwarderSettings();
        if (s.BatchSize is not null and not (>= 1 and <= 10_000))
        {
            errors["settings.batchSize"] = ["From 1 to 10000."];
        }
        if (s.MaxAttempts is not null and not (>= 1 and <= 100))
        {
            errors["settings.maxAttempts"] = ["From 1 to 100."];
        }
        switch (input.Kind)
        {
            case ForwarderKinds.SyslogUdp or ForwarderKinds.SyslogTcp or ForwarderKinds.SyslogTls:
                if (s.Host is not { Length: > 0 and <= 253 } host || host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                {
                    errors["settings.host"] = ["Required: the syslog collector's host name or address."];
                }
                if (s.Port is not null and not (>= 1 and <= 65535))
                {
                    errors["settings.port"] = ["From 1 to 65535 (514 when left out, 6514 over TLS)."];
                }
                if (s.Facility is not null and not (>= 0 and <= 23))
                {
                    errors["settings.facility"] = ["From 0 to 23 (13, log audit, when left out)."];
                }
                if (s.AppName is not null && (s.AppName.Length is 0 or > 48 || s.AppName.Any(c => c is <= ' ' or > '~')))
                {
                    errors["settings.appName"] = ["1 to 48 printable ASCII characters without spaces (RFC 5424 APP-NAME)."];
                }
                if (s.CaCertificate is not null)
                {
                    using var ca = SyslogTransport.TrustedCa(s.CaCertificate);
                    if (ca is null)
                    {
                        errors["settings.caCertificate"] = ["A certificate in PEM (-----BEGIN CERTIFICATE-----)."];
                    }
                }
                if (s.ServerName is not null && (s.ServerName.Length is 0 or > 253 || s.ServerName.Any(c => c is <= ' ' or > '~')))
                {
                    errors["settings.serverName"] = ["The host name the collector's certificate carries."];
                }
                break;
            case ForwarderKinds.Webhook:
                if (!Uri.TryCreate(s.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                {
                    errors["settings.url"] = ["Required: an http:// or https:// URL."];
                }
                if (input.Secret is { Length: > 0 and < MinSecretLength } || (input.Secret is not { Length: > 0 } && !hasSecret))
                {
                    errors["secret"] = [$"Required: the key every request is signed with (HMAC-SHA256), at least {MinSecretLength} characters."];
                }
                break;
            case ForwarderKinds.Kafka:
                if (s.BootstrapServers is not { Length: > 0 })
                {
                    errors["settings.bootstrapServers"] = ["Required: host:port[,host:port…]."];
                }
                if (s.Topic is not { Length: > 0 and <= 249 } topic || !topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                {
                    errors["settings.topic"] = ["Required: a Kafka topic name (letters, digits, '.', '_', '-')."];
                }
                if (s.SecurityProtocol is not null && !KafkaTransport.SecurityProtocols.ContainsKey(s.SecurityProtocol))
                {
                    errors["settings.securityProtocol"] = [$"One of: {string.Join(", ", KafkaTransport.SecurityProtocols.Keys)}."];
                }
                if (s.SecurityProtocol is "sasl_plaintext" or "sasl_ssl")
                {
                    if (s.SaslMechanism is null || !KafkaTransport.SaslMechanisms.ContainsKey(s.SaslMechanism))
                    {
                        errors["settings.saslMechanism"] = [$"One of: {string.Join(", ", KafkaTransport.SaslMechanisms.Keys)}."];
                    }
                    if (s.SaslUsername is not { Length: > 0 })
                    {
                        errors["settings.saslUsername"] = ["Required with SASL."];
                    }
                    if (input.Secret is not { Length: > 0 } && !hasSecret)
                    {
                        errors["secret"] = ["Required with SASL: the password."];
                    }
                }
                break;
        }
        return errors;
    }
}
