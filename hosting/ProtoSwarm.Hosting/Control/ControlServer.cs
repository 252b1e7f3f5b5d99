using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Control;

/// <summary>
/// The local control socket: a Unix socket only root (or the daemon's own user) may use, checked
/// twice: by the file's mode (0600) and by the peer's credentials on every connection.
/// </summary>
public sealed partial class ControlServer : IAsyncDisposable
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    private readonly string _path;
    private readonly Func<object, CancellationToken, Task<object>> _handle;
    private readonly Func<object, Stream, CancellationToken, Task<bool>>? _stream;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task? _acceptLoop;

    /// <param name="stream">Offered each request first: true when it took the connection over (an
    /// interactive exec's frames) and answered on it itself; the connection ends when it returns.</param>
    public ControlServer(string path, Func<object, CancellationToken, Task<object>> handle, ILogger<ControlServer> logger,
        Func<object, Stream, CancellationToken, Task<bool>>? stream = null)
    {
        _path = path;
        _handle = handle;
        _logger = logger;
        _stream = stream;
    }

    public void Start()
    {
        if (File.Exists(_path))
        {
            // A socket file left by a previous run; if another daemon still answers on it, refuse to start.
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(_path));
                throw new InvalidOperationException($"Another protoswarmd is already listening on {_path}; stop it first, or give this one another --state or --control-socket.");
            }
            catch (SocketException)
            {
                File.Delete(_path);
            }
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var oldMask = Umask(0x3F); // 077: the socket is born 0600, never briefly open to others
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(_path));
        }
        finally
        {
            _ = Umask(oldMask);
        }

        File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        listener.Listen(64);
        _listener = listener;
        _acceptLoop = Task.Run(AcceptLoopAsync);
        LogListening(_logger, _path);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        File.Delete(_path);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener!.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(connection));
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        using var socket = connection;
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            var uid = PeerUid(socket);
            if (uid != 0 && uid != Geteuid())
            {
                LogRefusedPeer(_logger, uid);
                await ControlFraming.WriteAsync(stream, new CommandRejected(RejectCode.PermissionDenied, "The control socket is root-only; run the command as root."), _stop.Token);
                return;
            }

            while (await ControlFraming.ReadAsync(stream, _stop.Token) is { } request)
            {
                if (_stream is not null && await _stream(request, stream, _stop.Token))
                {
                    return;
                }

                object reply;
                try
                {
                    reply = await _handle(request, _stop.Token);
                }
                catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
                {
                    // A failure of ours (the swarm member being replaced under the request, say) is answered and logged,
                    // never a connection closed without a word, which the CLI can only call "see protoswarmd's log".
                    LogRequestFailed(_logger, request.GetType().Name, e);
                    reply = new CommandRejected(RejectCode.Unavailable, $"protoswarmd could not answer {request.GetType().Name}: {e.Message}; try again in a few seconds (its log has the details).");
                }

                await ControlFraming.WriteAsync(stream, reply, _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException or MessagePack.MessagePackSerializationException)
        {
            LogBadConnection(_logger, e.Message);
        }
    }

    private static uint PeerUid(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        Span<byte> ucred = stackalloc byte[12];
        var length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        return length >= 8 ? BitConverter.ToUInt32(ucred[4..8]) : uint.MaxValue;
    }

    [DllImport("libc", EntryPoint = "umask")]
    private static extern uint Umask(uint mask);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint Geteuid();

    [LoggerMessage(Level = LogLevel.Information, Message = "Control socket listening at {Path}")]
    private static partial void LogListening(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Control socket connection from uid {Uid} refused: root only")]
    private static partial void LogRefusedPeer(ILogger logger, uint uid);

    [LoggerMessage(Level = LogLevel.Error, Message = "A {Request} on the control socket failed")]
    private static partial void LogRequestFailed(ILogger logger, string request, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Control connection ended: {Reason}")]
    private static partial void LogBadConnection(ILogger logger, string reason);
}
