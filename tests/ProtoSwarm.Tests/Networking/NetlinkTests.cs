using System.Diagnostics;
using System.Net;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Netlink;

namespace ProtoSwarm.Tests.Networking;

public sealed class NetlinkWriterTests
{
    [Fact]
    public void Messages_And_Nested_Attributes_Are_Aligned_And_Read_Back()
    {
        var writer = new NetlinkWriter();
        writer.BeginMessage(16, 5, 42);
        writer.IfInfo(0, 7);
        writer.Attr(3, "ps-abc");
        var nested = writer.BeginNested(18);
        writer.Attr(1, "vxlan");
        writer.Attr(4, IPAddress.Parse("10.1.2.3"));
        writer.EndNested(nested);
        var length = writer.EndMessage();
        Assert.Equal(0, length % 4);
        Assert.Equal(length, writer.Length);

        var count = 0;
        foreach (var message in NetlinkMessage.Enumerate(writer.Written))
        {
            count++;
            Assert.Equal(16, message.Type);
            Assert.Equal(42u, message.Seq);
            var seen = new List<string>();
            foreach (var a in message.Attributes(16))
            {
                if (a.Type == 3)
                {
                    seen.Add(a.String);
                }
                if (a.Type == 18)
                {
                    foreach (var inner in a.Nested)
                    {
                        seen.Add(inner.Type == 1 ? inner.String : inner.Address.ToString());
                    }
                }
            }
            Assert.Equal(["ps-abc", "vxlan", "10.1.2.3"], seen);
        }
        Assert.Equal(1, count);
    }

    [Fact]
    public void Mac_Addresses_Print_As_Ip_Does()
    {
        Assert.Equal("02:42:0a:00:01:ff", MacAddress.Parse("02:42:0A:00:01:FF").ToString());
        Assert.Throws<FormatException>(() => MacAddress.Parse("02:42"));
    }
}

[Trait("Category", "Privileged")]
public sealed class NetlinkNamespaceTests
{
    [Fact]
    public async Task A_Failed_Request_Names_The_Operation_And_Errno()
    {
        await using var lab = OverlayLab.Create();
        var ns = lab.AddNamespace("errors");
        var error = await Assert.ThrowsAsync<NetlinkException>(() => OverlayLab.InAsync(ns, n => n.Run(b => b.SetMtu(9999, 1400))));
        Assert.Equal(19, error.Errno);
        Assert.Contains("set link 9999 mtu 1400", error.Message, StringComparison.Ordinal);

        // In a batch, the others still apply, and deletes of what is gone are not errors.
        await OverlayLab.InAsync(ns, n =>
        {
            n.Run(b => b.CreateBridge("br-test", 1400).DeleteLink(9999).DeleteNeighbour(1, IPAddress.Parse("10.9.9.9")));
            var duplicate = Assert.Throws<NetlinkException>(() => n.Run(b => b.CreateBridge("br-test")));
            Assert.Equal(17, duplicate.Errno);
            Assert.Equal(1400, n.GetLinkMtu("br-test"));
        });
    }

    [Fact]
    public async Task Routes_Rules_And_Mtu_Lookups_Work_In_A_Namespace()
    {
        await using var lab = OverlayLab.Create();
        var ns = lab.AddNamespace("routes");
        await OverlayLab.InAsync(ns, n =>
        {
            n.Run(b => b.CreateBridge("br0", 1300));
            var br0 = n.GetLink("br0")!.Index;
            n.Run(b => b.SetUp(br0).AddAddress(br0, IPAddress.Parse("10.77.0.1"), 24));
            n.Run(b => b
                .ReplaceRoute(new RouteSpec(IPNetwork.Parse("0.0.0.0/0"), IPAddress.Parse("10.77.0.254"), br0))
                .AddRoute(new RouteSpec(IPNetwork.Parse("10.88.0.0/16"), IPAddress.Parse("10.99.0.1"), br0, Table: 100, OnLink: true))
                .AddRule(new RuleSpec(0x42, 100, 1000)));
            Assert.Equal(1300, n.GetDefaultRouteMtu());
            Assert.Equal(1300, n.GetMtuOfAddress(IPAddress.Parse("10.77.0.1")));
            var route = Assert.Single(n.ListRoutes(100));
            Assert.Equal(IPNetwork.Parse("10.88.0.0/16"), route.Destination);
            n.Run(b => b.DeleteRoute(new RouteSpec(IPNetwork.Parse("10.88.0.0/16"), IPAddress.Parse("10.99.0.1"), br0, Table: 100)).DeleteRule(new RuleSpec(0x42, 100, 1000)));
            Assert.Empty(n.ListRoutes(100));
            Assert.Throws<NetlinkException>(() => n.Run(b => b.AddRule(new RuleSpec(0x42, 100, 1000)).AddRule(new RuleSpec(0x42, 100, 1000))));
        });
    }

    [Fact]
    public async Task Conntrack_Entries_To_A_Backend_Are_Deleted()
    {
        await using var lab = OverlayLab.Create();
        var ns = lab.AddNamespace("conntrack");
        // Flows to the backend 10.0.5.9 directly, DNATed to it (reply source), and one elsewhere.
        Conntrack(ns, "-I -p udp -s 10.0.5.2 -d 10.0.5.9 --sport 4000 --dport 53 -t 120");
        Conntrack(ns, "-I -p tcp -s 10.0.5.3 -d 10.0.9.100 --sport 4001 --dport 80 --reply-src 10.0.5.9 --reply-dst 10.0.5.3 --reply-port-src 8080 --reply-port-dst 4001 --state ESTABLISHED -t 120");
        Conntrack(ns, "-I -p udp -s 10.0.5.2 -d 10.0.5.10 --sport 4002 --dport 53 -t 120");

        using var thread = new NamespaceThread(ns);
        var deleted = await thread.RunAsync(() =>
        {
            using var conntrack = new ConntrackClient();
            return conntrack.DeleteFlowsTo(IPAddress.Parse("10.0.5.9"));
        });
        Assert.Equal(2, deleted);
        var left = Conntrack(ns, "-L");
        Assert.Contains("dst=10.0.5.10", left, StringComparison.Ordinal);
        Assert.DoesNotContain("10.0.5.9 ", left, StringComparison.Ordinal);
        Assert.Equal(0, await thread.RunAsync(() =>
        {
            using var conntrack = new ConntrackClient();
            return conntrack.DeleteFlowsTo(IPAddress.Parse("10.0.5.9"));
        }));
    }

    // Only to set up and read the table in the test's namespace; the product never starts a process.
    private static string Conntrack(string netns, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("nsenter", $"--net={netns} conntrack {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, output);
        return output;
    }
}
