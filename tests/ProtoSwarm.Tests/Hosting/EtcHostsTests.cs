using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>`network connect` and `disconnect` change a container's /etc/hosts as docker's daemon does: one line per address, added and removed.</summary>
public sealed class EtcHostsTests
{
    private const string Made =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n172.18.0.2\tabc123\n10.0.0.9\tabc123 extra\n127.0.1.1\tabc123\n";

    [Fact]
    public void A_Standalone_Container_Starts_With_Its_Hostname_On_Each_Networks_Address_And_A_Task_On_Its_First()
    {
        // A container run on one overlay and connected to another, started again: docker's daemon writes one line per network.
        var task = new TaskObject("c0ffee0123456789", ObjectMeta.New(DateTimeOffset.UtcNow), "", 0, "node", new TaskSpec(new ContainerSpec("busybox")), 0,
            TaskState.Running, new TaskObservedStatus(TaskState.New, DateTimeOffset.UtcNow),
            Networks: [new AttachedNetwork("net-x", "10.231.0.5/24"), new AttachedNetwork("net-y", "10.232.0.7/24")]);

        Assert.Equal<string>(["c0ffee012345:10.231.0.5", "c0ffee012345:10.232.0.7"], NodeNetworks.HostsLines(task, standalone: true));
        Assert.Equal<string>(["c0ffee012345:10.231.0.5"], NodeNetworks.HostsLines(task, standalone: false));
        Assert.Empty(NodeNetworks.HostsLines(task with { Networks = [] }, standalone: true));
    }

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
