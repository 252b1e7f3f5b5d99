using System.Collections.Immutable;
using System.Buffers;
using MessagePack;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>NodeDescription.TlsInfo is key 6, RegistryPort key 7: a description stored or sent before either existed still reads, without it.</summary>
public class NodeTlsInfoContractTests
{
    [Fact]
    public void A_Description_Written_Before_Key_6_Reads_With_No_Tls_Info()
    {
        var read = ContractRegistry.Deserialize<NodeDescription>(Written(keys: 6));

        Assert.Equal(new NodeDescription("host-1", "linux", "x86_64", 4_000_000_000, 8L << 30, "0.1.0"), read);
        Assert.Null(read.TlsInfo);
    }

    [Fact]
    public void A_Description_Written_Before_Key_7_Reads_With_No_Registry_Port()
    {
        var read = ContractRegistry.Deserialize<NodeDescription>(Written(keys: 7));

        Assert.Equal(0, read.RegistryPort);
    }

    /// <summary>A description as a version with only its first <paramref name="keys"/> keys wrote it: the six plain fields, then nil.</summary>
    private static ReadOnlyMemory<byte> Written(int keys)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(keys);
        writer.Write("host-1");
        writer.Write("linux");
        writer.Write("x86_64");
        writer.Write(4_000_000_000L);
        writer.Write(8L << 30);
        writer.Write("0.1.0");
        for (var key = 6; key < keys; key++)
        {
            writer.WriteNil();
        }

        writer.Flush();
        return buffer.WrittenMemory;
    }

    [Fact]
    public void The_Registry_Port_Round_Trips()
    {
        var description = new NodeDescription("host-1", "linux", "x86_64", 1, 2, "0.1.0", RegistryPort: 5000);

        var copy = ContractRegistry.Deserialize<NodeDescription>(ContractRegistry.SerializeTyped(description));

        Assert.Equal(5000, copy.RegistryPort);
    }

    [Fact]
    public void Standalone_Host_Ports_Round_Trip_Compare_By_Content_And_Are_None_From_An_Older_Node()
    {
        var description = new NodeDescription("host-1", "linux", "x86_64", 1, 2, "0.1.0",
            HostPorts: [new PortConfig(80, 8089, PortProtocol.Tcp, PublishMode.Host)]);

        var copy = ContractRegistry.Deserialize<NodeDescription>(ContractRegistry.SerializeTyped(description));

        Assert.Equal(description, copy);
        Assert.Equal(description.GetHashCode(), copy.GetHashCode());
        Assert.NotEqual(description, copy with { HostPorts = [] });
        Assert.Empty(ContractRegistry.Deserialize<NodeDescription>(Written(keys: 7)).HostPorts);
    }

    [Fact]
    public void Engine_Labels_Round_Trip_And_Compare_By_Content()
    {
        var description = new NodeDescription("host-1", "linux", "x86_64", 1, 2, "0.1.0",
            EngineLabels: ImmutableSortedDictionary<string, string>.Empty.Add("disk", "ssd").Add("zone", ""));

        var copy = ContractRegistry.Deserialize<NodeDescription>(ContractRegistry.SerializeTyped(description));

        Assert.NotSame(description.EngineLabels, copy.EngineLabels);
        Assert.Equal(description, copy);
        Assert.Equal(description.GetHashCode(), copy.GetHashCode());
        Assert.NotEqual(description, copy with { EngineLabels = copy.EngineLabels.SetItem("disk", "hdd") });
        Assert.NotEqual(description, copy with { EngineLabels = copy.EngineLabels.Remove("zone") });
    }

    [Fact]
    public void Tls_Info_Round_Trips_Inside_A_Node()
    {
        var tls = new NodeTlsInfo("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", "c3ViamVjdA==", "a2V5");
        var description = new NodeDescription("host-1", "linux", "x86_64", 1, 2, "0.1.0", tls);

        var copy = ContractRegistry.Deserialize<NodeDescription>(ContractRegistry.SerializeTyped(description));

        Assert.Equal(description, copy);
    }
}
