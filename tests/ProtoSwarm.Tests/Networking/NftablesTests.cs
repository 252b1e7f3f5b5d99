using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Nft;

namespace ProtoSwarm.Tests.Networking;

/// <summary>The rulesets applied with libnftables inside test namespaces, and the VIP tried with real connections.</summary>
[Trait("Category", "Privileged")]
public sealed class NftablesTests
{
    public static TheoryData<string, string> Rulesets => new()
    {
        { VipRuleset.Table, VipRuleset.Build([DnsFixtures.Front, DnsFixtures.Back with { Endpoints = [] }], "") },
        { IngressRuleset.Table, IngressRuleset.Build(DnsFixtures.Ingress,
            [new HostPortBinding(9000, 90, PortProtocol.Udp, "172.18.0.2"), new HostPortBinding(9001, 91, PortProtocol.Udp, "10.0.1.5", Masquerade: true), new HostPortBinding(9002, 92, PortProtocol.Tcp, "10.0.1.5", Masquerade: true)], "") },
        { ReturnRoutingRuleset.Table, ReturnRoutingRuleset.Build(new ReturnRouting("eth1", IngressReturnRoute.Plan(DnsFixtures.Ingress), IPAddress.Parse("10.255.0.5"), IPAddress.Parse("172.18.0.2"))) },
        { GatewayRuleset.Table, GatewayRuleset.Build(IPNetwork.Parse("172.18.0.0/16"), "ps-ingress0") },
    };

    [Theory]
    [MemberData(nameof(Rulesets))]
    public async Task Each_Ruleset_Passes_A_Dry_Run_Applies_In_The_Namespace_And_Lists_Back(string table, string ruleset)
    {
        using var ns = TestNetns.Create("psnft-test");
        var nft = new Nftables(ns);
        await nft.CheckAsync(ruleset);
        Assert.Empty(await nft.ListAsync());

        await nft.ApplyAsync(ruleset);
        await nft.ApplyAsync(ruleset); // replacing the table is idempotent
        var listed = await nft.ListAsync($"table ip {table}");
        Assert.Contains($"table ip {table}", listed);
        Assert.Single(listed.Split('\n'), l => l.StartsWith("table ", StringComparison.Ordinal));

        // The rules live in the namespace of the thread that ran libnftables, not in the test process's.
        Assert.DoesNotContain(table, await new Nftables().ListAsync());
    }

    [Fact]
    public async Task A_Failing_Ruleset_Throws_Nfts_Error_And_Leaves_The_Old_One()
    {
        using var ns = TestNetns.Create("psnft-test");
        var nft = new Nftables(ns);
        var good = VipRuleset.Build([DnsFixtures.Front], "");
        await nft.ApplyAsync(good);
        var before = await nft.ListAsync();

        // A line the parser refuses: nothing reaches the kernel.
        var bad = good.Replace("ip daddr 10.0.1.2 dnat", "ip daddr 10.0.1.2 dnat to nowhere ip daddr 1.2.3.4 dnat", StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<NftablesException>(() => nft.ApplyAsync(bad));
        Assert.Contains("Error", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await nft.ListAsync());

        // A buffer the kernel refuses at its last command (the table to delete does not exist): the
        // delete and re-make of the VIP table before it, in the same transaction, are undone as well.
        var refused = VipRuleset.Build([DnsFixtures.Front, DnsFixtures.Back], "") + "delete table ip protoswarm_missing\n";
        error = await Assert.ThrowsAsync<NftablesException>(() => nft.ApplyAsync(refused));
        Assert.Contains("No such file or directory", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await nft.ListAsync());

        await Assert.ThrowsAsync<NftablesException>(() => nft.CheckAsync(bad));
    }

    [Fact]
    public async Task Vip_Connections_Spread_Over_Every_Ready_Task_And_A_New_Map_Removes_A_Backend()
    {
        using var client = TestNetns.Create("psnft-test");
        using var backends = TestNetns.Create("psnft-test");
        client.In($"link add veth0 type veth peer name veth1 netns {backends.Name}");
        client.In("addr add 10.0.1.100/24 dev veth0");
        client.In("link set veth0 up");
        foreach (var address in new[] { "10.0.1.5", "10.0.1.6", "10.0.1.7" })
        {
            backends.In($"addr add {address}/24 dev veth1");
        }

        backends.In("link set veth1 up");
        using var listener = await backends.RunAsync(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Any, 80));
            socket.Listen(64);
            return socket;
        });
        var hits = new ConcurrentDictionary<string, int>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                Socket accepted;
                try
                {
                    accepted = await listener.AcceptAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }

                hits.AddOrUpdate(((IPEndPoint)accepted.LocalEndPoint!).Address.ToString(), 1, (_, n) => n + 1);
                accepted.Dispose();
            }
        });

        var web = DnsFixtures.Front with
        {
            Endpoints =
            [
                DnsFixtures.Task("10.0.1.5", "s-web", "web.1.aaaa"),
                DnsFixtures.Task("10.0.1.6", "s-web", "web.2.bbbb"),
                DnsFixtures.Task("10.0.1.7", "s-web", "web.3.cccc"),
            ],
        };
        var nft = new Nftables(client);
        await nft.ApplyAsync(VipRuleset.Build([web], ""));
        await ConnectAsync(client, "10.0.1.2", 30);
        await WaitForAsync(() => hits.Values.Sum() == 30);
        Assert.Equal(new Dictionary<string, int> { ["10.0.1.5"] = 10, ["10.0.1.6"] = 10, ["10.0.1.7"] = 10 }, hits.OrderBy(h => h.Key).ToDictionary());

        hits.Clear();
        await nft.ApplyAsync(VipRuleset.Build([web with { Endpoints = [.. web.Endpoints.Take(2)] }], ""));
        await ConnectAsync(client, "10.0.1.2", 30);
        await WaitForAsync(() => hits.Values.Sum() == 30);
        Assert.Equal(new Dictionary<string, int> { ["10.0.1.5"] = 15, ["10.0.1.6"] = 15 }, hits.OrderBy(h => h.Key).ToDictionary());

        // No ready task left: refused at once rather than a connect that hangs.
        await nft.ApplyAsync(VipRuleset.Build([web with { Endpoints = [] }], ""));
        var refused = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(client, "10.0.1.2", 1));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    private static Task<int> ConnectAsync(TestNetns ns, string address, int count) =>
        ns.RunOnNewThreadAsync(() =>
        {
            for (var i = 0; i < count; i++)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000, SendTimeout = 5000 };
                var connect = socket.BeginConnect(IPAddress.Parse(address), 80, null, null);
                if (!connect.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(5)))
                {
                    throw new TimeoutException($"connect {address}:80 hung");
                }

                socket.EndConnect(connect);
            }

            return count;
        });

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition() && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }
    }
}
