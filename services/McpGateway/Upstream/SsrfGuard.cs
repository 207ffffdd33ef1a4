using System.Net;
using System.Net.Sockets;

namespace ThinkWatch.McpGateway.Upstream;

public sealed class SsrfRefusedException(string message) : HttpRequestException(message);

/// <summary>
/// Every connection the gateway opens on someone's behalf (upstream servers, discovery, OAuth)
/// goes through <see cref="ConnectAsync"/>: the host name is resolved once, every address is
/// vetted, and the socket connects to a vetted address — so a name that resolves to a public
/// address for the check and a private one for the connection (DNS rebinding) gets nowhere.
/// Private, loopback, CGNAT, multicast and unspecified addresses are refused unless the admin
/// setting allows private networks; link-local and cloud metadata addresses always are.
/// </summary>
public static class SsrfGuard
{
    // Endpoints that hand out the host's cloud credentials to anyone who can reach them. A single-host setup that allows private
    // networks still has no business there, so these stay refused whatever the setting.
    private static readonly Dictionary<IPAddress, string> CredentialEndpoints = new()
    {
        [IPAddress.Parse("169.254.169.254")] = "the cloud instance metadata service",
        [IPAddress.Parse("169.254.170.2")] = "the container credentials endpoint",
        [IPAddress.Parse("fd00:ec2::254")] = "AWS's instance metadata service (IPv6)",
        [IPAddress.Parse("100.100.100.200")] = "Alibaba Cloud's metadata service",
        [IPAddress.Parse("192.0.0.192")] = "Oracle Cloud's metadata service",
    };

    /// <summary>
    /// What <paramref name="address"/> is if the gateway never connects there, whatever AllowPrivateNetworkUpstreams says: cloud
    /// metadata and credential endpoints, and all of link-local (169.254.0.0/16, fe80::/10) where more of them live. Null otherwise.
    /// </summary>
    public static string? NeverReason(IPAddress address)
    {
        var unwrapped = Unwrap(address);
        if (CredentialEndpoints.TryGetValue(unwrapped, out var endpoint))
        {
            return $"{endpoint}, which the gateway never connects to";
        }
        var linkLocal = unwrapped.AddressFamily == AddressFamily.InterNetworkV6
            ? unwrapped.IsIPv6LinkLocal
            : unwrapped.GetAddressBytes() is [169, 254, _, _];
        return linkLocal ? "link-local, where cloud metadata and credential endpoints live; the gateway never connects there" : null;
    }

    /// <summary>Why the gateway does not connect to <paramref name="address"/> under the private-network setting ("… is …"); null when it may.</summary>
    public static string? Refusal(IPAddress address, bool allowPrivate) =>
        Why(address, allowPrivate) is { } why ? $"{address} is {why}" : null;

    private static string? Why(IPAddress address, bool allowPrivate) =>
        NeverReason(address) ?? (allowPrivate || IsPublic(address)
            ? null
            : "a private, loopback or reserved address, which the gateway reaches only if an admin allows private networks");

    public static bool IsPublic(IPAddress address)
    {
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }
        address = Unwrap(address);
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

    /// <summary>
    /// The IPv4 address an IPv6 one carries and reaches — IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64
    /// (64:ff9b::a.b.c.d) — else the address itself: each is another spelling of the same destination.
    /// </summary>
    public static IPAddress Unwrap(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        var b = address.GetAddressBytes();
        var compatible = b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.IPv6Loopback);
        var nat64 = b is [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ..];
        // Rebuilt from the bytes: a zone id (fe80::1%eth0) makes no other destination and must not make another dictionary key.
        return compatible || nat64 ? new IPAddress(b.AsSpan(12)) : new IPAddress(b);
    }

    /// <summary>
    /// Why a URL's host is no place to connect to, decided when a server is registered: an address literal (in any spelling the
    /// URL parser accepts: 0xa9fea9fe, 2852039166, [::ffff:a9fe:a9fe]) directly, a name by what it resolves to now. A name that
    /// does not resolve is left to the connect-time check, which is the one that counts.
    /// </summary>
    public static async Task<string?> RefusalAsync(Uri url, bool allowPrivate, TimeSpan resolveTimeout, CancellationToken cancellationToken)
    {
        if (url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            return Refusal(IPAddress.Parse(url.Host.Trim('[', ']')), allowPrivate);
        }
        IPAddress[] addresses;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(resolveTimeout);
            addresses = await Dns.GetHostAddressesAsync(url.DnsSafeHost, timeout.Token);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        return addresses.Select(a => (Address: a, Why: Why(a, allowPrivate))).FirstOrDefault(r => r.Why is not null) is { Why: { } why } refused
            ? $"'{url.DnsSafeHost}' resolves to {refused.Address}, which is {why}"
            : null;
    }

    /// <summary>A SocketsHttpHandler.ConnectCallback that connects only to vetted addresses.</summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> Connect(Func<bool> allowPrivate) =>
        (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, allowPrivate(), cancellationToken);

    public static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, bool allowPrivate, CancellationToken cancellationToken)
    {
        var isLiteral = IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var literal);
        var addresses = isLiteral ? [literal!] : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken);
        var allowed = addresses.Where(a => Why(a, allowPrivate) is null).ToArray();
        if (allowed.Length == 0)
        {
            throw new SsrfRefusedException(addresses.Length == 0 ? $"'{endpoint.Host}' does not resolve."
                : isLiteral ? $"{Refusal(literal!, allowPrivate)}."
                : $"'{endpoint.Host}' resolves to {addresses[0]}, which is {Why(addresses[0], allowPrivate)}.");
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
