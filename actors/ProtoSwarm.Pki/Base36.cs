using System.Numerics;

namespace ProtoSwarm.Pki;

/// <summary>Unsigned big-endian numbers written in lowercase base 36, zero-padded, as Go's big.Int.Text(36) with %0*s.</summary>
internal static class Base36
{
    private const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";

    public static string Encode(ReadOnlySpan<byte> bigEndian, int width)
    {
        var value = new BigInteger(bigEndian, isUnsigned: true, isBigEndian: true);
        var chars = new char[width];
        for (var i = width - 1; i >= 0; i--)
        {
            value = BigInteger.DivRem(value, 36, out var digit);
            chars[i] = Digits[(int)digit];
        }
        if (!value.IsZero)
            throw new ArgumentException($"the value needs more than {width} base-36 digits", nameof(bigEndian));
        return new string(chars);
    }

    /// <summary>The index of the first character that is not a lowercase base-36 digit, or -1.</summary>
    public static int IndexOfInvalid(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (Digits.IndexOf(text[i], StringComparison.Ordinal) < 0)
                return i;
        }
        return -1;
    }

    /// <summary>Decodes into exactly <paramref name="destination"/>.Length bytes; false when the value does not fit.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination)
    {
        var value = BigInteger.Zero;
        foreach (var c in text)
        {
            var digit = Digits.IndexOf(c, StringComparison.Ordinal);
            if (digit < 0)
                return false;
            value = (value * 36) + digit;
        }
        var byteCount = value.GetByteCount(isUnsigned: true);
        if (byteCount > destination.Length)
            return false;
        destination.Clear();
        return value.TryWriteBytes(destination[(destination.Length - byteCount)..], out _, isUnsigned: true, isBigEndian: true);
    }
}
