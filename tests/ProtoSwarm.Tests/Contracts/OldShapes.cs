using System.Buffers;
using MessagePack;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>What a writer that knew fewer keys wrote: for the tests that read an older record with today's contracts.</summary>
internal static class OldShapes
{
    /// <summary>The first <paramref name="count"/> elements of a MessagePack array; the array must have more (today's shape grew).</summary>
    public static byte[] FirstElements(byte[] array, int count)
    {
        var reader = new MessagePackReader(array);
        Assert.True(reader.ReadArrayHeader() > count, "the current shape has more keys than the old one");
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(count);
        for (var i = 0; i < count; i++)
        {
            writer.WriteRaw(reader.ReadRaw());
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
