using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>
/// Syslog (RFC 5424) over UDP (RFC 5426, one message per datagram) or TCP (RFC 6587 octet-counted
/// framing: "LENGTH SP MESSAGE", on one connection kept per forwarder). Each message: PRI from the
/// forwarder's facility and the event's severity, the event's time, APP-NAME, MSGID = event kind,
/// structured data with the event id, and the event's JSON as the UTF-8 (BOM-marked) MSG.
/// </summary>
public sealed class SyslogTransport : IForwarderTransport, IAsyncDisposable
{
    /// <summary>Private-enterprise SD-ID; 32473 is the number RFC 5612 sets aside for documentation and examples.</summary>
    public const string StructuredDataId = "thinkwatch@32473";
    public const int DefaultPort = 514;
    public const int DefaultFacility = 13; // log audit

    /// <summary>Largest UDP payload sent; a longer MSG is cut (IPv4's limit is 65 507).</summary>
    public const int MaxDatagram = 65_000;

    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];
    private readonly ConcurrentDictionary<Guid, TcpConnection> _tcp = new();
    private readonly string _hostname = Hostname();

    public IReadOnlyList<string> Kinds { get; } = [ForwarderKinds.SyslogUdp, ForwarderKinds.SyslogTcp];

    public async Task SendAsync(Forwarder forwarder, string eventKind, IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken)
    {
        var s = forwarder.Settings;
        var (host, port) = (s.Host!, s.Port ?? DefaultPort);
        if (forwarder.Kind == ForwarderKinds.SyslogUdp)
        {
            using var udp = new UdpClient();
            udp.Connect(host, port);
            foreach (var e in events)
            {
                var message = Format(forwarder, eventKind, e, _hostname);
                await udp.SendAsync(message.AsMemory(0, Math.Min(message.Length, MaxDatagram)), cancellationToken);
            }
            return;
        }
        var connection = _tcp.AddOrUpdate(forwarder.Id, _ => new TcpConnection(host, port),
            (_, existing) => existing.Host == host && existing.Port == port ? existing : Replace(existing, host, port));
        using var frames = new MemoryStream();
        foreach (var e in events)
        {
            var message = Format(forwarder, eventKind, e, _hostname);
            frames.Write(Encoding.ASCII.GetBytes(message.Length.ToString(CultureInfo.InvariantCulture) + " "));
            frames.Write(message);
        }
        await connection.WriteAsync(frames.GetBuffer().AsMemory(0, (int)frames.Length), cancellationToken);
    }

    private static TcpConnection Replace(TcpConnection old, string host, int port)
    {
        old.Dispose();
        return new TcpConnection(host, port);
    }

    /// <summary>One RFC 5424 message.</summary>
    public static byte[] Format(Forwarder forwarder, string eventKind, ForwardedEvent e, string hostname)
    {
        var severity = eventKind switch { "access" => 4, "admin" => 5, _ => 6 }; // warning, notice, informational
        var pri = (forwarder.Settings.Facility ?? DefaultFacility) * 8 + severity;
        var header = string.Create(CultureInfo.InvariantCulture,
            $"<{pri}>1 {e.Ts.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {hostname} {forwarder.Settings.AppName ?? "thinkwatch"} - {eventKind} " +
            $"[{StructuredDataId} event_id=\"{SdValue(e.EventId)}\" kind=\"{eventKind}\"] ");
        var json = Encoding.UTF8.GetBytes(e.Json);
        var message = new byte[Encoding.ASCII.GetByteCount(header) + Bom.Length + json.Length];
        var n = Encoding.ASCII.GetBytes(header, message);
        Bom.CopyTo(message, n);
        json.CopyTo(message, n + Bom.Length);
        return message;
    }

    /// <summary>PARAM-VALUE escaping: '"', '\' and ']' get a backslash.</summary>
    private static string SdValue(string value) =>
        value.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("]", @"\]", StringComparison.Ordinal);

    /// <summary>HOSTNAME: printable ASCII, at most 255, or the nil value.</summary>
    private static string Hostname()
    {
        var name = Environment.MachineName;
        return name.Length is > 0 and <= 255 && name.All(c => c is > ' ' and <= '~') ? name : "-";
    }

    public ValueTask DisposeAsync()
    {
        foreach (var connection in _tcp.Values)
        {
            connection.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>A TCP connection opened on first use and again after any failure; one writer at a time.</summary>
    private sealed class TcpConnection(string host, int port) : IDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private TcpClient? _client;

        public string Host { get; } = host;
        public int Port { get; } = port;

        public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (_client is not { Connected: true })
                {
                    _client?.Dispose();
                    _client = new TcpClient { NoDelay = true };
                    await _client.ConnectAsync(Host, Port, cancellationToken);
                }
                var stream = _client.GetStream();
                await stream.WriteAsync(bytes, cancellationToken);
                await stream.FlushAsync(cancellationToken);
            }
            catch
            {
                _client?.Dispose();
                _client = null;
                throw;
            }
            finally
            {
                _gate.Release();
            }
        }

        public void Dispose()
        {
            _client?.Dispose();
            _gate.Dispose();
        }
    }
}
