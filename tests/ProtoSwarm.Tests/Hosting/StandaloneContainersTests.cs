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
