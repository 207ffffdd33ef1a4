using System.Net;
using System.Net.Sockets;

namespace ThinkWatch.Testing;

/// <summary>Free ports on loopback for test servers and for dependencies that are away.</summary>
public static class LoopbackPorts
{
    /// <summary>
    /// A port nothing listens on, for a test server to listen on or for a dependency that is away.
    /// Drawn from 20000–24999, below the kernel's ephemeral range (32768–60999): a port the kernel
    /// handed out could be taken again by any outgoing connection before the server binds it.
    /// </summary>
    public static int Closed()
    {
        while (true)
        {
            var port = Random.Shared.Next(20_000, 25_000);
            if (IsFree(port))
            {
                return port;
            }
        }
    }

    /// <summary>Whether nothing listens on <paramref name="port"/> (bound, then released).</summary>
    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
