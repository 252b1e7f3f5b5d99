using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace ProtoSwarm.Cli.Lab;

/// <summary>Where a forwarded connection goes: a node's address, reached from inside that node's namespace.</summary>
internal sealed record ForwardTarget(string Node, string NetnsPath, IPAddress Address);

/// <summary>
/// Listens on the machine's loopback (never a wildcard address) and hands each accepted connection to
/// the next target in turn: a socket made inside that target's namespace connects to its address and
/// NODEPORT, and bytes are copied both ways, each direction closed on its own (half-close) when its
/// sender is done. A target that refuses or does not answer is skipped for the next one.
/// </summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    private const int BufferSize = 64 * 1024;

    private readonly List<Listener> _listeners;
    private readonly IReadOnlyList<ForwardTarget> _targets;
    private readonly NetnsSocketFactory _sockets;
    private readonly TextWriter _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentConnections _connections = new();

    private TcpForwarder(List<Listener> listeners, IReadOnlyList<ForwardTarget> targets, NetnsSocketFactory sockets, TextWriter log)
    {
        _listeners = listeners;
        _targets = targets;
        _sockets = sockets;
        _log = log;
    }

    /// <summary>The bound listeners, in the order of the forwards (a port 0 shows the port the kernel chose).</summary>
    public IReadOnlyList<IPEndPoint> LocalEndPoints => _listeners.Select(l => (IPEndPoint)l.Socket.LocalEndPoint!).ToList();

    /// <summary>Binds every forward's listener on <paramref name="listen"/>, or none: a port in use is a <see cref="LabException"/>.</summary>
    public static TcpForwarder Listen(IPAddress listen, IReadOnlyList<PortForward> forwards, IReadOnlyList<ForwardTarget> targets, NetnsSocketFactory sockets, TextWriter log)
    {
        if (targets.Count == 0)
        {
            throw new LabException("No node to forward to.");
        }

        var listeners = new List<Listener>(forwards.Count);
        try
        {
            foreach (var forward in forwards)
            {
                var socket = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                listeners.Add(new Listener(socket, forward));
                try
                {
                    socket.Bind(new IPEndPoint(listen, forward.ListenPort));
                    socket.Listen(512);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
                {
                    throw new LabException(
                        $"{listen}:{forward.ListenPort} is already in use on this machine; stop what listens there (`ss -ltnp 'sport = :{forward.ListenPort}'`) or forward another local port (`{forward.ListenPort + 1}:{forward.NodePort}`).", e);
                }
                catch (SocketException e)
                {
                    throw new LabException($"Cannot listen on {listen}:{forward.ListenPort}: {e.Message}.", e);
                }
            }
        }
        catch
        {
            listeners.ForEach(l => l.Socket.Dispose());
            throw;
        }

        return new TcpForwarder(listeners, targets, sockets, log);
    }

    /// <summary>Accepts and forwards until <paramref name="ct"/> is cancelled or the forwarder disposed.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stop.Token);
        await Task.WhenAll(_listeners.Select(l => AcceptLoopAsync(l, linked.Token))).ConfigureAwait(false);
        await _connections.WhenAllDoneAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listeners.ForEach(l => l.Socket.Dispose());
        await _connections.WhenAllDoneAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(Listener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.Socket.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                await _log.WriteLineAsync($"accept on {listener.Socket.LocalEndPoint}: {e.Message}").ConfigureAwait(false);
                continue;
            }

            var first = (int)(Interlocked.Increment(ref listener.Accepted) - 1) % _targets.Count;
            _connections.Track(ServeAsync(client, listener.Forward, first, ct));
        }
    }

    private async Task ServeAsync(Socket client, PortForward forward, int first, CancellationToken ct)
    {
        using (client)
        {
            try
            {
                using var upstream = await ConnectAsync(forward, first, ct).ConfigureAwait(false);
                if (upstream is null)
                {
                    return;
                }

                // One side failing (a reset) aborts the other's copy instead of leaving it blocked on a read.
                using var abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
                await Task.WhenAll(CopyAsync(client, upstream, abort), CopyAsync(upstream, client, abort)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
            {
                // Stopping: the connection ends with the forwarder.
            }
        }
    }

    /// <summary>Tries the targets from the round-robin one on; null when none accepted the connection.</summary>
    private async Task<Socket?> ConnectAsync(PortForward forward, int first, CancellationToken ct)
    {
        for (var i = 0; i < _targets.Count; i++)
        {
            var target = _targets[(first + i) % _targets.Count];
            Socket? socket = null;
            try
            {
                socket = await _sockets.CreateAsync(target.NetnsPath, target.Address.AddressFamily).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(ConnectTimeout);
                await socket.ConnectAsync(new IPEndPoint(target.Address, forward.NodePort), timeout.Token).ConfigureAwait(false);
                return socket;
            }
            catch (Exception e) when (e is SocketException or LabException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                socket?.Dispose();
                var why = e is OperationCanceledException ? $"no answer within {ConnectTimeout.TotalSeconds:0} s" : e.Message;
                await _log.WriteLineAsync($"forward {forward}: {target.Node} ({target.Address}:{forward.NodePort}): {why}").ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                socket?.Dispose();
                return null;
            }
        }

        return null;
    }

    private static async Task CopyAsync(Socket from, Socket to, CancellationTokenSource abort)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, abort.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    // The sender is done: pass its FIN on, and keep the other direction open.
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                var sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, abort.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            await abort.CancelAsync().ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed class Listener(Socket socket, PortForward forward)
    {
        public Socket Socket { get; } = socket;

        public PortForward Forward { get; } = forward;

        /// <summary>Connections accepted so far: the next one goes to target Accepted % count.</summary>
        public long Accepted;
    }

    /// <summary>The connections still being served, so that stopping waits for their sockets to close.</summary>
    private sealed class ConcurrentConnections
    {
        private readonly Lock _lock = new();
        private readonly HashSet<Task> _running = [];

        public void Track(Task connection)
        {
            lock (_lock)
            {
                _running.Add(connection);
            }

            connection.ContinueWith(t =>
            {
                lock (_lock)
                {
                    _running.Remove(t);
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        public Task WhenAllDoneAsync()
        {
            lock (_lock)
            {
                return Task.WhenAll(_running);
            }
        }
    }
}
