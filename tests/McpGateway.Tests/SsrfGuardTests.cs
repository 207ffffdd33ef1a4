using System.Net;
using System.Net.Sockets;
using ThinkWatch.McpGateway.Upstream;

namespace ThinkWatch.McpGateway.Tests;

public sealed class SsrfGuardTests
{
    [TestCase("127.0.0.1")]
    [TestCase("10.0.0.1")]
    [TestCase("172.16.5.4")]
    [TestCase("192.168.1.1")]
    [TestCase("169.254.169.254")]
    [TestCase("100.64.0.1")]
    [TestCase("0.0.0.0")]
    [TestCase("224.0.0.1")]
    [TestCase("::1")]
    [TestCase("fe80::1")]
    [TestCase("fd00::1")]
    [TestCase("::ffff:10.0.0.1")]
    [TestCase("::10.0.0.1")]          // IPv4-compatible
    [TestCase("64:ff9b::a00:1")]      // NAT64 of 10.0.0.1
    public void Private_loopback_link_local_and_metadata_addresses_are_not_public(string address) =>
        Assert.That(SsrfGuard.IsPublic(IPAddress.Parse(address)), Is.False);

    [TestCase("8.8.8.8")]
    [TestCase("93.184.216.34")]
    [TestCase("172.32.0.1")]
    [TestCase("2606:4700:4700::1111")]
    public void Public_addresses_are_public(string address) => Assert.That(SsrfGuard.IsPublic(IPAddress.Parse(address)), Is.True);

    [TestCase("169.254.169.254")]
    [TestCase("169.254.170.2")]
    [TestCase("169.254.0.1")]
    [TestCase("::ffff:169.254.169.254")]
    [TestCase("::169.254.169.254")]
    [TestCase("64:ff9b::a9fe:a9fe")]
    [TestCase("fd00:ec2::254")]
    [TestCase("fe80::1")]
    [TestCase("fe80::a9fe:a9fe")]
    [TestCase("100.100.100.200")]
    [TestCase("::ffff:100.100.100.200")]
    [TestCase("192.0.0.192")]
    public async Task Metadata_and_link_local_addresses_are_refused_even_with_private_networks_allowed(string address)
    {
        var refused = await Assert.ThrowsAsync<SsrfRefusedException>(async () =>
            await SsrfGuard.ConnectAsync(new DnsEndPoint(address, 80), allowPrivate: true, CancellationToken.None));

        Assert.That(SsrfGuard.NeverReason(IPAddress.Parse(address)), Is.Not.Null);
        Assert.That(refused!.Message, Does.Contain(address).And.Contain("never"));
    }

    [TestCase("10.0.0.1")]
    [TestCase("100.64.0.1")]
    [TestCase("fd00::1")]
    [TestCase("::1")]
    [TestCase("192.0.0.8")]
    public void Other_private_addresses_are_left_to_the_private_network_setting(string address) =>
        Assert.That(SsrfGuard.NeverReason(IPAddress.Parse(address)), Is.Null);

    [TestCase("127.0.0.1")]
    [TestCase("10.0.0.1")]
    [TestCase("169.254.169.254")]
    [TestCase("localhost")] // a name that resolves to a private address: vetted after resolution, not by its spelling
    public async Task Connecting_to_a_private_destination_is_refused_before_any_packet_is_sent(string host)
    {
        var refused = await Assert.ThrowsAsync<SsrfRefusedException>(async () =>
            await SsrfGuard.ConnectAsync(new DnsEndPoint(host, 443), allowPrivate: false, CancellationToken.None));
        Assert.That(refused!.Message, Does.Contain(host));
    }

    [Test]
    public async Task With_private_networks_allowed_the_vetted_address_is_the_one_connected()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        await using var stream = await SsrfGuard.ConnectAsync(new DnsEndPoint("localhost", port), allowPrivate: true, CancellationToken.None);
        using var accepted = await listener.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(5));

        var remote = ((IPEndPoint)accepted.Client.RemoteEndPoint!).Address;
        Assert.That(IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote), Is.True);
        Assert.That(stream.CanWrite, Is.True);
    }
}
