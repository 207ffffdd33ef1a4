using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>
/// Syslog (RFC 5424) over UDP (RFC 5426, one message per datagram), TCP (RFC 6587 octet-counted
/// framing: "LENGTH SP MESSAGE", on one connection kept per forwarder) or TLS (RFC 5425: the same
/// framing in a TLS session; the collector's certificate checked against the system's roots or the
/// forwarder's own CA, and its name against the host or server name). Each message: PRI from the
/// forwarder's facility and the event's severity, the event's time, APP-NAME, MSGID = event kind,
/// structured data with the event id, and the event's JSON as the UTF-8 (BOM-marked) MSG.
/// </summary>
public sealed class SyslogTransport : IForwarderTransport, IAsyncDisposable
{
    /// <summary>Private-enterprise SD-ID; 32473 is the number RFC 5612 sets aside for documentation and examples.</summary>
    public const string StructuredDataId = "thinkwatch@32473";
    public const int DefaultPort = 514;
    public const int DefaultTlsPort = 6514;
    public const int DefaultFacility = 13; // log audit

    /// <summary>Largest UDP payload sent; a longer MSG is cut (IPv4's limit is 65 507).</summary>
    public const int MaxDatagram = 65_000;

    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];
    private readonly ConcurrentDictionary<Guid, TcpConnection> _tcp = new();
    private readonly string _hostname = Hostname();

    public IReadOnlyList<string> Kinds { get; } = [ForwarderKinds.SyslogUdp, ForwarderKinds.SyslogTcp, ForwarderKinds.SyslogTls];

    public async Task SendAsync(Forwarder forwarder, string eventKind, IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken)
    {
        var s = forwarder.Settings;
        var tls = forwarder.Kind == ForwarderKinds.SyslogTls;
        var (host, port) = (s.Host!, s.Port ?? (tls ? DefaultTlsPort : DefaultPort));
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
        var target = new Target(host, port, tls, tls ? s.ServerName ?? host : null, tls ? s.CaCertificate : null);
        var connection = _tcp.AddOrUpdate(forwarder.Id, _ => new TcpConnection(target),
            (_, existing) => existing.Target == target ? existing : Replace(existing, target));
        using var frames = new MemoryStream();
        foreach (var e in events)
        {
            var message = Format(forwarder, eventKind, e, _hostname);
            frames.Write(Encoding.ASCII.GetBytes(message.Length.ToString(CultureInfo.InvariantCulture) + " "));
            frames.Write(message);
        }
        await connection.WriteAsync(frames.GetBuffer().AsMemory(0, (int)frames.Length), cancellationToken);
    }

    private static TcpConnection Replace(TcpConnection old, Target target)
    {
        old.Dispose();
        return new TcpConnection(target);
    }

    /// <summary>The certificate in <paramref name="pem"/>, or null when it holds none.</summary>
    public static X509Certificate2? TrustedCa(string pem)
    {
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Where a connection goes: a change to any of it opens a new one.</summary>
    private sealed record Target(string Host, int Port, bool Tls, string? ServerName, string? CaCertificate);

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

    /// <summary>A TCP (or TLS) connection opened on first use and again after any failure; one writer at a time.</summary>
    private sealed class TcpConnection(Target target) : IDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private TcpClient? _client;
        private Stream? _stream;

        public Target Target { get; } = target;

        public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (_client is not { Connected: true } || _stream is null)
                {
                    Close();
                    _client = new TcpClient { NoDelay = true };
                    await _client.ConnectAsync(Target.Host, Target.Port, cancellationToken);
                    _stream = Target.Tls ? await AuthenticateAsync(_client.GetStream(), cancellationToken) : _client.GetStream();
                }
                await _stream.WriteAsync(bytes, cancellationToken);
                await _stream.FlushAsync(cancellationToken);
            }
            catch
            {
                Close();
                throw;
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task<Stream> AuthenticateAsync(NetworkStream network, CancellationToken cancellationToken)
        {
            var ssl = new SslStream(network, leaveInnerStreamOpen: false);
            using var ca = Target.CaCertificate is { } pem ? TrustedCa(pem) : null; // needed during the handshake only
            try
            {
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = Target.ServerName,
                    RemoteCertificateValidationCallback = ca is null ? null : (_, certificate, chain, errors) => IssuedBy(ca, certificate, chain, errors),
                }, cancellationToken);
                return ssl;
            }
            catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
            {
                await ssl.DisposeAsync();
                // A refused certificate is not retried (another attempt meets the same one); a dropped connection is.
                throw new ForwardingException($"TLS with {Target.ServerName} failed: {ex.Message}", retryable: ex is IOException, ex);
            }
        }

        /// <summary>The collector's certificate, for its name, chains up to the forwarder's own CA (and nothing else is trusted).</summary>
        private static bool IssuedBy(X509Certificate2 ca, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
        {
            if (certificate is not X509Certificate2 leaf || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (presented is not null)
            {
                foreach (var element in presented.ChainElements)
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate); // intermediates the collector sent
                }
            }
            return chain.Build(leaf);
        }

        private void Close()
        {
            _stream?.Dispose();
            _stream = null;
            _client?.Dispose();
            _client = null;
        }

        public void Dispose()
        {
            Close();
            _gate.Dispose();
        }
    }
}
