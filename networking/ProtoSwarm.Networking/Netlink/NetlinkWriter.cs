using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace ProtoSwarm.Networking.Netlink;

/// <summary>
/// Builds netlink messages back to back in one buffer, so a batch goes to the kernel in one send:
/// a message is its header, a fixed family header, then attributes (nested ones too), each padded to 4.
/// </summary>
internal sealed class NetlinkWriter
{
    private byte[] _buffer = new byte[4096];
    private int _messageStart = -1;

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, Length);

    public void Clear()
    {
        Length = 0;
        _messageStart = -1;
    }

    public void BeginMessage(ushort type, ushort flags, uint seq)
    {
        if (_messageStart >= 0)
        {
            throw new InvalidOperationException("a netlink message is still open");
        }
        _messageStart = Length;
        var h = Reserve(Rtnl.HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], seq);
    }

    /// <summary>Closes the open message and returns its length.</summary>
    public int EndMessage()
    {
        var length = Length - _messageStart;
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_messageStart), (uint)length);
        _messageStart = -1;
        return length;
    }

    /// <summary>Drops the open message (a batch that must not grow past one send).</summary>
    public void Truncate(int length)
    {
        Length = length;
        _messageStart = -1;
    }

    public void IfInfo(byte family, int index, uint flags = 0, uint change = 0)
    {
        var s = Reserve(16);
        s[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], change);
    }

    public void IfAddr(byte family, byte prefixLength, int index, byte scope = 0)
    {
        var s = Reserve(8);
        s[0] = family;
        s[1] = prefixLength;
        s[3] = scope;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
    }

    public void RtMsg(byte family, byte dstLength, byte table, byte protocol, byte scope, byte type, uint flags)
    {
        var s = Reserve(12);
        s[0] = family;
        s[1] = dstLength;
        s[4] = table;
        s[5] = protocol;
        s[6] = scope;
        s[7] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], flags);
    }

    public void FibRule(byte family, byte table, byte action)
    {
        var s = Reserve(12);
        s[0] = family;
        s[4] = table;
        s[7] = action;
    }

    public void NdMsg(byte family, int index, ushort state, byte flags)
    {
        var s = Reserve(12);
        s[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], state);
        s[10] = flags;
    }

    public void NfGen(byte family)
    {
        var s = Reserve(4);
        s[0] = family;
    }

    public void Attr(ushort type, ReadOnlySpan<byte> value)
    {
        var s = Reserve(4 + value.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)(4 + value.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], type);
        value.CopyTo(s[4..]);
        Align();
    }

    public void Attr(ushort type, byte value) => Attr(type, [value]);

    public void Attr(ushort type, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        Attr(type, b);
    }

    public void AttrBigEndian(ushort type, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, value);
        Attr(type, b);
    }

    public void Attr(ushort type, string value)
    {
        Span<byte> b = stackalloc byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, b);
        Attr(type, b);
    }

    public void Attr(ushort type, IPAddress address)
    {
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out var written);
        Attr(type, b[..written]);
    }

    public void Attr(ushort type, MacAddress mac)
    {
        Span<byte> b = stackalloc byte[6];
        mac.CopyTo(b);
        Attr(type, b);
    }

    /// <summary>An attribute copied whole (header included) from a dumped message; nothing when empty.</summary>
    public void Raw(ReadOnlySpan<byte> attribute)
    {
        if (attribute.IsEmpty)
        {
            return;
        }
        attribute.CopyTo(Reserve(attribute.Length));
        Align();
    }

    /// <summary>Opens a nested attribute; <see cref="EndNested"/> with the returned offset closes it.</summary>
    public int BeginNested(ushort type)
    {
        var start = Length;
        var s = Reserve(4);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], type);
        return start;
    }

    public void EndNested(int start) =>
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start), (ushort)(Length - start));

    private Span<byte> Reserve(int count)
    {
        if (Length + count + 4 > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + count + 4));
        }
        var span = _buffer.AsSpan(Length, count);
        span.Clear();
        Length += count;
        return span;
    }

    private void Align()
    {
        var padded = (Length + 3) & ~3;
        _buffer.AsSpan(Length, padded - Length).Clear();
        Length = padded;
    }
}
