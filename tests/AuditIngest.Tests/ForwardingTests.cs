using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using ThinkWatch.AuditIngest.Forwarding;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>SIEM forwarding configured through /api/log-forwarders, verified by real receivers on loopback.</summary>
[TestFixture]
public sealed class ForwardingTests
{
    private string _vhost = null!;
    private AuditHost _audit = null!;
    private IBusControl _bus = null!;
    private HttpClient _console = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        _vhost = await TestInfrastructure.CreateVirtualHostAsync(InfraEndpoints.UniqueName("forward"));
        _audit = await AuditHost.StartAsync(infra.RabbitMqUri(virtualHost: _vhost), infra.ClickHouseConnectionString(InfraEndpoints.UniqueName("audit")),
            new Dictionary<string, string?>
            {
                // Long enough that the replayer's own rounds stay out of the way: the tests ask for replays.
                ["AuditIngest:ForwarderCoolDown"] = "00:05:00",
                ["AuditIngest:MaxRetryDelay"] = "00:00:00.200",
            });
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(new Uri(infra.RabbitMqUri(virtualHost: _vhost))));
        await _bus.StartAsync();
        _console = _audit.Console(Roles.SuperAdmin);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _console.Dispose();
        await _bus.StopAsync();
        await _audit.DisposeAsync();
        await TestInfrastructure.DeleteVirtualHostAsync(_vhost);
    }

    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    private async Task<JsonElement> CreateAsync(object forwarder)
    {
        using var response = await _console.PostAsJsonAsync("/api/log-forwarders", forwarder);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        return body;
    }

    private async Task DeleteAsync(JsonElement forwarder)
    {
        using var response = await _console.DeleteAsync($"/api/log-forwarders/{forwarder.GetProperty("id").GetString()}");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    private async Task<JsonElement> GetAsync(JsonElement forwarder) =>
        await _console.GetFromJsonAsync<JsonElement>($"/api/log-forwarders/{forwarder.GetProperty("id").GetString()}");

    [TestCase("syslog_udp")]
    [TestCase("syslog_tcp")]
    [TestCase("syslog_tls")]
    public async Task Syslog_receives_each_subscribed_event_as_an_RFC_5424_message(string kind)
    {
        await using var receiver = kind switch { "syslog_tcp" => SyslogReceiver.Tcp(), "syslog_tls" => SyslogReceiver.Tls(), _ => SyslogReceiver.Udp() };
        var forwarder = await CreateAsync(new
        {
            name = $"siem-{kind}-{Guid.NewGuid():N}", kind, eventKinds = new[] { "usage", "access" },
            // Over TLS the forwarder trusts the collector's CA (null otherwise: left out).
            settings = new { host = "127.0.0.1", port = receiver.Port, appName = "tw-test", caCertificate = receiver.CaPem },
        });
        var user = NewUser();
        var usage = Enumerable.Range(0, 40).Select(n => Events.Usage(user, n)).ToList();
        var access = Events.Access(user, 1);

        foreach (var e in usage)
        {
            await _bus.Publish(e);
        }
        await _bus.Publish(access);
        await _bus.Publish(Events.Admin(user, 1)); // not subscribed

        var messages = await receiver.TakeAsync(m => m.Msg.Contains(user, StringComparison.Ordinal), 42, TimeSpan.FromSeconds(20));
        await DeleteAsync(forwarder);

        Assert.That(messages, Has.Count.EqualTo(41), "40 usage and 1 access event; the admin event is not subscribed");
        Assert.That((receiver.FramingErrors, receiver.TlsFailures), Is.EqualTo((0, 0)));
        var first = messages.Single(m => m.Json.GetProperty("event_id").GetString() == usage[0].EventId.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(first.Pri, Is.EqualTo(13 * 8 + 6), "facility log audit, severity informational");
            Assert.That(first.Timestamp, Is.EqualTo(Events.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + ".000Z"), "UTC, in milliseconds");
            Assert.That((first.App, first.ProcId, first.MsgId), Is.EqualTo(("tw-test", "-", "usage")));
            Assert.That(first.StructuredData, Is.EqualTo($"[thinkwatch@32473 event_id=\"{usage[0].EventId}\" kind=\"usage\"]"));
            Assert.That(first.Json.GetProperty("model").GetString(), Is.EqualTo("gpt-4o"));
            Assert.That(first.Json.GetProperty("input_tokens").GetInt64(), Is.EqualTo(usage[0].InputTokens));
            var denied = messages.Single(m => m.MsgId == "access");
            Assert.That(denied.Pri, Is.EqualTo(13 * 8 + 4), "access refusals are warnings");
            Assert.That(denied.Json.GetProperty("rule_label").GetString(), Is.EqualTo("api_key:requests/1m"));
        });
        Assert.That(messages.Select(m => m.Json.GetProperty("event_id").GetString()).Distinct().Count(), Is.EqualTo(41));
    }

    [Test]
    public async Task Kafka_gets_one_record_per_subscribed_event_keyed_by_event_id()
    {
        using var broker = await KafkaReceiver.StartAsync();
        var topic = "audit-" + Guid.NewGuid().ToString("N")[..8];
        var forwarder = await CreateAsync(new
        {
            name = "kafka-" + Guid.NewGuid().ToString("N"), kind = "kafka", eventKinds = new[] { "usage", "admin" },
            settings = new { bootstrapServers = broker.BootstrapServers, topic },
        });
        var user = NewUser();
        var usage = Enumerable.Range(0, 30).Select(n => Events.Usage(user, n)).ToList();
        foreach (var e in usage)
        {
            await _bus.Publish(e);
        }
        await _bus.Publish(Events.Admin(user, 1));
        await _bus.Publish(Events.Access(user, 1)); // not subscribed

        var records = broker.Take(topic, r => r.Message.Value.Contains(user, StringComparison.Ordinal), 32, TimeSpan.FromSeconds(30));
        await DeleteAsync(forwarder);

        Assert.That(records, Has.Count.EqualTo(31), "30 usage events and 1 admin event; access is not subscribed");
        Assert.Multiple(() =>
        {
            foreach (var record in records)
            {
                using var json = JsonDocument.Parse(record.Message.Value);
                Assert.That(record.Message.Key, Is.EqualTo(json.RootElement.GetProperty("event_id").GetString()), "keyed by event id");
            }
            Assert.That(records.Select(r => r.Message.Key).Distinct().Count(), Is.EqualTo(31));
            Assert.That(records.Count(r => System.Text.Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("kind")) == "usage"), Is.EqualTo(30));
            var first = records.Single(r => r.Message.Key == usage[0].EventId.ToString());
            Assert.That(JsonDocument.Parse(first.Message.Value).RootElement.GetProperty("input_tokens").GetInt64(), Is.EqualTo(usage[0].InputTokens));
        });
    }

    [Test]
    public async Task A_webhook_gets_signed_batches_and_is_retried_with_backoff_until_it_answers()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = n => n <= 2 ? 503 : 200; // down for two tries
        const string Secret = "whsec-0123456789abcdef";
        var forwarder = await CreateAsync(new
        {
            name = "hook-" + Guid.NewGuid().ToString("N"), kind = "webhook", eventKinds = new[] { "usage" }, secret = Secret,
            settings = new { url = receiver.Url.ToString(), batchSize = 500, maxAttempts = 5 },
        });
        var user = NewUser();
        var sent = Enumerable.Range(0, 5).Select(n => Events.Usage(user, n)).ToList();

        await Task.WhenAll(sent.Select(e => _bus.Publish(e)));

        var delivered = new HashSet<string>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (delivered.Count < sent.Count && DateTime.UtcNow < deadline)
        {
            var requests = await receiver.WaitForAsync(receiver.Requests.Count + 1, TimeSpan.FromSeconds(1));
            foreach (var (headers, body) in requests.Skip(2))
            {
                var events = JsonDocument.Parse(body).RootElement.GetProperty("events").EnumerateArray();
                delivered.UnionWith(events.Select(e => e.GetProperty("event_id").GetString()!));
            }
        }
        await DeleteAsync(forwarder);

        Assert.That(delivered, Is.SupersetOf(sent.Select(e => e.EventId.ToString())));
        var all = receiver.Requests;
        Assert.That(all[0].Body, Is.EqualTo(all[2].Body), "the refused batch was sent again as it was");
        foreach (var (headers, body) in all)
        {
            var timestamp = headers[WebhookTransport.TimestampHeader];
            Assert.That(headers[WebhookTransport.SignatureHeader], Is.EqualTo(WebhookTransport.Sign(Secret, timestamp, body)), "HMAC-SHA256 over timestamp.body");
            Assert.That(headers["Content-Type"], Does.StartWith("application/json"));
            Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("kind").GetString(), Is.EqualTo("usage"));
        }
        Assert.That(WebhookTransport.Sign("another-secret-entirely", all[0].Headers[WebhookTransport.TimestampHeader], all[0].Body),
            Is.Not.EqualTo(all[0].Headers[WebhookTransport.SignatureHeader]));
    }

    [Test]
    public async Task A_receiver_that_stays_down_gets_its_batches_dead_lettered_without_holding_up_ingestion_and_replayed_when_back()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = _ => 500;
        var forwarder = await CreateAsync(new
        {
            name = "down-" + Guid.NewGuid().ToString("N"), kind = "webhook", eventKinds = new[] { "usage" }, secret = "0123456789abcdef0123",
            settings = new { url = receiver.Url.ToString(), maxAttempts = 3 },
        });
        var user = NewUser();

        await _bus.Publish(Events.Usage(user, 0));
        Assert.That(await _audit.WaitForCountAsync($"SELECT count() FROM usage_events WHERE user_id = '{user}'", 1, TimeSpan.FromSeconds(20)), Is.EqualTo(1));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await GetAsync(forwarder)).GetProperty("deadLetters").GetInt64() == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.That(receiver.Requests, Has.Count.EqualTo(3), "three attempts, then a dead letter");
        var letters = await _console.GetFromJsonAsync<JsonElement>($"/api/log-forwarders/{forwarder.GetProperty("id").GetString()}/dead-letters");
        Assert.That(letters[0].GetProperty("attempts").GetInt32(), Is.EqualTo(3));
        Assert.That(letters[0].GetProperty("lastError").GetString(), Does.Contain("500"));

        // While it is down, ingestion goes on at full pace.
        await Task.WhenAll(Enumerable.Range(1, 300).Select(n => _bus.Publish(Events.Usage(user, n))));
        Assert.That(await _audit.WaitForCountAsync($"SELECT count() FROM usage_events WHERE user_id = '{user}'", 301, TimeSpan.FromSeconds(30)), Is.EqualTo(301));

        // Back: the dead letters go through on the next replay round (asked for here rather than waited for).
        receiver.Answer = _ => 200;
        deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await GetAsync(forwarder)).GetProperty("deadLetters").GetInt64() > 0 && DateTime.UtcNow < deadline)
        {
            using var replay = await _console.PostAsync("/api/log-forwarders/replay", null);
            await Task.Delay(200);
        }
        var received = receiver.Requests.Where(r => r.Body.Contains(user, StringComparison.Ordinal))
            .SelectMany(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event_id").GetString()))
            .ToHashSet();
        await DeleteAsync(forwarder);

        Assert.That(received, Has.Count.EqualTo(301), "every event reached the receiver once it was back");
    }

    [TestCase(null, null, TestName = "A collector certificate the system does not trust is refused")]
    [TestCase("trusted CA", "siem.example", TestName = "A collector certificate for another name is refused")]
    public async Task Syslog_over_TLS_sends_nothing_to_a_collector_it_cannot_verify(string? trust, string? serverName)
    {
        await using var receiver = SyslogReceiver.Tls();
        var forwarder = await CreateAsync(new
        {
            name = "tls-" + Guid.NewGuid().ToString("N"), kind = "syslog_tls", eventKinds = new[] { "usage" },
            settings = new { host = "127.0.0.1", port = receiver.Port, caCertificate = trust is null ? null : receiver.CaPem, serverName, maxAttempts = 3 },
        });
        var user = NewUser();

        await _bus.Publish(Events.Usage(user, 0));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await GetAsync(forwarder)).GetProperty("deadLetters").GetInt64() == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        var letters = await _console.GetFromJsonAsync<JsonElement>($"/api/log-forwarders/{forwarder.GetProperty("id").GetString()}/dead-letters");
        var received = await receiver.TakeAsync(_ => true, 1, TimeSpan.FromMilliseconds(300));
        await DeleteAsync(forwarder);

        Assert.That(letters.GetArrayLength(), Is.EqualTo(1), "kept as a dead letter");
        Assert.That(letters[0].GetProperty("attempts").GetInt32(), Is.EqualTo(1), "a certificate refused once is refused again: not retried");
        Assert.That(letters[0].GetProperty("lastError").GetString(), Does.Contain("TLS with"));
        Assert.That(received, Is.Empty, "no event sent to a peer that was not verified");
    }

    [Test]
    public async Task A_receiver_refusing_the_request_itself_is_not_retried()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = _ => 400;
        var forwarder = await CreateAsync(new
        {
            name = "refuses-" + Guid.NewGuid().ToString("N"), kind = "webhook", eventKinds = new[] { "admin" }, secret = "0123456789abcdef0123",
            settings = new { url = receiver.Url.ToString(), maxAttempts = 5 },
        });

        await _bus.Publish(Events.Admin(NewUser(), 1));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await GetAsync(forwarder)).GetProperty("deadLetters").GetInt64() == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        using var disabled = await _console.PutAsJsonAsync($"/api/log-forwarders/{forwarder.GetProperty("id").GetString()}", new
        {
            name = forwarder.GetProperty("name").GetString(), kind = "webhook", eventKinds = new[] { "admin" }, enabled = false,
            settings = new { url = receiver.Url.ToString(), maxAttempts = 5 },
        });
        var updated = await disabled.Content.ReadFromJsonAsync<JsonElement>();
        await DeleteAsync(forwarder);

        Assert.That(receiver.Requests, Has.Count.EqualTo(1));
        Assert.That(disabled.StatusCode, Is.EqualTo(HttpStatusCode.OK), updated.ToString());
        Assert.That(updated.GetProperty("deadLetters").GetInt64(), Is.EqualTo(1), "an update reports the dead-letter backlog like a read");
    }

    [Test]
    public async Task A_settings_field_the_contract_lacks_is_refused_by_its_path_and_nothing_is_written()
    {
        var name = "strict-" + Guid.NewGuid().ToString("N");
        using var response = await _console.PostAsJsonAsync("/api/log-forwarders", new
        {
            name, kind = "webhook", eventKinds = new[] { "usage" }, settings = new { url = "https://siem.example/hook", retries = 3 },
        });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem.GetProperty("errors").ToString(), Is.EqualTo("""{"settings.retries":["unknown field"]}"""));
        Assert.That(await _console.GetStringAsync("/api/log-forwarders"), Does.Not.Contain(name));
    }

    [Test]
    public async Task Forwarders_are_checked_their_secrets_never_shown_and_their_changes_audited()
    {
        using var invalid = await _console.PostAsJsonAsync("/api/log-forwarders", new
        {
            name = "", kind = "webhook", eventKinds = new[] { "usage", "payments" }, settings = new { url = "ftp://example.com", maxAttempts = 0 },
        });
        var problems = await invalid.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(invalid.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problems.GetProperty("errors").EnumerateObject().Select(p => p.Name),
            Is.EquivalentTo(new[] { "name", "eventKinds", "settings.url", "settings.maxAttempts", "secret" }));
        using var invalidKafka = await _console.PostAsJsonAsync("/api/log-forwarders", new
        {
            name = "k", kind = "kafka", eventKinds = new[] { "usage" }, settings = new { bootstrapServers = "127.0.0.1:9092", topic = "a b", securityProtocol = "sasl_ssl" },
        });
        Assert.That((await invalidKafka.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().Select(p => p.Name),
            Is.EquivalentTo(new[] { "settings.topic", "settings.saslMechanism", "settings.saslUsername", "secret" }));
        using var syslog = await _console.PostAsJsonAsync("/api/log-forwarders", new { name = "s", kind = "syslog_tcp", eventKinds = new[] { "usage" }, settings = new { port = 70000 } });
        Assert.That((await syslog.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().Select(p => p.Name),
            Is.EquivalentTo(new[] { "settings.host", "settings.port" }));
        using var tls = await _console.PostAsJsonAsync("/api/log-forwarders", new
        {
            name = "t", kind = "syslog_tls", eventKinds = new[] { "usage" }, settings = new { host = "siem.example", caCertificate = "not a certificate", serverName = "a b" },
        });
        Assert.That((await tls.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().Select(p => p.Name),
            Is.EquivalentTo(new[] { "settings.caCertificate", "settings.serverName" }));

        const string Secret = "top-secret-signing-key-42";
        var created = await CreateAsync(new { name = "audited-" + Guid.NewGuid().ToString("N"), kind = "webhook", eventKinds = new[] { "usage" }, secret = Secret,
            settings = new { url = "https://siem.example/hook" } });
        var id = created.GetProperty("id").GetString()!;
        using var update = await _console.PutAsJsonAsync($"/api/log-forwarders/{id}", new
        {
            name = created.GetProperty("name").GetString(), kind = "webhook", eventKinds = new[] { "usage", "admin" }, settings = new { url = "https://siem.example/v2" },
        });
        var updated = await update.Content.ReadFromJsonAsync<JsonElement>();
        using var developer = _audit.Console(Roles.Developer);
        using var forbidden = await developer.PostAsJsonAsync("/api/log-forwarders", new { name = "x" });
        var listed = await _console.GetStringAsync("/api/log-forwarders");
        await DeleteAsync(created);

        Assert.That(update.StatusCode, Is.EqualTo(HttpStatusCode.OK), updated.ToString());
        Assert.That(updated.GetProperty("hasSecret").GetBoolean(), Is.True, "an update without a secret keeps the one set");
        Assert.That(listed, Does.Not.Contain(Secret).And.Contain(id));
        Assert.That(forbidden.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        // The changes went through the outbox and the bus into the audit table like every admin action.
        var where = $"FROM admin_audit WHERE target_id = '{id}'";
        Assert.That(await _audit.WaitForCountAsync($"SELECT count() {where}", 3, TimeSpan.FromSeconds(20)), Is.EqualTo(3));
        Assert.That(await _audit.ClickHouse.QueryScalarAsync($"SELECT arrayStringConcat(groupArray(action), ',') FROM (SELECT action {where} ORDER BY ts, action)"),
            Does.Contain("log_forwarder.create").And.Contain("log_forwarder.update").And.Contain("log_forwarder.delete"));
        Assert.That(await _audit.CountAsync($"SELECT count() {where} AND position(details, '{Secret}') > 0"), Is.Zero);
    }
}
