using System.Runtime.InteropServices;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Contracts;

public sealed class PooledBufferWriterTests
{
    [Fact]
    public void What_Is_Written_Through_Growth_Reads_Back_And_A_Reserved_Header_Can_Be_Filled_In()
    {
        var data = new byte[300_000];
        new Random(5).NextBytes(data);
        using var writer = new PooledBufferWriter(16);
        writer.GetSpan(4);
        writer.Advance(4);
        for (var offset = 0; offset < data.Length;)
        {
            var span = writer.GetSpan();
            var length = Math.Min(span.Length, data.Length - offset);
            data.AsSpan(offset, length).CopyTo(span);
            writer.Advance(length);
            offset += length;
        }

        BitConverter.TryWriteBytes(writer.Rewrite(0, 4), 42);

        Assert.Equal(data.Length + 4, writer.WrittenCount);
        Assert.Equal(42, BitConverter.ToInt32(writer.WrittenSpan[..4]));
        Assert.True(writer.WrittenSpan[4..].SequenceEqual(data));
    }

    [Fact]
    public void A_Span_Handed_Out_Is_At_Least_What_Was_Asked_And_At_Most_64_KiB_Beyond_It()
    {
        using var writer = new PooledBufferWriter(1 << 20);

        Assert.Equal(64 * 1024, writer.GetSpan().Length);
        Assert.Equal(100_000, writer.GetSpan(100_000).Length);
        Assert.Equal(64 * 1024, writer.GetMemory(10).Length);
    }

    [Fact]
    public void Every_Byte_A_Writer_Could_Have_Put_In_The_Array_Is_Cleared_When_It_Goes_Back_Advanced_Or_Not()
    {
        // The arrays are the pool's, so the test keeps its own reference to each to look at them after.
        var writer = new PooledBufferWriter(1 << 20);
        Assert.True(MemoryMarshal.TryGetArray<byte>(writer.GetMemory(), out var first));
        writer.GetSpan(1000).Fill(0xAB);
        writer.Advance(1000);
        var unadvanced = writer.GetSpan(500);
        unadvanced.Fill(0xCD); // written but never advanced: a serializer that threw half-way

        writer.Dispose();

        Assert.All(first.Array!.Take(1000 + 500), b => Assert.Equal(0, b));
    }

    [Fact]
    public void The_Array_Left_Behind_By_Growth_Is_Cleared_Too()
    {
        using var writer = new PooledBufferWriter(256);
        Assert.True(MemoryMarshal.TryGetArray<byte>(writer.GetMemory(), out var small));
        var before = small.Array!;
        writer.GetSpan(200).Fill(0xEE);
        writer.Advance(200);

        writer.GetSpan(before.Length); // does not fit: a larger array, the bytes copied over

        Assert.All(before.Take(200), b => Assert.Equal(0, b));
        Assert.All(writer.WrittenSpan.ToArray(), b => Assert.Equal(0xEE, b));
    }
}
