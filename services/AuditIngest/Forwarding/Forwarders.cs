using System.Text.Json;
using System.Text.Json.Serialization;
using ThinkWatch.AuditIngest.Logs;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>The kinds of forwarder and the event kinds they may take.</summary>
public static class ForwarderKinds
{
    public const string SyslogUdp = "syslog_udp";
    public const string SyslogTcp = "syslog_tcp";
    public const string SyslogTls = "syslog_tls";
    public const string Webhook = "webhook";
    public const string Kafka = "kafka";

    public static readonly IReadOnlyList<string> All = [SyslogUdp, SyslogTcp, SyslogTls, Webhook, Kafka];

    /// <summary>Event kinds, named as /api/logs names them.</summary>
    public static readonly IReadOnlyList<string> EventKinds = [LogKind.Usage.Name, LogKind.Mcp.Name, LogKind.Admin.Name, LogKind.Access.Name];
}

/// <summary>What each kind needs; unused fields stay null.</summary>
public sealed record ForwarderSettings
{
    /// <summary>Syslog: the collector's host name or address, and port (514 by default, 6514 over TLS).</summary>
    public string? Host { get; init; }
    public int? Port { get; init; }

    /// <summary>Syslog: facility 0–23 (13, "log audit", by default) and APP-NAME.</summary>
    public int? Facility { get; init; }
    public string? AppName { get; init; }

    /// <summary>
    /// Syslog over TLS: the PEM certificate of the CA (or the collector's own self-signed one) to trust instead of the system's
    /// roots, and the name the collector's certificate must carry when it is not <see cref="Host"/>.
    /// </summary>
    public string? CaCertificate { get; init; }
    public string? ServerName { get; init; }

    /// <summary>Webhook: an http(s) URL.</summary>
    public string? Url { get; init; }

    /// <summary>Kafka: bootstrap servers and topic.</summary>
    public string? BootstrapServers { get; init; }
    public string? Topic { get; init; }

    /// <summary>Kafka: plaintext (default), ssl, sasl_plaintext or sasl_ssl; with SASL, the mechanism
    /// (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and user name — the password is the forwarder's secret.</summary>
    public string? SecurityProtocol { get; init; }
    public string? SaslMechanism { get; init; }
    public string? SaslUsername { get; init; }

    /// <summary>Events per request (webhook) or per write (syslog, Kafka).</summary>
    public int? BatchSize { get; init; }

    /// <summary>Tries at a batch before it is dead-lettered.</summary>
    public int? MaxAttempts { get; init; }

    [JsonIgnore] public int EffectiveBatchSize => BatchSize ?? 100;
    [JsonIgnore] public int EffectiveMaxAttempts => MaxAttempts ?? 5;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
}

/// <summary>A forwarder as the dispatcher uses it, its secret opened.</summary>
public sealed record Forwarder(Guid Id, string Name, string Kind, IReadOnlyList<string> EventKinds, bool Enabled, ForwarderSettings Settings, string? Secret);

/// <summary>A forwarder as the console sends it; a secret, once set, is kept when an update leaves it out.</summary>
public sealed record ForwarderInput(string? Name, string? Kind, string[]? EventKinds, bool? Enabled, ForwarderSettings? Settings, string? Secret);

/// <summary>A forwarder as the console sees it: never its secret, only whether it has one; with its dead-letter backlog.</summary>
public sealed record ForwarderView(Guid Id, string Name, string Kind, IReadOnlyList<string> EventKinds, bool Enabled, ForwarderSettings Settings, bool HasSecret,
    long DeadLetters, DateTime CreatedAt, DateTime UpdatedAt);
