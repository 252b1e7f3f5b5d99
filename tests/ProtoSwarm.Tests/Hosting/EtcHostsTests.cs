using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>`network connect` and `disconnect` change a container's /etc/hosts as docker's daemon does: one line per address, added and removed.</summary>
public sealed class EtcHostsTests
{
    private const string Made =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n172.18.0.2\tabc123\n10.0.0.9\tabc123 extra\n127.0.1.1\tabc123\n";

    [Fact]
    public void Connect_Appends_The_Hostname_On_The_New_Address_Once()
    {
        var added = EtcHosts.Add(Made, "10.231.0.3", "abc123");

        Assert.Equal(Made + "10.231.0.3\tabc123\n", added);
        Assert.Equal(added, EtcHosts.Add(added, "10.231.0.3", "abc123"));
        Assert.Equal("x\n10.1.1.1\th\n", EtcHosts.Add("x", "10.1.1.1", "h"));
    }

    [Fact]
    public void Disconnect_Removes_Only_The_Line_Of_That_Address_And_Hostname()
    {
        var added = EtcHosts.Add(Made, "10.231.0.3", "abc123");

        Assert.Equal(Made, EtcHosts.Remove(added, "10.231.0.3", "abc123"));
        // Lines with other names on the address (the user's, --add-host's) and other addresses stay.
        Assert.Equal(Made, EtcHosts.Remove(Made, "10.0.0.9", "abc123"));
        Assert.Equal(Made.Replace("172.18.0.2\tabc123\n", "", StringComparison.Ordinal), EtcHosts.Remove(Made, "172.18.0.2", "abc123"));
        Assert.Equal(Made, EtcHosts.Remove(Made, "172.18.0.2", "other"));
    }
}
