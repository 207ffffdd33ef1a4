using System.Net.Sockets;
using RabbitMQ.Client;

namespace ThinkWatch.Integrations;

/// <summary>
/// The sockets our RabbitMQ connections use: the client's own, except that once a write fails
/// (the broker went away) the socket is shut down and later writes are dropped instead of failing.
/// </summary>
/// <remarks>
/// Why: RabbitMQ.Client 7 runs a connection's shutdown handlers — one channel after another, each
/// waiting for its consumers' deliveries to finish — before it closes its frame writer. When the
/// broker goes away, the client's socket write loop ends at the first failed write, so the frames
/// written meanwhile (MassTransit acknowledging a batch it was consuming) fill the writer's buffer
/// of 128 frames and then wait for room that never comes. The channel's shutdown waits for that
/// delivery, the next channels are never told, and MassTransit, waiting for its consumers to stop,
/// never reconnects: the queues keep their messages with no consumer until the process restarts.
/// Dropping writes on a connection that is already lost keeps the write loop draining, so the
/// shutdown completes and MassTransit reconnects; nothing is lost (unacknowledged deliveries are
/// redelivered, unconfirmed publishes fail and are retried by their publisher).
/// </remarks>
public static class RabbitMqSockets
{
    /// <summary>For <c>ConnectionFactory.SocketFactory</c>.</summary>
    public static ITcpClient Create(AddressFamily family) =>
        new Client(new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });

    private sealed class Client(Socket socket) : TcpClientAdapter(socket)
    {
        private NetworkStream? _stream;

        public override NetworkStream GetStream() => _stream ??= new DroppingStream(Client);
    }

    private sealed class DroppingStream(Socket socket) : NetworkStream(socket, ownsSocket: false)
    {
        private volatile bool _lost;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_lost)
            {
                return;
            }
            try
            {
                await base.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                Lose();
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_lost)
            {
                return;
            }
            try
            {
                base.Write(buffer);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                Lose();
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        /// <summary>Reads end too (the client's read loop then starts the shutdown, if it had not).</summary>
        private void Lose()
        {
            _lost = true;
            try
            {
                Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // already closed
            }
        }
    }
}
