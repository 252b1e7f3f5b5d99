using System.Net.Sockets;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Client.Control;

/// <summary>
/// Talks to the local node host through its control socket (root only). Used by the CLI; any
/// program on the node may use it the same way.
/// </summary>
public sealed class ControlClient
{
    public const string SocketEnvironmentVariable = "PROTOSWARM_CONTROL_SOCKET";
    public const string DefaultStateDir = "/var/lib/protoswarm";
    public const string SocketFileName = "control.sock";

    private readonly string _socketPath;

    /// <param name="socketPath">The node's control socket.</param>
    public ControlClient(string socketPath) => _socketPath = socketPath;

    public string SocketPath => _socketPath;

    /// <summary>The socket named by PROTOSWARM_CONTROL_SOCKET, else the default state dir's.</summary>
    public static string DefaultSocketPath() =>
        Environment.GetEnvironmentVariable(SocketEnvironmentVariable) is { Length: > 0 } path
            ? path
            : Path.Combine(DefaultStateDir, SocketFileName);

    /// <summary>
    /// Sends one request and returns the reply. A <see cref="CommandRejected"/> reply becomes a
    /// <see cref="SwarmCommandException"/>; an unreachable node becomes one with code Unavailable.
    /// </summary>
    public async Task<TReply> RequestAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct = default)
    {
        var reply = await RequestAsync(request, timeout, ct).ConfigureAwait(false);
        return reply switch
        {
            TReply typed => typed,
            CommandRejected rejected => throw new SwarmCommandException(rejected.Code, rejected.Reason),
            _ => throw new SwarmCommandException(RejectCode.Internal,
                $"The node answered {reply.GetType().Name} where {typeof(TReply).Name} was expected; are the CLI and protoswarmd the same version?"),
        };
    }

    public async Task<object> RequestAsync(object request, TimeSpan timeout, CancellationToken ct = default)
    {
        var (reply, stream) = await OpenAsync(request, timeout, ct).ConfigureAwait(false);
        await stream.DisposeAsync().ConfigureAwait(false);
        return reply;
    }

    /// <summary>
    /// Sends a request whose answer starts a stream (<see cref="ExecInTask"/> with -i or -t): returns the
    /// first reply and the connection, which the caller owns from then on (exec frames follow an
    /// <see cref="ExecStarted"/>). A <see cref="CommandRejected"/> reply is thrown as for a request.
    /// </summary>
    public async Task<(TReply Reply, Stream Connection)> OpenStreamAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct = default)
    {
        var (reply, stream) = await OpenAsync(request, timeout, ct).ConfigureAwait(false);
        if (reply is TReply typed)
        {
            return (typed, stream);
        }

        await stream.DisposeAsync().ConfigureAwait(false);
        throw reply is CommandRejected rejected
            ? new SwarmCommandException(rejected.Code, rejected.Reason)
            : new SwarmCommandException(RejectCode.Internal,
                $"The node answered {reply.GetType().Name} where {typeof(TReply).Name} was expected; are the CLI and protoswarmd the same version?");
    }

    private async Task<(object Reply, NetworkStream Stream)> OpenAsync(object request, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath), cts.Token).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.ConnectionRefused or SocketError.AccessDenied)
        {
            socket.Dispose();
            throw Unreachable(e.SocketErrorCode == SocketError.AccessDenied
                ? "permission denied (the control socket is root-only: run as root)"
                : "nothing is listening there");
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw Unreachable(e.Message);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            await ControlFraming.WriteAsync(stream, request, cts.Token).ConfigureAwait(false);
            var reply = await ControlFraming.ReadAsync(stream, cts.Token).ConfigureAwait(false)
                   ?? throw new SwarmCommandException(RejectCode.Unavailable,
                       $"The node at {_socketPath} closed the connection without answering; see protoswarmd's log.");
            return (reply, stream);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw new SwarmCommandException(RejectCode.Unavailable,
                $"The node at {_socketPath} did not answer within {timeout.TotalSeconds:0} s; check that protoswarmd is healthy (its log), then try again.");
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private SwarmCommandException Unreachable(string why) =>
        new(RejectCode.Unavailable,
            $"Cannot connect to the ProtoSwarm node at {_socketPath}: {why}. Is protoswarmd running? Start it with `protoswarmd --state DIR`, or point PROTOSWARM_CONTROL_SOCKET at its control socket.");
}
