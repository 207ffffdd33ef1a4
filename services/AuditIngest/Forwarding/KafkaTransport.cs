using System.Text;
using Confluent.Kafka;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>
/// Kafka through Confluent.Kafka (librdkafka): one record per event on the forwarder's topic, keyed by
/// event id (so a consumer can de-duplicate, and an id always lands on the same partition), the
/// event's JSON as the value and its kind in a "kind" header. Idempotent producer with acks=all; a
/// batch counts as delivered when the brokers acknowledged every record. One producer per forwarder,
/// rebuilt when its settings change.
/// </summary>
public sealed partial class KafkaTransport(ILogger<KafkaTransport> logger) : IForwarderTransport, IDisposable
{
    public static readonly IReadOnlyDictionary<string, SecurityProtocol> SecurityProtocols = new Dictionary<string, SecurityProtocol>
    {
        ["plaintext"] = SecurityProtocol.Plaintext,
        ["ssl"] = SecurityProtocol.Ssl,
        ["sasl_plaintext"] = SecurityProtocol.SaslPlaintext,
        ["sasl_ssl"] = SecurityProtocol.SaslSsl,
    };

    public static readonly IReadOnlyDictionary<string, SaslMechanism> SaslMechanisms = new Dictionary<string, SaslMechanism>
    {
        ["PLAIN"] = SaslMechanism.Plain,
        ["SCRAM-SHA-256"] = SaslMechanism.ScramSha256,
        ["SCRAM-SHA-512"] = SaslMechanism.ScramSha512,
    };

    /// <summary>How long librdkafka keeps trying one record before it reports it undelivered.</summary>
    public static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(20);

    private readonly Dictionary<Guid, (string Signature, IProducer<string, string> Producer)> _producers = [];

    public IReadOnlyList<string> Kinds { get; } = [ForwarderKinds.Kafka];

    public async Task SendAsync(Forwarder forwarder, string eventKind, IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken)
    {
        var producer = ProducerFor(forwarder);
        var kind = Encoding.UTF8.GetBytes(eventKind);
        var deliveries = events.Select(e => producer.ProduceAsync(forwarder.Settings.Topic!,
            new Message<string, string> { Key = e.EventId, Value = e.Json, Headers = new Headers { { "kind", kind } } }, cancellationToken)).ToList();
        try
        {
            await Task.WhenAll(deliveries);
        }
        catch (ProduceException<string, string> ex)
        {
            throw new ForwardingException($"Kafka did not take an event: {ex.Error.Code} {ex.Error.Reason}",
                retryable: !ex.Error.IsFatal && ex.Error.Code is not (ErrorCode.TopicAuthorizationFailed or ErrorCode.ClusterAuthorizationFailed
                    or ErrorCode.SaslAuthenticationFailed or ErrorCode.TopicException or ErrorCode.MsgSizeTooLarge), ex);
        }
        catch (KafkaException ex)
        {
            throw new ForwardingException($"Kafka: {ex.Error.Code} {ex.Error.Reason}", retryable: !ex.Error.IsFatal, ex);
        }
    }

    private IProducer<string, string> ProducerFor(Forwarder forwarder)
    {
        var signature = $"{forwarder.Settings.BootstrapServers}|{forwarder.Settings.SecurityProtocol}|{forwarder.Settings.SaslMechanism}|" +
                        $"{forwarder.Settings.SaslUsername}|{forwarder.Secret?.GetHashCode(StringComparison.Ordinal)}";
        lock (_producers)
        {
            if (_producers.TryGetValue(forwarder.Id, out var current))
            {
                if (current.Signature == signature)
                {
                    return current.Producer;
                }
                current.Producer.Dispose();
            }
            var producer = Build(forwarder);
            _producers[forwarder.Id] = (signature, producer);
            return producer;
        }
    }

    private IProducer<string, string> Build(Forwarder forwarder)
    {
        var s = forwarder.Settings;
        var config = new ProducerConfig
        {
            BootstrapServers = s.BootstrapServers,
            ClientId = "thinkwatch-audit",
            Acks = Acks.All,
            EnableIdempotence = true,
            MessageTimeoutMs = (int)DeliveryTimeout.TotalMilliseconds,
            LingerMs = 5,
            SecurityProtocol = SecurityProtocols.GetValueOrDefault(s.SecurityProtocol ?? "plaintext", SecurityProtocol.Plaintext),
        };
        if (s.SaslMechanism is { } mechanism && SaslMechanisms.TryGetValue(mechanism, out var sasl))
        {
            (config.SaslMechanism, config.SaslUsername, config.SaslPassword) = (sasl, s.SaslUsername, forwarder.Secret);
        }
        var name = forwarder.Name;
        return new ProducerBuilder<string, string>(config)
            .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) LogClient(logger, name, m.Facility, m.Message); })
            .SetErrorHandler((_, e) => LogClient(logger, name, e.Code.ToString(), e.Reason))
            .Build();
    }

    public void Dispose()
    {
        lock (_producers)
        {
            foreach (var (_, producer) in _producers.Values)
            {
                producer.Flush(TimeSpan.FromSeconds(5));
                producer.Dispose();
            }
            _producers.Clear();
        }
    }

    [LoggerMessage(EventId = 6321, Level = LogLevel.Warning, Message = "Kafka forwarder {Forwarder}: {Facility} {Message}")]
    private static partial void LogClient(ILogger logger, string forwarder, string facility, string message);
}
