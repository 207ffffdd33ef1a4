using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>
/// HTTP webhooks: POST {"kind": …, "events": [ … ]} in requests of at most the forwarder's batch size,
/// signed so the receiver can tell it came from here and was not replayed later:
/// X-ThinkWatch-Signature: sha256=hex(HMAC-SHA256(secret, "{timestamp}.{body}")) with the Unix time
/// in X-ThinkWatch-Timestamp; X-ThinkWatch-Delivery names the request for receivers that de-duplicate.
/// 2xx is delivered; 408, 429 and 5xx are worth trying again; any other answer is final.
/// </summary>
public sealed class WebhookTransport(IHttpClientFactory clients, TimeProvider time) : IForwarderTransport
{
    public const string ClientName = "log-forwarders";
    public const string SignatureHeader = "X-ThinkWatch-Signature";
    public const string TimestampHeader = "X-ThinkWatch-Timestamp";
    public const string DeliveryHeader = "X-ThinkWatch-Delivery";

    public IReadOnlyList<string> Kinds { get; } = [ForwarderKinds.Webhook];

    public async Task SendAsync(Forwarder forwarder, string eventKind, IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(ClientName);
        foreach (var chunk in events.Chunk(forwarder.Settings.EffectiveBatchSize))
        {
            var body = $"{{\"kind\":\"{eventKind}\",\"events\":{ForwardedEvent.ToJsonArray(chunk)}}}";
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            using var request = new HttpRequestMessage(HttpMethod.Post, forwarder.Settings.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add(TimestampHeader, timestamp);
            request.Headers.Add(SignatureHeader, Sign(forwarder.Secret ?? "", timestamp, body));
            request.Headers.Add(DeliveryHeader, chunk[0].EventId + "+" + chunk.Length.ToString(CultureInfo.InvariantCulture));
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                throw new ForwardingException($"{forwarder.Settings.Url} answered {status}",
                    retryable: status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
            }
        }
    }

    public static string Sign(string secret, string timestamp, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));
}
