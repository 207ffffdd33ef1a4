using System.Net;
using System.Net.Sockets;

namespace ThinkWatch.McpGateway.Upstream;

public sealed class SsrfRefusedException(string message) : HttpRequestException(message);

/// <summary>
/// Every connection the gateway opens on someone's behalf (upstream servers, discovery, OAuth)
/// goes through <see cref="ConnectAsync"/>: the host name is resolved once, every address is
/// vetted, and the socket connects to a vetted address — so a name that resolves to a public
/// address for the check and a private one for the connection (DNS rebinding) gets nowhere.
/// Private, loopback, link-local (cloud metadata), CGNAT, multicast and unspecified addresses are
/// refused unless the admin setting allows private networks.
/// </summary>
public static class SsrfGuard
{
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b6 = address.GetAddressBytes();
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (b6[0] & 0xFE) == 0xFC); // fc00::/7 unique local
        }
        var b = address.GetAddressBytes();
        return b[0] switch
        {
            0 or 10 or 127 => false,
            100 when b[1] is >= 64 and <= 127 => false, // 100.64.0.0/10 carrier-grade NAT
            169 when b[1] == 254 => false,               // link-local, cloud metadata (169.254.169.254)
            172 when b[1] is >= 16 and <= 31 => false,
            192 when b[1] == 168 => false,
            192 when b[1] == 0 && b[2] == 0 => false,    // IETF protocol assignments
            198 when b[1] is 18 or 19 => false,          // benchmarking
            >= 224 => false,                             // multicast and reserved
            _ => true,
        };
    }

    /// <summary>A SocketsHttpHandler.ConnectCallback that connects only to vetted addresses.</summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> Connect(Func<bool> allowPrivate) =>
        (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, allowPrivate(), cancellationToken);

    public static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, bool allowPrivate, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken);
        var allowed = allowPrivate ? addresses : addresses.Where(IsPublic).ToArray();
        if (allowed.Length == 0)
        {
            throw new SsrfRefusedException(addresses.Length == 0
                ? $"'{endpoint.Host}' does not resolve."
                : $"'{endpoint.Host}' resolves to a private, loopback or link-local address ({addresses[0]}); the gateway does not connect there unless an admin allows private networks.");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
