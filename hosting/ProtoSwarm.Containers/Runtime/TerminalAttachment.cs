using System.Net.Sockets;
using ProtoSwarm.ContainerInit;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>
/// A TTY container's terminal, attached through its monitor's attach.sock (a SOCK_SEQPACKET socket; the monitor's side
/// is ProtoSwarm.ContainerInit's TerminalAttach): each message from it is output as the terminal printed it, raw; each
/// message to it is keys typed ('i' and the bytes) or a size ('w', rows and columns). The connection ends after the
/// container's last output. Disposing it detaches: the container goes on. Reads and writes block; use one thread each.
/// </summary>
public sealed class TerminalAttachment : IDisposable
{
    /// <summary>The most bytes of keys one message carries (the monitor reads one message into a buffer this size plus its kind).</summary>
    public const int MaxInput = 4096;

    private readonly Socket _socket;

    private TerminalAttachment(Socket socket) => _socket = socket;

    /// <summary>Connects to <paramref name="path"/>; null when no monitor listens there (the container ended, or has no terminal).</summary>
    internal static TerminalAttachment? Connect(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return new TerminalAttachment(socket);
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>The next output the terminal printed, into <paramref name="buffer"/> (16 KiB holds any); 0 at the end.</summary>
    public int Read(Span<byte> buffer)
    {
        try
        {
            return _socket.Receive(buffer);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return 0;
        }
    }

    /// <summary>Keys typed on the terminal; false once the container is gone.</summary>
    public bool Write(ReadOnlySpan<byte> keys)
    {
        var message = new byte[1 + Math.Min(keys.Length, MaxInput)];
        while (keys.Length > 0)
        {
            var part = keys[..Math.Min(keys.Length, MaxInput)];
            message[0] = InitProtocol.AttachInput;
            part.CopyTo(message.AsSpan(1));
            if (!Send(message.AsSpan(0, 1 + part.Length)))
            {
                return false;
            }

            keys = keys[part.Length..];
        }

        return true;
    }

    /// <summary>The terminal's new size (the kernel sends the foreground process group SIGWINCH); 0 leaves it as it is.</summary>
    public bool Resize(ushort rows, ushort columns) =>
        rows == 0 || columns == 0 || Send([InitProtocol.AttachResize, (byte)(rows >> 8), (byte)rows, (byte)(columns >> 8), (byte)columns]);

    /// <summary>Stops both directions (a blocked <see cref="Read"/> returns 0); the container goes on.</summary>
    public void Detach()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose() => _socket.Dispose();

    private bool Send(ReadOnlySpan<byte> message)
    {
        try
        {
            return _socket.Send(message) == message.Length;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }
}
