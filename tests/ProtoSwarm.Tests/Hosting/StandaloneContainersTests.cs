using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

public sealed class StandaloneContainersTests
{
    private static readonly (string Id, string Name)[] Names =
    [
        ("abc123def456ghi789jkl0mno", "probe"),
        ("abd999999999999999999999a", "web.1.abd999999999999999999999a"),
    ];

    [Theory]
    [InlineData("abc123def456ghi789jkl0mno", "abc123def456ghi789jkl0mno")]
    [InlineData("probe", "abc123def456ghi789jkl0mno")]
    [InlineData("/probe", "abc123def456ghi789jkl0mno")]
    [InlineData("abc", "abc123def456ghi789jkl0mno")]
    [InlineData("web.1.abd999999999999999999999a", "abd999999999999999999999a")]
    public void A_Container_Is_Found_By_Id_Name_Or_Unique_Prefix_As_Docker_Finds_It(string reference, string id)
    {
        Assert.Equal((id, null), StandaloneContainers.Resolve(reference, Names));
    }

    [Theory]
    [InlineData("ab", "multiple IDs found with provided prefix: ab")]
    [InlineData("zzz", "No such container: zzz")]
    public void An_Ambiguous_Or_Unknown_Reference_Gets_Dockers_Error(string reference, string error)
    {
        Assert.Equal((null, error), StandaloneContainers.Resolve(reference, Names));
    }

    [Fact]
    public void Publish_All_Adds_Each_Exposed_Port_On_A_Free_Node_Port_Unless_A_P_Publishes_It()
    {
        var run = new ProtoSwarm.Contracts.RunContainer("r", "img", [], null, [], "", "", "", false, false, "") { Publish = ["8080:80"] };
        var (given, _) = StandaloneContainers.Ports(run);

        var all = StandaloneContainers.PublishAll(given, ["80/tcp", "53/udp", "9000"]);

        Assert.Equal(
            [(80, 8080, ProtoSwarm.Contracts.PortProtocol.Tcp), (53, 0, ProtoSwarm.Contracts.PortProtocol.Udp), (9000, 0, ProtoSwarm.Contracts.PortProtocol.Tcp)],
            all.Select(p => (p.TargetPort, p.PublishedPort, p.Protocol)));
        Assert.All(all, p => Assert.Equal(ProtoSwarm.Contracts.PublishMode.Host, p.PublishMode));
    }

    [Theory]
    [InlineData(-1, 0, 0, "--cpus")]
    [InlineData(0, -5, 0, "--memory")]
    [InlineData(0, 64 << 20, 128 << 20, "Minimum memory limit can not be less than memory reservation limit")]
    public void Resources_Another_Client_Sent_Are_Checked_Again(long nanoCpus, long memory, long reservation, string expected)
    {
        var run = new ProtoSwarm.Contracts.RunContainer("r", "img", [], null, [], "", "", "", false, false, "")
        {
            NanoCpus = nanoCpus,
            MemoryBytes = memory,
            MemoryReservationBytes = reservation,
        };

        Assert.Contains(expected, StandaloneContainers.ResourcesError(run), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("net1aaaaaaaaaaaaaaaaaaaaa", "net1aaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("debugnet", "net1aaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("net2", "net2bbbbbbbbbbbbbbbbbbbbb")]
    [InlineData("net", null)]
    [InlineData("othernet", null)]
    [InlineData("", null)]
    public void Network_Disconnect_Finds_The_Network_Of_The_Containers_Record_By_Id_Name_Or_Unique_Prefix(string reference, string? expected)
    {
        string[] ids = ["net1aaaaaaaaaaaaaaaaaaaaa", "net2bbbbbbbbbbbbbbbbbbbbb"];

        Assert.Equal(expected, StandaloneContainers.NetworkIdOf(ids, reference, id => id.StartsWith("net1", StringComparison.Ordinal) ? "debugnet" : null));
    }
}
