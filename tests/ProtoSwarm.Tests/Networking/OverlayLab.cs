using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Netlink;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Tests.Networking;

/// <summary>
/// Simulated hosts for the root tests: network namespaces under a private directory, two "hosts"
/// joined by a veth underlay in 10.250.N.0/24, and task namespaces. Nothing is made in the test
/// process's own namespace; disposing deletes every namespace (and with them every device) and the
/// directory, and checks that nothing is left.
/// </summary>
internal sealed class OverlayLab : IAsyncDisposable
{
    private readonly List<string> _namespaces = [];
    private readonly List<IAsyncDisposable> _overlays = [];
    private readonly List<string> _sandboxDirectories = [];

    private OverlayLab(string directory, int subnet)
    {
        Directory = directory;
        Subnet = subnet;
    }

    public string Directory { get; }

    /// <summary>The third octet of this lab's underlay, 10.250.Subnet.0/24.</summary>
    public int Subnet { get; }

    public static OverlayLab Create() =>
        new($"/run/protoswarm-test-{Guid.NewGuid():N}"[..30], Random.Shared.Next(1, 250));

    public IPAddress Underlay(int host) => IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"10.250.{Subnet}.{host}"));

    public string AddNamespace(string name)
    {
        var path = NetworkNamespace.Create(Directory, name);
        _namespaces.Add(path);
        return path;
    }

    /// <summary>Two host namespaces joined by a veth pair ul0 &lt;-&gt; ul0 with underlay MTU <paramref name="mtu"/>.</summary>
    public async Task<(string A, string B)> TwoHostsAsync(int mtu = 1500)
    {
        var a = AddNamespace("hostA");
        var b = AddNamespace("hostB");
        await InAsync(a, netlink =>
        {
            using var peer = NetworkNamespace.Open(b);
            netlink.Run(x => x.CreateVeth("ul0", "ul0", peer, mtu));
            var ul0 = netlink.GetLink("ul0")!.Index;
            netlink.Run(x => x.AddAddress(ul0, Underlay(1), 24).SetUp(ul0).SetUp(netlink.GetLink("lo")!.Index));
        });
        await InAsync(b, netlink =>
        {
            var ul0 = netlink.GetLink("ul0")!.Index;
            netlink.Run(x => x.AddAddress(ul0, Underlay(2), 24).SetUp(ul0).SetUp(netlink.GetLink("lo")!.Index));
        });
        return (a, b);
    }

    /// <summary>A node's overlay; its networks' own namespaces go under <see cref="SandboxDirectory"/>.</summary>
    public HostOverlay Overlay(string nodeId, string netns)
    {
        var overlay = new HostOverlay(nodeId, SandboxDirectory(nodeId), netns);
        _overlays.Add(overlay);
        return overlay;
    }

    /// <summary>Where a node's networks' namespaces are: one directory a node, beside the lab's.</summary>
    public string SandboxDirectory(string nodeId)
    {
        var directory = $"{Directory}-{nodeId}";
        if (!_sandboxDirectories.Contains(directory))
        {
            _sandboxDirectories.Add(directory);
        }
        return directory;
    }

    /// <summary>Runs netlink work in a namespace, on a thread that entered it.</summary>
    public static async Task<T> InAsync<T>(string netns, Func<RtnetlinkClient, T> work)
    {
        using var thread = new NamespaceThread(netns);
        return await thread.RunAsync(() =>
        {
            using var netlink = new RtnetlinkClient();
            return work(netlink);
        });
    }

    public static Task InAsync(string netns, Action<RtnetlinkClient> work) => InAsync(netns, n =>
    {
        work(n);
        return true;
    });

    /// <summary>A TCP listener made inside <paramref name="netns"/>: it belongs to that namespace, whoever accepts on it.</summary>
    public static async Task<Socket> ListenAsync(string netns, IPAddress address, int port)
    {
        using var thread = new NamespaceThread(netns);
        return await thread.RunAsync(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen();
            return socket;
        });
    }

    /// <summary>Connects from inside <paramref name="netns"/>, sends a line and returns the echo (the listener side echoes).</summary>
    public static async Task<string> EchoAsync(string netns, Socket listener, IPAddress to, int port, string text, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var server = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptAsync(cts.Token);
            var buffer = new byte[256];
            var n = await accepted.ReceiveAsync(buffer, cts.Token);
            await accepted.SendAsync(buffer.AsMemory(0, n), cts.Token);
            return ((IPEndPoint)accepted.RemoteEndPoint!).Address;
        });
        using var thread = new NamespaceThread(netns);
        var client = await thread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using (client)
        {
            await client.ConnectAsync(new IPEndPoint(to, port), cts.Token);
            await client.SendAsync(System.Text.Encoding.UTF8.GetBytes(text), cts.Token);
            var buffer = new byte[256];
            var n = await client.ReceiveAsync(buffer, cts.Token);
            await server;
            return System.Text.Encoding.UTF8.GetString(buffer, 0, n);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var overlay in _overlays)
        {
            await overlay.DisposeAsync();
        }
        foreach (var path in _namespaces)
        {
            NetworkNamespace.Delete(path);
        }
        NetworkNamespace.ReleaseDirectory(Directory);
        foreach (var directory in _sandboxDirectories.Where(System.IO.Directory.Exists))
        {
            foreach (var path in System.IO.Directory.EnumerateFiles(directory))
            {
                NetworkNamespace.Delete(path);
            }
            NetworkNamespace.ReleaseDirectory(directory);
        }
    }

    /// <summary>A network view with endpoints (address, node, node's underlay, task).</summary>
    public static NetworkView View(string networkId, uint vni, params NetworkEndpoint[] endpoints) =>
        new(networkId, "net-" + networkId[..4], vni, "10.251.0.0/24", "10.251.0.1", Endpoints: [.. endpoints]);
}
