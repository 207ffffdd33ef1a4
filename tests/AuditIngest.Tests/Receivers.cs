using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>An RFC 5424 message taken apart by a receiver, the way a SIEM's parser would.</summary>
public sealed partial record SyslogMessage(int Pri, string Timestamp, string Host, string App, string ProcId, string MsgId, string StructuredData, string Msg)
{
    [GeneratedRegex(@"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[(?:[^\]\\]|\\.)*\]|-) \uFEFF(.*)$", RegexOptions.Singleline)]
    private static partial Regex Grammar();

    public static SyslogMessage Parse(byte[] bytes)
    {
        var match = Grammar().Match(Encoding.UTF8.GetString(bytes));
        Assert.That(match.Success, Is.True, "RFC 5424: " + Encoding.UTF8.GetString(bytes));
        var g = match.Groups;
        return new(int.Parse(g[1].Value, System.Globalization.CultureInfo.InvariantCulture), g[2].Value, g[3].Value, g[4].Value, g[5].Value, g[6].Value, g[7].Value, g[8].Value);
    }

    public System.Text.Json.JsonElement Json => System.Text.Json.JsonDocument.Parse(Msg).RootElement;
}

/// <summary>
/// A syslog collector on loopback: UDP datagrams, or TCP with octet-counted framing (RFC 6587), in
/// the clear or in TLS (RFC 5425) with a certificate for 127.0.0.1 and localhost from a CA of its
/// own (<see cref="CaPem"/>), each message as received.
/// </summary>
public sealed class SyslogReceiver : IAsyncDisposable
{
    private readonly Channel<byte[]> _messages = Channel.CreateUnbounded<byte[]>();
    private readonly CancellationTokenSource _stop = new();
    private readonly UdpClient? _udp;
    private readonly TcpListener? _tcp;
    private readonly X509Certificate2? _certificate;

    private SyslogReceiver(bool tcp, bool tls = false)
    {
        if (tls)
        {
            (_certificate, CaPem) = IssueCertificate();
        }
        if (tcp)
        {
            _tcp = new TcpListener(IPAddress.Loopback, 0);
            _tcp.Start();
            Port = ((IPEndPoint)_tcp.LocalEndpoint).Port;
            _ = AcceptAsync();
        }
        else
        {
            _udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            Port = ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;
            _ = ReceiveUdpAsync();
        }
    }

    public int Port { get; }

    /// <summary>Frames that broke the octet-counting rules (a length that is not digits and a space).</summary>
    public int FramingErrors { get; private set; }

    public static SyslogReceiver Udp() => new(tcp: false);

    public static SyslogReceiver Tcp() => new(tcp: true);

    public static SyslogReceiver Tls() => new(tcp: true, tls: true);

    /// <summary>TLS: the certificate of the CA that issued the receiver's, for a forwarder to trust.</summary>
    public string? CaPem { get; }

    /// <summary>TLS handshakes that failed (the client refused the certificate, or spoke no TLS).</summary>
    public int TlsFailures { get; private set; }

