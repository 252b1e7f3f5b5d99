using System.Collections.Immutable;
using System.Net;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Nft;

namespace ProtoSwarm.Tests.Networking;

public sealed class NftRulesetTests
{
    private static string Replace(string table) => $"table ip {table}\ndelete table ip {table}\ntable ip {table} {{\n";

    [Fact]
    public void Vip_Ruleset_Balances_Each_Vip_Over_The_Ready_Tasks_And_Rejects_Vips_Without_One()
    {
        var back = DnsFixtures.Back with { Endpoints = [] };
        Assert.Equal(
            Replace("protoswarm_vip") + """
                chain output {
                    type nat hook output priority -100; policy accept;
                    ip daddr 10.0.1.2 dnat to numgen inc mod 2 map { 0 : 10.0.1.5, 1 : 10.0.1.6 }
                }
                chain reject_empty {
                    type filter hook output priority 0; policy accept;
                    ip daddr 10.0.2.2 meta l4proto tcp reject with tcp reset
                    ip daddr 10.0.2.2 reject with icmp type port-unreachable
                }
            }

            """,
            VipRuleset.Build([DnsFixtures.Front, back, DnsFixtures.Ingress], ""));
    }

    [Fact]
    public void Vip_Ruleset_Has_No_Rule_For_Dnsrr_Services_Ingress_Or_Networks_The_Task_Is_Not_On()
    {
        var text = VipRuleset.Build([DnsFixtures.Front], "");
        Assert.DoesNotContain("10.0.1.8", text);
        Assert.DoesNotContain("10.0.2.2", text);
        Assert.DoesNotContain("10.255.", text);
    }

    [Fact]
    public void Vip_Ruleset_Orders_Backends_By_Address_So_Equal_Views_Give_Equal_Text()
    {
        var shuffled = DnsFixtures.Front with { Endpoints = [.. DnsFixtures.Front.Endpoints.Reverse()] };
        Assert.Equal(VipRuleset.Build([DnsFixtures.Front], ""), VipRuleset.Build([shuffled], ""));
    }

    [Fact]
    public void Ingress_Ruleset_Dnats_Published_Tcp_Ports_To_Ready_Tasks_And_Target_Port_Without_Masquerade()
    {
        var text = IngressRuleset.Build(DnsFixtures.Ingress, [], "");
        Assert.Equal(
            Replace("protoswarm_ingress") + """
                chain prerouting {
                    type nat hook prerouting priority -100; policy accept;
                    fib daddr type local tcp dport 8080 dnat ip to numgen inc mod 2 map { 0 : 10.255.0.5 . 80, 1 : 10.255.0.6 . 80 }
                }
                chain output {
                    type nat hook output priority -100; policy accept;
                    fib daddr type local tcp dport 8080 dnat ip to numgen inc mod 2 map { 0 : 10.255.0.5 . 80, 1 : 10.255.0.6 . 80 }
                }
                chain postrouting {
                    type nat hook postrouting priority 100; policy accept;
                    ip saddr 127.0.0.0/8 ct status dnat masquerade
                }
                chain forward {
                    type filter hook forward priority 0; policy accept;
                    ct status dnat accept
                }
            }

            """,
            text);
        // The one masquerade is for the node's own loopback (127.0.0.1:8080 on the node, as docker's mesh answers it):
        // every other client keeps its address.
        Assert.Single(text.Split('\n'), l => l.Contains("masquerade", StringComparison.Ordinal));
    }

    [Fact]
    public void Host_Mode_Ports_Go_To_The_Tasks_Gateway_Bridge_Address_Unmasqueraded()
    {
        // As docker maps a host-mode port to the container's address on docker_gwbridge: the task's default route is
        // there, so its replies (TCP and UDP) come back through this node and the task sees the client's address.
        var bindings = HostPortBinding.ForNode(
        [
            new TaskHostPorts("task-a", [new PortConfig(80, 8081, PortProtocol.Udp, PublishMode.Host), new PortConfig(81, 8082, PortProtocol.Tcp, PublishMode.Host)], "172.18.0.2", "10.0.1.5/24"),
            new TaskHostPorts("task-b", [], "172.18.0.3", "10.0.1.6/24"),
        ]);

        Assert.Equal(
            [new HostPortBinding(8081, 80, PortProtocol.Udp, "172.18.0.2"), new HostPortBinding(8082, 81, PortProtocol.Tcp, "172.18.0.2")],
            bindings.ToArray());
        var text = IngressRuleset.Build(DnsFixtures.Ingress, bindings, "");
        Assert.Contains("        fib daddr type local udp dport 8081 dnat ip to 172.18.0.2:80\n", text);
        Assert.Contains("        fib daddr type local tcp dport 8082 dnat ip to 172.18.0.2:81\n", text);
        Assert.Equal(["        ip saddr 127.0.0.0/8 ct status dnat masquerade"], text.Split('\n').Where(l => l.Contains("masquerade", StringComparison.Ordinal)));
        // The node's forward chains let the DNATed connections through (this table's, and the gateway table's before its drops).
        Assert.Contains("        ct status dnat accept\n", text);
    }

