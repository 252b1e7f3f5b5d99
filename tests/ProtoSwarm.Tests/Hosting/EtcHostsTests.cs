using System.Collections.Immutable;
using System.Net;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Runtime.Cgroups;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>`network connect` and `disconnect` change a container's /etc/hosts as docker's daemon does: one line per address, added and removed.</summary>
public sealed class EtcHostsTests
{
    private const string Made =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n172.18.0.2\tabc123\n10.0.0.9\tabc123 extra\n127.0.1.1\tabc123\n";

    private static TaskObject On(ImmutableArray<NetworkAttachment> spec, params AttachedNetwork[] networks) =>
        new("c0ffee0123456789", ObjectMeta.New(DateTimeOffset.UtcNow), "", 0, "node", new TaskSpec(new ContainerSpec("busybox"), Networks: spec), 0,
            TaskState.Running, new TaskObservedStatus(TaskState.New, DateTimeOffset.UtcNow), Networks: [.. networks]);

    private static readonly HashSet<string> NoIngress = [];

    [Fact]
    public void A_Container_On_Several_Overlays_Maps_Its_Hostname_To_Its_Address_On_Each_In_Their_Order()
    {
        // A task on two overlays, or a container run on one and connected to another: docker's daemon writes one line per endpoint.
        var task = On([new("net-x"), new("net-y")], new AttachedNetwork("net-x", "10.231.0.5/24"), new AttachedNetwork("net-y", "10.232.0.7/24"));

        Assert.Equal<string>(["c0ffee012345:10.231.0.5", "c0ffee012345:10.232.0.7"], NodeNetworks.HostsLines(task, NoIngress, bridged: null));
        Assert.Empty(NodeNetworks.HostsLines(task with { Networks = [] }, NoIngress, bridged: null));
    }

    [Fact]
    public void Ingress_And_The_Way_Out_Get_No_Line_As_In_Dockers_But_The_Bridge_Named_Does_In_Its_Place()
    {
        // libnetwork's getEtcHostsAddrs: nothing for an endpoint on ingress or docker_gwbridge; the default bridge is a network like any.
        var published = On([new("net-x"), new("bridge"), new("net-y")],
            new AttachedNetwork("ingress-id", "10.255.0.4/16"), new AttachedNetwork("net-x", "10.231.0.5/24"), new AttachedNetwork("net-y", "10.232.0.7/24"));

        Assert.Equal<string>(["c0ffee012345:10.231.0.5", "c0ffee012345:172.18.0.3", "c0ffee012345:10.232.0.7"],
            NodeNetworks.HostsLines(published, new HashSet<string> { "ingress-id" }, IPAddress.Parse("172.18.0.3")));
        Assert.Equal<string>(["c0ffee012345:172.18.0.3", "c0ffee012345:10.231.0.5"],
            NodeNetworks.HostsLines(On([new("bridge"), new("net-x")], new AttachedNetwork("net-x", "10.231.0.5/24")), NoIngress, IPAddress.Parse("172.18.0.3")));
        Assert.Empty(NodeNetworks.HostsLines(On([], new AttachedNetwork("ingress-id", "10.255.0.4/16")), new HashSet<string> { "ingress-id" }, bridged: null));
    }

    [Fact]
    public void The_Hosts_File_Of_A_Task_On_Two_Overlays_Has_A_Line_For_Each_As_Dockers_Has()
    {
        // What the container's /etc/hosts holds: docker's localhost lines, the service's --host lines, then one line per network.
        var task = On([new("net-x"), new("net-y")], new AttachedNetwork("net-x", "10.231.0.5/24"), new AttachedNetwork("net-y", "10.232.0.7/24"));
        var spec = new ContainerSpecification
        {
            Id = task.Id, Command = ["sleep", "1"], Layers = [], Hostname = "c0ffee012345",
            ExtraHosts = [.. TaskContainers.ExtraHosts(["10.9.9.9 db"]), .. NodeNetworks.HostsLines(task, NoIngress, bridged: null)],
        };

        var hosts = InitConfigBuilder.Build(spec, new ContainerPaths("/state/c1"), new CgroupPlacement([]), "").Hosts;

        Assert.Equal(ContainerSpecification.LocalhostLines + "10.9.9.9\tdb\n10.231.0.5\tc0ffee012345\n10.232.0.7\tc0ffee012345\n127.0.1.1\tc0ffee012345\n", hosts);
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
