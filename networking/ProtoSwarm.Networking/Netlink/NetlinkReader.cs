using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace ProtoSwarm.Networking.Netlink;

/// <summary>One netlink message of a received buffer: its header fields and its payload.</summary>
internal readonly ref struct NetlinkMessage(ReadOnlySpan<byte> message)
{
    private readonly ReadOnlySpan<byte> _message = message;

    public ushort Type => BinaryPrimitives.ReadUInt16LittleEndian(_message[4..]);
    public ushort Flags => BinaryPrimitives.ReadUInt16LittleEndian(_message[6..]);
    public uint Seq => BinaryPrimitives.ReadUInt32LittleEndian(_message[8..]);
    public ReadOnlySpan<byte> Payload => _message[Rtnl.HeaderSize..];

    /// <summary>The attributes after a family header of <paramref name="fixedSize"/> bytes.</summary>
    public AttributeReader Attributes(int fixedSize) => new(Payload.Length >= fixedSize ? Payload[fixedSize..] : default);

    /// <summary>Iterates the messages of one datagram.</summary>
    public static MessageEnumerator Enumerate(ReadOnlySpan<byte> datagram) => new(datagram);

    public ref struct MessageEnumerator(ReadOnlySpan<byte> datagram)
    {
        private ReadOnlySpan<byte> _rest = datagram;

        public NetlinkMessage Current { get; private set; }

        public readonly MessageEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_rest.Length < Rtnl.HeaderSize)
            {
                return false;
            }
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_rest);
            if (length < Rtnl.HeaderSize || length > _rest.Length)
            {
                return false;
            }
            Current = new NetlinkMessage(_rest[..length]);
            var aligned = Math.Min((length + 3) & ~3, _rest.Length);
            _rest = _rest[aligned..];
            return true;
        }
    }
}

/// <summary>Iterates netlink attributes (type without the nested/byte-order bits, value).</summary>
internal ref struct AttributeReader(ReadOnlySpan<byte> attributes)
{
    private ReadOnlySpan<byte> _rest = attributes;

    public ushort Type { get; private set; }
    public ReadOnlySpan<byte> Value { get; private set; }

    /// <summary>The whole current attribute, header included (to copy it into another message).</summary>
    public ReadOnlySpan<byte> Raw { get; private set; }

    public readonly AttributeReader GetEnumerator() => this;

    public readonly AttributeReader Current => this;

    public bool MoveNext()
    {
        if (_rest.Length < 4)
        {
            return false;
        }
        var length = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        if (length < 4 || length > _rest.Length)
        {
            return false;
        }
        Type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]) & Rtnl.NLA_TYPE_MASK);
        Raw = _rest[..length];
        Value = _rest[4..length];
        _rest = _rest[Math.Min((length + 3) & ~3, _rest.Length)..];
        return true;
    }

    public readonly AttributeReader Nested => new(Value);
    public readonly uint U32 => Value.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Value) : 0;
    public readonly byte U8 => Value.Length >= 1 ? Value[0] : (byte)0;
    public readonly ushort BigEndianU16 => Value.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Value) : (ushort)0;
    public readonly string String => Encoding.UTF8.GetString(Value.IndexOf((byte)0) is var end and >= 0 ? Value[..end] : Value);
    public readonly IPAddress Address => new(Value);
}
