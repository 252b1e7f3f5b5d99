using System.Net;
using ProtoSwarm.Networking.Nft;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Tests.Networking;

public sealed class GatewayBridgeTests
{
    [Fact]
    public void The_First_Subnet_That_Overlaps_No_Route_Or_Address_Is_Chosen()
    {
        Assert.Equal(IPNetwork.Parse("172.18.0.0/16"), GatewayBridge.ChooseSubnet([IPNetwork.Parse("10.250.0.0/24"), IPNetwork.Parse("0.0.0.0/0")]));

        // docker's bridges (docker0 at 172.17, docker_gwbridge at 172.18) and wider routes over 172.18-21 are skipped.
        Assert.Equal(IPNetwork.Parse("172.22.0.0/16"), GatewayBridge.ChooseSubnet(
            [IPNetwork.Parse("172.17.0.0/16"), IPNetwork.Parse("172.18.0.0/15"), IPNetwork.Parse("172.20.0.0/15")]));

        // A single address inside a candidate is enough to skip it; a route that covers them all leaves the 192.168 ones.
        Assert.Equal(IPNetwork.Parse("172.19.0.0/16"), GatewayBridge.ChooseSubnet([IPNetwork.Parse("172.18.5.9/32")]));
        Assert.Equal(IPNetwork.Parse("192.168.0.0/20"), GatewayBridge.ChooseSubnet([IPNetwork.Parse("172.16.0.0/12")]));
        Assert.Null(GatewayBridge.ChooseSubnet([IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.168.0.0/16")]));
    }

    [Fact]
    public void A_Bridge_Address_Gives_Its_Subnet_And_Gateway()
    {
        Assert.Equal(IPNetwork.Parse("10.77.0.0/24"), GatewayBridge.SubnetOf(IPAddress.Parse("10.77.0.1"), 24));
        Assert.Equal(IPAddress.Parse("172.18.0.1"), GatewayBridge.GatewayOf(IPNetwork.Parse("172.18.0.0/16")));
        Assert.Equal("ps_gwbridge", OverlayNames.Bridge(GatewayBridge.NetworkId));
        Assert.StartsWith(OverlayNames.BridgePrefix, OverlayNames.Bridge("gwbridge0123456789abcdefg"), StringComparison.Ordinal);
    }

    [Fact]
    public void Addresses_Go_Lowest_Free_First_And_Never_The_Gateway_Network_Or_Broadcast()
    {
        var addresses = new GatewayAddresses(IPNetwork.Parse("10.77.0.0/29"));
        Assert.False(addresses.Reserve(IPAddress.Parse("10.77.0.0")));
        Assert.False(addresses.Reserve(IPAddress.Parse("10.77.0.1")));
        Assert.False(addresses.Reserve(IPAddress.Parse("10.77.0.7")));
        Assert.False(addresses.Reserve(IPAddress.Parse("10.78.0.3")));

        // A task found again after a restart keeps its address; new ones take the lowest free.
        Assert.True(addresses.Reserve(IPAddress.Parse("10.77.0.3")));
        Assert.False(addresses.Reserve(IPAddress.Parse("10.77.0.3")));
        Assert.Equal(IPAddress.Parse("10.77.0.2"), addresses.Allocate());
        Assert.Equal(IPAddress.Parse("10.77.0.4"), addresses.Allocate());
        addresses.Release(IPAddress.Parse("10.77.0.2"));
        Assert.Equal(IPAddress.Parse("10.77.0.2"), addresses.Allocate());
        Assert.Equal(IPAddress.Parse("10.77.0.5"), addresses.Allocate());
        Assert.Equal(IPAddress.Parse("10.77.0.6"), addresses.Allocate());
        var full = Assert.Throws<InvalidOperationException>(addresses.Allocate);
        Assert.Contains("ps_gwbridge (10.77.0.0/29) has no free address", full.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Node_Table_Masquerades_The_Bridge_Subnet_And_Forwards_Nothing_Between_Task_Interfaces()
    {
        Assert.Equal(
            """
            table ip protoswarm_gateway
            delete table ip protoswarm_gateway
            table ip protoswarm_gateway {
                chain prerouting {
                    type filter hook prerouting priority -300; policy accept;
                    iifname { "ps_gwbridge", "pg-*", "ps-ingress0" } ip daddr 127.0.0.0/8 drop
                }
                chain forward {
                    type filter hook forward priority 0; policy accept;
                    ct status dnat accept
                    iifname { "ps_gwbridge", "pg-*", "ps-ingress0" } oifname { "ps_gwbridge", "pg-*" } drop
                    iifname { "ps_gwbridge", "pg-*" } oifname "ps-ingress0" drop
                }
                chain postrouting {
                    type nat hook postrouting priority 100; policy accept;
                    ip saddr 172.18.0.0/16 oifname != "ps_gwbridge" masquerade
                }
            }

            """,
            GatewayRuleset.Build(IPNetwork.Parse("172.18.0.0/16"), "ps-ingress0"));

        // Before any task needed the bridge, and with no ingress: isolation only.
        var isolation = GatewayRuleset.Build(null, null);
        Assert.Contains("iifname { \"ps_gwbridge\", \"pg-*\" } oifname { \"ps_gwbridge\", \"pg-*\" } drop\n", isolation, StringComparison.Ordinal);
        Assert.DoesNotContain("masquerade", isolation, StringComparison.Ordinal);
        Assert.Contains("iifname { \"ps_gwbridge\", \"pg-*\" } ip daddr 127.0.0.0/8 drop\n", isolation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ps_gwbridge", true)]
    [InlineData("ps-ingress0", true)]
    [InlineData("pg-abcdef12", true)]
    [InlineData("ps-other0000", false)]
    [InlineData("eth0", false)]
    [InlineData("lo", false)]
    [InlineData("all", false)]
    public void Route_Localnet_Is_For_The_Interfaces_Toward_Tasks_Only(string name, bool needed) =>
        Assert.Equal(needed, GatewayRuleset.NeedsRouteLocalnet(name, "ps-ingress0"));
}
