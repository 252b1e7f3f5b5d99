using System.Buffers.Binary;
using ProtoSwarm.Networking.Interop;

namespace ProtoSwarm.Networking.Netlink;

/// <summary>
/// A raw AF_NETLINK socket. It lives in the network namespace of the thread that opened it, whatever
/// thread uses it later. Requests go out in batches (many messages in one send, each acknowledged);
/// dumps are read until NLMSG_DONE. Not thread-safe: one owner (a <see cref="Namespaces.NamespaceThread"/>).
/// </summary>
internal sealed unsafe class NetlinkSocket : IDisposable
{
    // The kernel refuses a send larger than its send buffer; a batch is cut into sends of this size.
    private const int MaxSend = 128 * 1024;
    private readonly int _fd;
    private readonly byte[] _receive = new byte[256 * 1024];
    private uint _seq;
    private bool _disposed;

    public NetlinkSocket(int protocol)
    {
        _fd = Libc.Check(Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, protocol), "socket(AF_NETLINK)");
        try
        {
            // sockaddr_nl: family, pad, pid 0 (the kernel picks), groups 0.
            var address = stackalloc byte[12];
            new Span<byte>(address, 12).Clear();
            address[0] = Libc.AF_NETLINK;
            Libc.Check(Libc.bind(_fd, address, 12), "bind(AF_NETLINK)");
            SetOption(Libc.SOL_SOCKET, Libc.SO_SNDBUFFORCE, 1 << 20, optional: true);
            SetOption(Libc.SOL_SOCKET, Libc.SO_RCVBUFFORCE, 4 << 20, optional: true);
            // Acks without the request echoed back; error text from the kernel when it has some.
            SetOption(Libc.SOL_NETLINK, Libc.NETLINK_CAP_ACK, 1, optional: true);
            SetOption(Libc.SOL_NETLINK, Libc.NETLINK_EXT_ACK, 1, optional: true);
            // A lost answer fails the call instead of hanging the namespace's thread.
            var timeout = stackalloc long[2] { 10, 0 };
            Libc.Check(Libc.setsockopt(_fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, timeout, 16), "setsockopt(SO_RCVTIMEO)");
        }
        catch
        {
            Libc.close(_fd);
            throw;
        }
    }

    public uint NextSeq() => ++_seq;

    /// <summary>
    /// Sends the requests of <paramref name="batch"/> (each with NLM_F_ACK) and waits for every ack.
    /// Errors the request allows (a delete of what is already gone) are ignored; the first other one is
    /// thrown after all answers are in, so the socket stays in step.
    /// </summary>
    public void Execute(NetlinkBatch batch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        NetlinkException? first = null;
        var failures = 0;
        foreach (var (start, length, from, count) in batch.Chunks(MaxSend))
        {
            SendAll(batch.Writer.Written.Slice(start, length));
            var pending = count;
            while (pending > 0)
            {
                var datagram = ReceiveDatagram();
                foreach (var message in NetlinkMessage.Enumerate(datagram))
                {
                    if (message.Type != Rtnl.NLMSG_ERROR)
                    {
                        continue;
                    }
                    var index = batch.IndexOf(message.Seq);
                    if (index < from || index >= from + count)
                    {
                        continue;
                    }
                    pending--;
                    var errno = -BinaryPrimitives.ReadInt32LittleEndian(message.Payload);
                    if (errno == 0 || batch.Ignores(index, errno))
                    {
                        continue;
                    }
                    failures++;
                    first ??= new NetlinkException(batch.OperationOf(index), errno, ExtendedAckMessage(message));
                }
            }
        }
        if (first is not null)
        {
            throw failures == 1 ? first : new NetlinkException($"{first.Operation} (and {failures - 1} more failed requests in the batch)", first.Errno);
        }
    }

    /// <summary>Sends one dump request (written by <paramref name="write"/> after the header) and hands every answer to <paramref name="onMessage"/>.</summary>
    public void Dump(string operation, ushort type, Action<NetlinkWriter> write, NetlinkMessageHandler onMessage)
    {
        var seq = SendRequest(type, Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_DUMP, write);
        while (true)
        {
            var datagram = ReceiveDatagram();
            foreach (var message in NetlinkMessage.Enumerate(datagram))
            {
                if (message.Seq != seq)
                {
                    continue;
                }
                switch (message.Type)
                {
                    case Rtnl.NLMSG_DONE:
                        return;
                    case Rtnl.NLMSG_ERROR:
                        var errno = -BinaryPrimitives.ReadInt32LittleEndian(message.Payload);
                        if (errno == 0)
                        {
                            return;
                        }
                        throw new NetlinkException(operation, errno, ExtendedAckMessage(message));
                    default:
                        onMessage(message);
                        break;
                }
            }
        }
    }

    /// <summary>Sends one request message; returns its sequence number, which the answers carry.</summary>
    private uint SendRequest(ushort type, ushort flags, Action<NetlinkWriter> write)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var writer = new NetlinkWriter();
        var seq = NextSeq();
        writer.BeginMessage(type, flags, seq);
        write(writer);
        writer.EndMessage();
        SendAll(writer.Written);
        return seq;
    }

    /// <summary>One request answered by one message (RTM_GETLINK by name); false when the kernel answers <paramref name="absent"/>.</summary>
    public bool Get(string operation, ushort type, Action<NetlinkWriter> write, NetlinkMessageHandler onMessage, int absent)
    {
        var seq = SendRequest(type, Rtnl.NLM_F_REQUEST, write);
        while (true)
        {
            var datagram = ReceiveDatagram();
            foreach (var message in NetlinkMessage.Enumerate(datagram))
            {
                if (message.Seq != seq)
                {
                    continue;
                }
                if (message.Type == Rtnl.NLMSG_ERROR)
                {
                    var errno = -BinaryPrimitives.ReadInt32LittleEndian(message.Payload);
                    return errno == absent ? false : throw new NetlinkException(operation, errno, ExtendedAckMessage(message));
                }
                onMessage(message);
                return true;
            }
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Libc.close(_fd);
        }
    }

    private void SendAll(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            while (true)
            {
                var sent = Libc.send(_fd, p, data.Length, 0);
                if (sent >= 0)
                {
                    return;
                }
                var errno = Libc.LastError;
                if (errno != Libc.EINTR)
                {
                    throw new SyscallException("send(netlink)", errno);
                }
            }
        }
    }

    private ReadOnlySpan<byte> ReceiveDatagram()
    {
        fixed (byte* p = _receive)
        {
            while (true)
            {
                var received = Libc.recv(_fd, p, _receive.Length, 0);
                if (received >= 0)
                {
                    return _receive.AsSpan(0, (int)received);
                }
                var errno = Libc.LastError;
                if (errno != Libc.EINTR)
                {
                    throw new SyscallException(errno == Libc.EAGAIN ? "recv(netlink): no answer within 10 s" : "recv(netlink)", errno);
                }
            }
        }
    }

    private void SetOption(int level, int name, int value, bool optional)
    {
        if (Libc.setsockopt(_fd, level, name, &value, sizeof(int)) == -1 && !optional)
        {
            throw new SyscallException($"setsockopt({level}, {name})", Libc.LastError);
        }
    }

    // With NETLINK_CAP_ACK the error payload is errno + the request's header; TLVs follow when flagged.
    private static string? ExtendedAckMessage(NetlinkMessage message)
    {
        if ((message.Flags & Rtnl.NLM_F_ACK_TLVS) == 0 || message.Payload.Length < 4 + Rtnl.HeaderSize)
        {
            return null;
        }
        foreach (var attribute in new AttributeReader(message.Payload[(4 + Rtnl.HeaderSize)..]))
        {
            if (attribute.Type == Rtnl.NLMSGERR_ATTR_MSG)
            {
                return attribute.String;
            }
        }
        return null;
    }
}

internal delegate void NetlinkMessageHandler(NetlinkMessage message);