    [Fact]
    public void A_Host_Mode_Port_Is_Bound_On_The_Port_The_Node_Picked_And_Once_Per_Port()
    {
        PortConfig Port(int target, int published) => new(target, published, PortProtocol.Tcp, PublishMode.Host);

        var bindings = HostPortBinding.ForNode(
        [
            new TaskHostPorts("task-c", [Port(7200, 32768)], "172.18.0.4"), // the same port as task-b's: the first task by id keeps it
            new TaskHostPorts("task-a", [Port(7200, 32769), Port(7300, 0)], "172.18.0.2"), // 0: not picked yet, not bound
            new TaskHostPorts("task-b", [Port(7200, 32768), new PortConfig(7400, 7400)], "172.18.0.3"), // an ingress port is the mesh's
            new TaskHostPorts("task-d", [Port(7200, 32770)], null), // no address at all: nothing to bind
        ]);

        Assert.Equal(
            [new HostPortBinding(32769, 7200, PortProtocol.Tcp, "172.18.0.2"), new HostPortBinding(32768, 7200, PortProtocol.Tcp, "172.18.0.3")],
            bindings.ToArray());
        Assert.DoesNotContain(" 0 ", IngressRuleset.Build(null, bindings, ""), StringComparison.Ordinal);
    }

    [Fact]
    public void Only_A_Task_Without_A_Gateway_Bridge_Interface_Is_Reached_On_Its_Network_And_Masqueraded()
    {
        // A task on internal networks only has no route back to a client: the node answers for it, TCP and UDP.
        var bindings = HostPortBinding.ForNode(
        [
            new TaskHostPorts("task-a", [new PortConfig(90, 9000, PortProtocol.Udp, PublishMode.Host), new PortConfig(91, 9001, PortProtocol.Tcp, PublishMode.Host)], null, "10.0.1.5/24"),
            new TaskHostPorts("task-b", [new PortConfig(92, 9002, PortProtocol.Udp, PublishMode.Host)], "172.18.0.3", "10.0.1.6/24"),
        ]);
        Assert.Equal(
            [
                new HostPortBinding(9000, 90, PortProtocol.Udp, "10.0.1.5", Masquerade: true),
                new HostPortBinding(9001, 91, PortProtocol.Tcp, "10.0.1.5", Masquerade: true),
                new HostPortBinding(9002, 92, PortProtocol.Udp, "172.18.0.3"),
            ],
            bindings.ToArray());

        var ingress = DnsFixtures.Ingress with
        {
            Services = [.. DnsFixtures.Ingress.Services.Select(s => s with { Ports = [.. s.Ports, new PortConfig(53, 5353, PortProtocol.Udp)] })],
        };
        var text = IngressRuleset.Build(ingress, bindings, "");

        Assert.Contains("fib daddr type local udp dport 5353 dnat ip to numgen inc mod 2 map { 0 : 10.255.0.5 . 53, 1 : 10.255.0.6 . 53 }\n", text);
        Assert.Contains("fib daddr type local udp dport 9000 dnat ip to 10.0.1.5:90\n", text);
        Assert.Contains("        meta l4proto tcp ct status dnat ct original proto-dst { 9001 } masquerade\n", text);
        Assert.Contains("        meta l4proto udp ct status dnat ct original proto-dst { 9000 } masquerade\n", text);
        // Those two, and the node's own loopback (whose address no task can answer).
        Assert.Equal(3, text.Split('\n').Count(l => l.Contains("masquerade", StringComparison.Ordinal)));
        Assert.Contains("        ip saddr 127.0.0.0/8 ct status dnat masquerade\n", text);
    }

    [Fact]
    public void Return_Routing_Gives_Udp_Its_Gateway_Address_On_The_Way_In_And_The_Ingress_Address_On_The_Way_Out()
    {
        var text = ReturnRoutingRuleset.Build(new ReturnRouting(
            "eth1", IngressReturnRoute.Plan(DnsFixtures.Ingress), IPAddress.Parse("10.255.0.5"), IPAddress.Parse("172.18.0.2")));
        Assert.Equal(
            Replace("protoswarm_return") + """
                chain prerouting_raw {
                    type filter hook prerouting priority -300; policy accept;
                    iifname "eth1" meta l4proto udp ip daddr 10.255.0.5 ip daddr set 172.18.0.2
                }
                chain prerouting {
                    type filter hook prerouting priority -150; policy accept;
                    iifname "eth1" ct state new ct mark set ether saddr map { 02:42:0a:ff:00:02 : 0x53500002, 02:42:0a:ff:00:03 : 0x53500003 }
                }
                chain output {
                    type route hook output priority -150; policy accept;
                    meta l4proto udp ct direction reply ct mark & 0xffff0000 == 0x53500000 ip saddr set 10.255.0.5
                    ct mark & 0xffff0000 == 0x53500000 meta mark set ct mark
                }
            }

            """,
            text);
    }

