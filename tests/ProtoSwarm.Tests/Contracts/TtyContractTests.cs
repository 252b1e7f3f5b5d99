using System.Buffers;
using MessagePack;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>ContainerSpec.TTY (docker's --tty) is key 24, appended: a spec stored before it has 24 elements and reads false.</summary>
public class TtyContractTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_Flag_Round_Trips_At_Key_24(bool tty)
    {
        var spec = new ContainerSpec("busybox", TTY: tty);
        var bytes = ContractRegistry.SerializeTyped(spec);

        var copy = ContractRegistry.Deserialize<ContainerSpec>(bytes);

        Assert.Equal(tty, copy.TTY);
        var reader = new MessagePackReader(bytes);
        Assert.Equal(26, reader.ReadArrayHeader());
        for (var i = 0; i < 24; i++)
        {
            reader.Skip();
        }

        Assert.Equal(tty, reader.ReadBoolean());
    }

    [Fact]
    public void A_Spec_Stored_Before_Key_24_Reads_Without_A_Terminal_And_Keeps_The_Rest()
    {
        var current = ContractRegistry.SerializeTyped(new ContainerSpec("busybox", Args: ["sh"], Init: true, TTY: true));
        var reader = new MessagePackReader(current);
        Assert.Equal(26, reader.ReadArrayHeader());
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(24);
        for (var i = 0; i < 24; i++)
        {
            writer.WriteRaw(reader.ReadRaw());
        }

        writer.Flush();

        var read = ContractRegistry.Deserialize<ContainerSpec>(buffer.WrittenMemory.ToArray());

        Assert.False(read.TTY);
        Assert.Equal(("busybox", true), (read.Image, read.Init));
        Assert.Equal(["sh"], read.Args.ToArray());
    }
}
