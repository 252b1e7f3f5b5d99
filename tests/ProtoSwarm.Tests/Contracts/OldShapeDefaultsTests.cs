using System.Collections.Immutable;
using MessagePack;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>
/// A record an earlier version wrote (a Raft log entry or snapshot, an older node or CLI) lacks the keys added
/// since: a constructor parameter declared with a default reads as that default, not as default(T) (a null string).
/// </summary>
public sealed class OldShapeDefaultsTests
{
    private static T ReadOld<T>(T current, int keys) =>
        MessagePackSerializer.Deserialize<T>(OldShapes.FirstElements(MessagePackSerializer.Serialize(current, ContractRegistry.Options), keys), ContractRegistry.Options);

    [Fact]
    public void A_ClusterObject_Written_Before_The_Registry_Tokens_Reads_Them_As_Empty()
    {
        var current = (ClusterObject)new SampleValues().Build(typeof(ClusterObject));

        var old = ReadOld(current, 16);

        Assert.Equal(current.DataPathPort, old.DataPathPort);
        Assert.Equal(string.Empty, old.RegistryPullToken);
        Assert.Equal(string.Empty, old.RegistryPushToken);
        Assert.Null(old.TaskHistoryRetentionLimit);
        Assert.Equal(string.Empty, old.PreviousRootCaKeyPem);
        Assert.Equal(string.Empty, old.RetiredRootsPem);
        Assert.Empty(old.ExternalCas);
    }

    [Fact]
    public void A_ClusterObject_Or_A_Ca_Request_Written_Before_External_Cas_Reads_None()
    {
        var current = (ClusterObject)new SampleValues().Build(typeof(ClusterObject));
        Assert.NotEmpty(current.ExternalCas);

        var old = ReadOld(current, 22);
        var rotate = ReadOld(new RotateCa("r", true, "cert", "key", 3600, [new ExternalCa(ExternalCa.Cfssl, "https://ca")]), 4);
        var update = ReadOld(new UpdateSwarm("u", 3600, ExternalCas: [new ExternalCa(ExternalCa.Cfssl, "https://ca")]), 5);

        Assert.Equal(current.RetiredRootsPem, old.RetiredRootsPem);
        Assert.Empty(old.ExternalCas);
        Assert.Equal(("cert", "key", (long?)null), (rotate.CaCertPem, rotate.CaKeyPem, rotate.CertExpirySeconds));
        Assert.Empty(rotate.ExternalCas);
        Assert.Empty(update.ExternalCas);
    }

    [Fact]
    public void A_NodeDescription_Written_Before_Engine_Labels_Reads_Them_As_None_And_Equals_One_Without_Them()
    {
        var current = new NodeDescription("host-1", "linux", "x86_64", 1, 2, "0.1.0", RegistryPort: 5000,
            EngineLabels: ImmutableSortedDictionary<string, string>.Empty.Add("disk", "ssd"));

        var old = ReadOld(current, 8);

        Assert.NotNull(old.EngineLabels);
        Assert.Empty(old.EngineLabels);
        Assert.Equal(5000, old.RegistryPort);
        Assert.Equal(current with { EngineLabels = ImmutableSortedDictionary<string, string>.Empty }, old);
    }

    [Fact]
    public void A_FileTarget_With_Only_Its_Name_Gets_Dockers_Owner_And_Mode()
    {
        var old = ReadOld(new FileTarget("db-pass", "1000", "1000", 0x180), 1);

        Assert.Equal(new FileTarget("db-pass"), old);
        Assert.Equal("0", old.Uid);
        Assert.Equal("0", old.Gid);
        Assert.Equal(0x124, old.Mode);
    }

    [Fact]
    public void A_NetworkSpec_With_Only_Its_Name_Is_An_Overlay_And_A_CreateService_Without_ResolveImage_Resolves_Always()
    {
        var network = ReadOld(new NetworkSpec("backend", "bridge", "10.1.0.0/24"), 1);
        Assert.Equal(NetworkSpec.OverlayDriver, network.Driver);
        Assert.Equal(string.Empty, network.Subnet);
        Assert.Equal(string.Empty, network.Gateway);

        var create = (CreateService)new SampleValues().Build(typeof(CreateService));
        var old = ReadOld(create with { ResolveImage = ResolveImageModes.Changed }, 2);
        Assert.Equal(create.RequestId, old.RequestId);
        Assert.Equal(ResolveImageModes.Always, old.ResolveImage);
    }

    [Fact]
    public void A_Key_Written_As_Nil_Is_Not_Absent_And_Keeps_Reading_As_Nil()
    {
        // [name, nil]: the writer had the key and wrote nil; only a missing key takes the declared default.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(2);
        writer.Write("db-pass");
        writer.WriteNil();
        writer.Flush();

        var target = MessagePackSerializer.Deserialize<FileTarget>(buffer.WrittenMemory, ContractRegistry.Options);

        Assert.Null(target.Uid);
        Assert.Equal("0", target.Gid);
    }
}
