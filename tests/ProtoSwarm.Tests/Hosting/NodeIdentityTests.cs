using System.Net;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

public class NodeIdentityTests
{
    private static readonly IPEndPoint AnyListen = new(IPAddress.Any, 2377);

    [Theory]
    [InlineData("10.0.0.5", null, "0.0.0.0:2377", "10.0.0.5")]
    [InlineData("10.0.0.5:2377", null, "0.0.0.0:2377", "10.0.0.5")]
    [InlineData("::1", null, "0.0.0.0:2377", "::1")]
    [InlineData("[fd00::5]:2377", null, "0.0.0.0:2377", "fd00::5")]
    [InlineData("10.0.0.5", "10.0.0.7", "192.168.1.2:2377", "10.0.0.5")]
    [InlineData(null, "10.0.0.7", "192.168.1.2:2377", "10.0.0.7")]
    [InlineData("", "10.0.0.7", "192.168.1.2:2377", "10.0.0.7")]
    [InlineData(null, null, "192.168.1.2:2377", "192.168.1.2")]
    [InlineData(null, null, "[fd00::2]:2377", "fd00::2")]
    public void The_Requested_Address_Wins_Then_The_Configured_One_Then_A_Specific_Listen_Address(string? requested, string? configured, string listen, string expected)
    {
        var (address, error) = NodeIdentity.ChooseAdvertiseAddr(requested, configured is null ? null : IPAddress.Parse(configured), IPEndPoint.Parse(listen));

        Assert.Null(error);
        Assert.Equal(IPAddress.Parse(expected), address);
    }

    [Theory]
    [InlineData("not-an-ip")]
    [InlineData("0.0.0.0")]
    [InlineData("0.0.0.0:2377")]
    [InlineData("::")]
    [InlineData("[::]:2377")]
    public void A_Bad_Requested_Address_Is_Refused_Naming_The_Flag(string requested)
    {
        var (address, error) = NodeIdentity.ChooseAdvertiseAddr(requested, IPAddress.Parse("10.0.0.7"), AnyListen);

        Assert.Null(address);
        Assert.Contains($"--advertise-addr {requested}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void With_Nothing_Specific_An_Address_Of_This_Machine_Or_A_Request_To_Choose_Is_Given()
    {
        var (address, error) = NodeIdentity.ChooseAdvertiseAddr(null, null, AnyListen);

        Assert.True(address is not null ^ error is not null);
        if (error is not null)
        {
            Assert.Contains("--advertise-addr", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Describe_Reports_The_Hostname_And_This_Machine()
    {
        var description = NodeIdentity.Describe("node-1");

        Assert.Equal(("node-1", "linux"), (description.Hostname, description.Os));
        Assert.Equal(Environment.ProcessorCount * 1_000_000_000L, description.NanoCpus);
        Assert.True(description.MemoryBytes > 0);
        Assert.Equal(NodeIdentity.EngineVersion, description.EngineVersion);
        Assert.Equal(0, description.RegistryPort);
    }

    [Fact]
    public void Describe_Reports_The_Engine_Labels_It_Was_Started_With()
    {
        var labels = System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty.Add("disk", "ssd");

        Assert.Equal("ssd", NodeIdentity.Describe("w1", null, labels).EngineLabels["disk"]);
        Assert.Empty(NodeIdentity.Describe("w1").EngineLabels);
    }

    [Fact]
    public void Describe_Reports_The_Port_Of_The_Registry_Listener()
    {
        var description = NodeIdentity.Describe("m1", new IPEndPoint(IPAddress.Parse("10.250.0.11"), 5000));

        Assert.Equal(5000, description.RegistryPort);
    }
}
