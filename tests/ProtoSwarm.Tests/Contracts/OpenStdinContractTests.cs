using System.Buffers;
using MessagePack;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>ContainerSpec.OpenStdin (docker's -i) is key 25, appended: a spec stored before it has 25 elements and reads false.</summary>
public class OpenStdinContractTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_Flag_Round_Trips_At_Key_25(bool openStdin)
    {
        var bytes = ContractRegistry.SerializeTyped(new ContainerSpec("busybox", TTY: true, OpenStdin: openStdin));

        var copy = ContractRegistry.Deserialize<ContainerSpec>(bytes);

        Assert.Equal((openStdin, true), (copy.OpenStdin, copy.TTY));
        var reader = new MessagePackReader(bytes);
        Assert.Equal(26, reader.ReadArrayHeader());
        for (var i = 0; i < 25; i++)
        {
            reader.Skip();
        }

        Assert.Equal(openStdin, reader.ReadBoolean());
    }

    [Fact]
    public void A_Spec_Stored_Before_Key_25_Reads_With_Stdin_Closed_And_Keeps_The_Rest()
    {
        var reader = new MessagePackReader(ContractRegistry.SerializeTyped(new ContainerSpec("busybox", Args: ["sh"], TTY: true, OpenStdin: true)));
        Assert.Equal(26, reader.ReadArrayHeader());
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(25);
        for (var i = 0; i < 25; i++)
        {
            writer.WriteRaw(reader.ReadRaw());
        }

        writer.Flush();

        var read = ContractRegistry.Deserialize<ContainerSpec>(buffer.WrittenMemory.ToArray());

        Assert.False(read.OpenStdin);
        Assert.Equal(("busybox", true), (read.Image, read.TTY));
        Assert.Equal(["sh"], read.Args.ToArray());
    }
}
