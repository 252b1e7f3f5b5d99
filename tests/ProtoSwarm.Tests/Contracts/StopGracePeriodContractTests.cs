using System.Buffers;
using MessagePack;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>
/// ContainerSpec.StopGracePeriod: null is docker's 10 s, zero a kill at once. It moved to key 23; key 9
/// held it before with zero for "not set", so specs stored then must read as they meant.
/// </summary>
public class StopGracePeriodContractTests
{
    [Theory]
    [InlineData(null)]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(20_000L)]
    public void The_Period_Round_Trips_With_Zero_Kept_Apart_From_Unset(long? milliseconds)
    {
        TimeSpan? grace = milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        var spec = new ContainerSpec("busybox", StopGracePeriod: grace);

        var copy = ContractRegistry.Deserialize<ContainerSpec>(ContractRegistry.SerializeTyped(spec));

        Assert.Equal(grace, copy.StopGracePeriod);
    }

    [Theory]
    [InlineData(0L, null)]
    [InlineData(20_000L, 20_000L)]
    public void A_Spec_Stored_Before_Key_23_Reads_Its_Key_9_With_Zero_As_Unset(long storedMs, long? expectedMs)
    {
        var old = OldBytes(TimeSpan.FromMilliseconds(storedMs));

        var read = ContractRegistry.Deserialize<ContainerSpec>(old);

        Assert.Equal(expectedMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null, read.StopGracePeriod);
    }

    [Theory]
    [InlineData(null, 0L)]
    [InlineData(0L, 0L)]
    [InlineData(20_000L, 20_000L)]
    public void Key_9_Is_Still_Written_For_A_Reader_That_Knows_Only_It(long? milliseconds, long key9Ms)
    {
        var spec = new ContainerSpec("busybox", StopGracePeriod: milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null);

        var reader = new MessagePackReader(ContractRegistry.SerializeTyped(spec));
        var length = reader.ReadArrayHeader();
        for (var i = 0; i < 9; i++)
        {
            reader.Skip();
        }

        Assert.Equal(26, length);
        Assert.Equal(TimeSpan.FromMilliseconds(key9Ms).Ticks, reader.ReadInt64());
    }

    /// <summary>A ContainerSpec as stored before key 23: 23 elements, the period at key 9 (zero when not set).</summary>
    private static byte[] OldBytes(TimeSpan key9)
    {
        var current = ContractRegistry.SerializeTyped(new ContainerSpec("busybox", StopGracePeriod: key9 > TimeSpan.Zero ? key9 : null));
        var reader = new MessagePackReader(current);
        var length = reader.ReadArrayHeader();
        Assert.Equal(26, length);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(23);
        for (var i = 0; i < 23; i++)
        {
            var element = reader.ReadRaw();
            if (i == 9)
            {
                writer.Write(key9.Ticks);
            }
            else
            {
                writer.WriteRaw(element);
            }
        }

        writer.Flush();
        return buffer.WrittenMemory.ToArray();
    }
}