    [Fact]
    public void A_Single_Ingress_Backend_Gets_A_Plain_Dnat()
    {
        var ingress = DnsFixtures.Ingress with { Endpoints = [DnsFixtures.Ingress.Endpoints[0]] };
        Assert.Contains("tcp dport 8080 dnat ip to 10.255.0.5:80\n", IngressRuleset.Build(ingress, [], ""));
    }

    [Fact]
    public void Return_Routes_Are_Planned_Per_Node_End_With_Stable_Marks()
    {
        var routes = IngressReturnRoute.Plan(DnsFixtures.Ingress);
        Assert.Equal(
            [
                new IngressReturnRoute("node1", "10.255.0.2", "02:42:0a:ff:00:02", 0x5350_0002, 0x5350_0002),
                new IngressReturnRoute("node2", "10.255.0.3", "02:42:0a:ff:00:03", 0x5350_0003, 0x5350_0003),
            ],
            routes.ToArray());
    }

    [Fact]
    public void Return_Routing_Marks_New_Ingress_Connections_By_Source_Mac_And_Routes_Their_Replies()
    {
        var text = ReturnRoutingRuleset.Build(new ReturnRouting("eth1", IngressReturnRoute.Plan(DnsFixtures.Ingress)));
        Assert.Equal(
            Replace("protoswarm_return") + """
                chain prerouting {
                    type filter hook prerouting priority -150; policy accept;
                    iifname "eth1" ct state new ct mark set ether saddr map { 02:42:0a:ff:00:02 : 0x53500002, 02:42:0a:ff:00:03 : 0x53500003 }
                }
                chain output {
                    type route hook output priority -150; policy accept;
                    ct mark & 0xffff0000 == 0x53500000 meta mark set ct mark
                }
            }

            """,
            text);
    }

    [Fact]
    public void Each_Task_And_Node_Starts_Its_Turn_At_A_Backend_Of_Its_Own()
    {
        // Every namespace's counter starts at 0 when its table is replaced: without a start of its own,
        // the first connection from every task (or every node, for the mesh) would take the same backend.
        string[] backends = ["10.0.1.2", "10.0.1.3", "10.0.1.4"];
        var firsts = Enumerable.Range(0, 30)
            .Select(i => FirstEntry(NftText.RoundRobin(backends, $"task{i}")))
            .ToHashSet();
        Assert.Equal(backends.ToHashSet(), firsts);

        // The same origin always gives the same text (rulesets are compared to skip needless applies),
        // and every backend is in the map exactly once, in the same cyclic order.
        Assert.Equal(NftText.RoundRobin(backends, "task7"), NftText.RoundRobin(backends, "task7"));
        for (var i = 0; i < 30; i++)
        {
            var text = NftText.RoundRobin(backends, $"task{i}");
            var entries = text[(text.IndexOf('{', StringComparison.Ordinal) + 2)..text.LastIndexOf('}')].Split(", ").Select(e => e.Trim().Split(" : ")[1]).ToArray();
            var start = Array.IndexOf(backends, entries[0]);
            Assert.Equal(backends.Select((_, k) => backends[(start + k) % backends.Length]), entries);
        }

        // Node ids of a real lab, which plain FNV-1a sent all to the first backend (0 mod 2 and mod 3).
        string[] labNodes = ["ge24kpxfyivbt833ezrmgq7cx", "djywya5kzdg8zmfcnyjto39f6", "szp2lbal4lccpipu8ytnpc8ex"];
        Assert.Equal(3, labNodes.Select(n => FirstEntry(NftText.RoundRobin(backends, n))).Distinct().Count());

        var ingress = DnsFixtures.Ingress;
        var nodes = Enumerable.Range(0, 20).Select(i => IngressRuleset.Build(ingress, [], $"node{i}")).Distinct().Count();
        Assert.Equal(2, nodes);

        static string FirstEntry(string text) => text[(text.IndexOf("0 : ", StringComparison.Ordinal) + 4)..].Split(',', ' ')[0];
    }

    [Fact]
    public void Empty_Inputs_Still_Give_Valid_Empty_Tables()
    {
        Assert.Contains("chain output", VipRuleset.Build(ImmutableArray<NetworkView>.Empty, ""));
        Assert.Contains("chain prerouting", IngressRuleset.Build(null, [], ""));
        Assert.DoesNotContain("ether saddr", ReturnRoutingRuleset.Build(new ReturnRouting("eth1", [])));
    }
}
