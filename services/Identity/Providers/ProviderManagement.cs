using ThinkWatch.Security;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Providers;
using ThinkWatch.Identity.Admin;
using ThinkWatch.Identity.Setup;
using ThinkWatch.Integrations;

namespace ThinkWatch.Identity.Providers;

/// <summary>Upstream providers with sealed credentials; every change tells the gateways (ConfigChanged "providers").</summary>
public sealed partial class ProviderManagement(
    NpgsqlDataSource dataSource, SecretBox box, EventOutbox outbox, AuditTrail audit, TimeProvider time, ILogger<ProviderManagement> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    internal sealed class Row
    {
        public Guid Id { get; init; }
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public string? BaseUrl { get; init; }
        public string Settings { get; init; } = "{}";
        public byte[] Credentials { get; init; } = [];
        public int KeyVersion { get; init; }
        public string CredentialsHint { get; init; } = "";
        public DateTime CreatedAt { get; init; }
        public DateTime UpdatedAt { get; init; }
    }

    internal const string Select = """
        SELECT id, name, kind, base_url AS BaseUrl, settings::text AS Settings, credentials, key_version AS KeyVersion,
               credentials_hint AS CredentialsHint, created_at AS CreatedAt, updated_at AS UpdatedAt
        FROM providers WHERE deleted_at IS NULL
        """;

    public async Task<IReadOnlyList<ProviderView>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await ReadAsync(null, cancellationToken)).Select(View)];

    public async Task<Outcome<ProviderView>> GetAsync(Guid id, CancellationToken cancellationToken) =>
        (await ReadAsync(id, cancellationToken)).SingleOrDefault() is { } row ? new Outcome<ProviderView>.Done(View(row)) : new Outcome<ProviderView>.NotFound();

    /// <summary>Every live provider with its credentials opened: for the gateways, over internal gRPC only.</summary>
    /// A row that does not decrypt (tampered, moved, or its key version removed) is skipped and logged, not served.
    internal async Task<IReadOnlyList<(Row Row, ProviderCredentialsInput Credentials)>> OpenAllAsync(CancellationToken cancellationToken)
    {
        var opened = new List<(Row, ProviderCredentialsInput)>();
        foreach (var row in await ReadAsync(null, cancellationToken))
        {
            try
            {
                opened.Add((row, JsonSerializer.Deserialize<ProviderCredentialsInput>(box.Open(row.Credentials, row.KeyVersion, row.Id.ToByteArray()), Json)!));
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                LogUnreadable(logger, ex, row.Id, row.KeyVersion);
            }
        }
        return opened;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Credentials of provider {ProviderId} (key version {KeyVersion}) cannot be decrypted; the provider is not served")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, Guid providerId, int keyVersion);

    public async Task<Outcome<ProviderView>> CreateAsync(Actor actor, CreateProviderRequest request, CancellationToken cancellationToken)
    {
        var errors = ValidateNew(request);
        if (errors.Count > 0)
        {
            return new Outcome<ProviderView>.Invalid(errors);
        }
        var id = Guid.CreateVersion7();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        if (!await InsertAsync(id, request, connection, tx, cancellationToken))
        {
            return new Outcome<ProviderView>.Invalid(new() { ["name"] = ["A provider with this name already exists."] });
        }
        await ChangedAsync(actor, "provider.create", id, new { request.Name, request.Kind }, connection, tx, cancellationToken);
        return await GetAsync(id, cancellationToken);
    }

    public static Dictionary<string, string[]> ValidateNew(CreateProviderRequest request) =>
        Validate(request.Name, request.Kind, request.BaseUrl, request.Settings, request.Credentials, creating: true);

    /// <summary>Inserts a validated provider in the caller's transaction with its ConfigChanged event; false when the name is taken.</summary>
    internal async Task<bool> InsertAsync(Guid id, CreateProviderRequest request, NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var inserted = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO providers (id, name, kind, base_url, settings, credentials, key_version, credentials_hint, created_at, updated_at)
            SELECT @id, @name, @Kind, @BaseUrl, @settings::jsonb, @sealed, @version, @hint, @now, @now
            WHERE NOT EXISTS (SELECT 1 FROM providers WHERE lower(name) = lower(@name) AND deleted_at IS NULL)
            """,
            new
            {
                id, name = request.Name!.Trim(), request.Kind, BaseUrl = request.BaseUrl?.TrimEnd('/'),
                settings = JsonSerializer.Serialize(request.Settings ?? [], Json),
                @sealed = box.Seal(JsonSerializer.Serialize(request.Credentials, Json), id.ToByteArray()), version = box.CurrentVersion,
                hint = Hint(request.Credentials!), now,
            }, tx, cancellationToken: cancellationToken));
        return inserted == 1;
    }

    public async Task<Outcome<ProviderView>> UpdateAsync(Actor actor, Guid id, UpdateProviderRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var current = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(Select + " AND id = @id FOR UPDATE", new { id }, tx, cancellationToken: cancellationToken));
        if (current is null)
        {
            return new Outcome<ProviderView>.NotFound();
        }
        var errors = Validate(request.Name ?? current.Name, current.Kind, request.BaseUrl ?? current.BaseUrl,
            request.Settings ?? JsonSerializer.Deserialize<Dictionary<string, string>>(current.Settings), request.Credentials, creating: false);
        if (errors.Count > 0)
        {
            return new Outcome<ProviderView>.Invalid(errors);
        }
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE providers SET name = coalesce(@name, name), base_url = coalesce(@BaseUrl, base_url), settings = coalesce(@settings::jsonb, settings),
                   credentials = coalesce(@sealed, credentials), key_version = CASE WHEN @sealed IS NULL THEN key_version ELSE @version END,
                   credentials_hint = coalesce(@hint, credentials_hint), updated_at = @now
            WHERE id = @id
            """,
            new
            {
                id, name = request.Name?.Trim(), BaseUrl = request.BaseUrl?.TrimEnd('/'),
                settings = request.Settings is null ? null : JsonSerializer.Serialize(request.Settings, Json),
                @sealed = request.Credentials is null ? null : box.Seal(JsonSerializer.Serialize(request.Credentials, Json), id.ToByteArray()),
                version = box.CurrentVersion, hint = request.Credentials is null ? null : Hint(request.Credentials), now = time.GetUtcNow(),
            }, tx, cancellationToken: cancellationToken));
        await ChangedAsync(actor, "provider.update", id, new { request.Name, credentialsChanged = request.Credentials is not null }, connection, tx, cancellationToken);
        return await GetAsync(id, cancellationToken);
    }

    public async Task<Outcome<ProviderView>> DeleteAsync(Actor actor, Guid id, CancellationToken cancellationToken)
    {
        if (await GetAsync(id, cancellationToken) is not Outcome<ProviderView>.Done done)
        {
            return new Outcome<ProviderView>.NotFound();
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // The ciphertext goes with the delete: nothing to decrypt is kept for a removed provider.
        // A concurrent delete got there first: one of the two answers 404, and one event is sent.
        if (await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE providers SET deleted_at = @now, credentials = '\\x'::bytea, credentials_hint = '' WHERE id = @id AND deleted_at IS NULL",
                new { id, now = time.GetUtcNow() }, tx, cancellationToken: cancellationToken)) == 0)
        {
            return new Outcome<ProviderView>.NotFound();
        }
        await ChangedAsync(actor, "provider.delete", id, null, connection, tx, cancellationToken);
        return done;
    }

    private async Task ChangedAsync(Actor actor, string action, Guid id, object? details, NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        await outbox.AddAsync(new ConfigChanged(Guid.CreateVersion7(), time.GetUtcNow(), "providers", id.ToString()), connection, tx, cancellationToken);
        await audit.RecordAsync(actor, action, "provider", id.ToString(), details, connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
    }

    private async Task<List<Row>> ReadAsync(Guid? id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<Row>(new CommandDefinition(
            Select + (id is null ? " ORDER BY name" : " AND id = @id"), new { id }, cancellationToken: cancellationToken))];
    }

    private static ProviderView View(Row r) => new(r.Id, r.Name, r.Kind, r.BaseUrl,
        JsonSerializer.Deserialize<Dictionary<string, string>>(r.Settings)!, r.CredentialsHint,
        r.CreatedAt.AsUtc(), r.UpdatedAt.AsUtc());

    /// <summary>Enough to recognise a credential, never enough to use it.</summary>
    internal static string Hint(ProviderCredentialsInput c)
    {
        var visible = c.ApiKey ?? c.AccessKeyId ?? "";
        return visible.Length >= 12 ? $"{visible[..3]}…{visible[^4..]}" : visible.Length > 0 ? "…" : "(none)";
    }

    private static Dictionary<string, string[]> Validate(string? name, string? kind, string? baseUrl, Dictionary<string, string>? settings,
        ProviderCredentialsInput? credentials, bool creating)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        InputRules.Name(name, "name", errors);
        if (!ProviderKinds.All.Contains(kind))
        {
            errors["kind"] = [$"Use one of: {string.Join(", ", ProviderKinds.All)}."];
            return errors;
        }
        if (baseUrl is not null && (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(uri.UserInfo)))
        {
            errors["baseUrl"] = ["An absolute http(s) URL without credentials in it."];
        }
        else if (baseUrl is null && kind is ProviderKinds.AzureOpenAi or ProviderKinds.OpenAiCompatible)
        {
            errors["baseUrl"] = [$"A {kind} provider needs its base URL."];
        }
        if (settings is { } s && (s.Count > 20 || s.Any(kv => !SettingKey().IsMatch(kv.Key) || kv.Value is null || kv.Value.Length > 200)))
        {
            errors["settings"] = ["At most 20 settings; keys in lower_snake_case, values up to 200 characters."];
        }
        else if (kind == ProviderKinds.Bedrock && !(settings?.TryGetValue("region", out var region) == true && AwsRegion().IsMatch(region)))
        {
            errors["settings"] = ["A bedrock provider needs settings.region, e.g. us-east-1."];
        }
        else if (kind == ProviderKinds.AzureOpenAi && !(settings?.ContainsKey("api_version") ?? false))
        {
            errors["settings"] = ["An azure_openai provider needs settings.api_version, e.g. 2024-10-21."];
        }
        if (credentials is null)
        {
            if (creating)
            {
                errors["credentials"] = ["Credentials are required."];
            }
        }
        else if (kind == ProviderKinds.Bedrock
            ? string.IsNullOrWhiteSpace(credentials.AccessKeyId) || string.IsNullOrWhiteSpace(credentials.SecretAccessKey)
            : kind != ProviderKinds.OpenAiCompatible && string.IsNullOrWhiteSpace(credentials.ApiKey))
        {
            errors["credentials"] = [kind == ProviderKinds.Bedrock ? "accessKeyId and secretAccessKey are required." : "apiKey is required."];
        }
        return errors;
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,39}$")]
    private static partial Regex SettingKey();

    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]$")]
    private static partial Regex AwsRegion();
}