    private static (X509Certificate2 Server, string CaPem) IssueCertificate()
    {
        var (from, until) = (DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=ThinkWatch test syslog CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(from, until);

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // server authentication
        using var issued = request.Create(ca, from, until, RandomNumberGenerator.GetBytes(8));
        return (issued.CopyWithPrivateKey(serverKey), ca.ExportCertificatePem());
    }

    /// <summary>Messages until <paramref name="count"/> matching ones arrived or the time is up.</summary>
    public async Task<List<SyslogMessage>> TakeAsync(Func<SyslogMessage, bool> match, int count, TimeSpan timeout)
    {
        var found = new List<SyslogMessage>();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (found.Count < count)
            {
                var message = SyslogMessage.Parse(await _messages.Reader.ReadAsync(cts.Token));
                if (match(message))
                {
                    found.Add(message);
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        return found;
    }

    private async Task ReceiveUdpAsync()
    {
        try
        {
            while (true)
            {
                var datagram = await _udp!.ReceiveAsync(_stop.Token);
                await _messages.Writer.WriteAsync(datagram.Buffer);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _tcp!.AcceptTcpClientAsync(_stop.Token);
                _ = ReadFramesAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task ReadFramesAsync(TcpClient client)
    {
        using (client)
        {
            Stream stream = client.GetStream();
            var one = new byte[1];
            try
            {
                if (_certificate is not null)
                {
                    var ssl = new SslStream(stream);
                    stream = ssl;
                    try
                    {
                        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _stop.Token);
                    }
                    catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
                    {
                        TlsFailures++;
                        return;
                    }
                }
                while (true)
                {
                    var length = 0;
                    var digits = 0;
                    while (true)
                    {
                        if (await stream.ReadAsync(one, _stop.Token) == 0)
                        {
                            return;
                        }
                        if (one[0] == ' ' && digits > 0)
                        {
                            break;
                        }
                        if (one[0] is < (byte)'0' or > (byte)'9' || ++digits > 7)
                        {
                            FramingErrors++;
                            return;
                        }
                        length = length * 10 + (one[0] - '0');
                    }
                    var message = new byte[length];
                    await stream.ReadExactlyAsync(message, _stop.Token);
                    await _messages.Writer.WriteAsync(message);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or EndOfStreamException)
            {
            }
            finally
            {
                await stream.DisposeAsync();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp?.Dispose();
        _tcp?.Stop();
        _stop.Dispose();
        _certificate?.Dispose();
    }
}

/// <summary>A webhook endpoint on loopback that records every request and answers what the test tells it to.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly Microsoft.AspNetCore.Builder.WebApplication _app;
    private readonly System.Collections.Concurrent.ConcurrentQueue<(Dictionary<string, string> Headers, string Body)> _requests = new();

    private WebhookReceiver(Microsoft.AspNetCore.Builder.WebApplication app, Uri address) => (_app, Url) = (app, new Uri(address, "hook"));

    public Uri Url { get; }

    /// <summary>The status the next request gets (by its number, from 1).</summary>
    public Func<int, int> Answer { get; set; } = _ => 200;

    public IReadOnlyList<(Dictionary<string, string> Headers, string Body)> Requests => [.. _requests];

    public static async Task<WebhookReceiver> StartAsync()
    {
        WebhookReceiver? receiver = null;
        var (app, address) = await ThinkWatch.Testing.LoopbackServer.StartAsync(app => Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapPost(app, "/hook",
            async (Microsoft.AspNetCore.Http.HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync();
                receiver!._requests.Enqueue((context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body));
                context.Response.StatusCode = receiver.Answer(receiver._requests.Count);
            }));
        receiver = new WebhookReceiver(app, address);
        return receiver;
    }

    /// <summary>Waits until <paramref name="count"/> requests arrived (or the time is up).</summary>
    public async Task<IReadOnlyList<(Dictionary<string, string> Headers, string Body)>> WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_requests.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        return Requests;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>
/// A Kafka broker on loopback: librdkafka's built-in mock cluster (the real Kafka protocol over TCP;
/// no Kafka distribution can be run on this machine), owned by a client that announces its
/// bootstrap address in its log, and read by an ordinary consumer.
/// </summary>
public sealed class KafkaReceiver : IDisposable
{
    private readonly Confluent.Kafka.IProducer<Confluent.Kafka.Null, string> _owner;

    private KafkaReceiver(Confluent.Kafka.IProducer<Confluent.Kafka.Null, string> owner, string bootstrapServers) =>
        (_owner, BootstrapServers) = (owner, bootstrapServers);

    public string BootstrapServers { get; }

    public static async Task<KafkaReceiver> StartAsync()
    {
        var address = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var config = new Confluent.Kafka.ProducerConfig { BootstrapServers = "mock", Debug = "mock" };
        config.Set("test.mock.num.brokers", "1");
        var owner = new Confluent.Kafka.ProducerBuilder<Confluent.Kafka.Null, string>(config)
            .SetLogHandler((_, m) =>
            {
                var found = Regex.Match(m.Message, @"Mock cluster \S+ bootstrap\.servers=(\S+)");
                if (found.Success)
                {
                    address.TrySetResult(found.Groups[1].Value);
                }
            })
            .Build();
        return new KafkaReceiver(owner, await address.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>Records on <paramref name="topic"/> matching <paramref name="match"/> until <paramref name="count"/> arrived or the time is up.</summary>
    public List<Confluent.Kafka.ConsumeResult<string, string>> Take(string topic, Func<Confluent.Kafka.ConsumeResult<string, string>, bool> match, int count, TimeSpan timeout)
    {
        using var consumer = new Confluent.Kafka.ConsumerBuilder<string, string>(new Confluent.Kafka.ConsumerConfig
        {
            BootstrapServers = BootstrapServers, GroupId = "test-" + Guid.NewGuid().ToString("N"), AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var taken = new List<Confluent.Kafka.ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow + timeout;
        while (taken.Count < count && DateTime.UtcNow < deadline)
        {
            try
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false, Message: not null } record && match(record))
                {
                    taken.Add(record);
                }
            }
            catch (Confluent.Kafka.ConsumeException ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.UnknownTopicOrPart)
            {
                // the forwarder has not written its first record yet, so the topic does not exist
            }
        }
        consumer.Close();
        return taken;
    }

    public void Dispose() => _owner.Dispose();
}
