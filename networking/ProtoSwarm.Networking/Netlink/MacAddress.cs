using System.Globalization;

namespace ProtoSwarm.Networking.Netlink;

/// <summary>An Ethernet address, printed as ip prints it (lower-case, colon-separated).</summary>
public readonly record struct MacAddress(ulong Value)
{
    public static MacAddress Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 6)
        {
            throw new FormatException($"'{text}' is not a MAC address (six hex bytes separated by ':')");
        }
        ulong value = 0;
        foreach (var part in parts)
        {
            value = (value << 8) | byte.Parse(part, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        return new MacAddress(value);
    }

    public static MacAddress FromBytes(ReadOnlySpan<byte> bytes)
    {
        ulong value = 0;
        for (var i = 0; i < 6 && i < bytes.Length; i++)
        {
            value = (value << 8) | bytes[i];
        }
        return new MacAddress(value);
    }

    public void CopyTo(Span<byte> destination)
    {
        for (var i = 0; i < 6; i++)
        {
            destination[i] = (byte)(Value >> (8 * (5 - i)));
        }
    }

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[6];
        CopyTo(b);
        return string.Create(CultureInfo.InvariantCulture, $"{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}:{b[4]:x2}:{b[5]:x2}");
    }
}
