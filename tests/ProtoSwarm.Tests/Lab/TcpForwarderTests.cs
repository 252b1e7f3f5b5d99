using System.Net;
using System.Net.Sockets;
using System.Text;
using ProtoSwarm.Cli.Lab;
using ProtoSwarm.Tests.Networking;

namespace ProtoSwarm.Tests.Lab;

/// <summary>
/// The forwarder against TCP servers inside namespaces this test makes (root): it listens on the
/// machine's loopback, connects from inside each namespace, takes them in turn and copies both
/// directions with half-close.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class TcpForwarderTests : IDisposable
{
    private const int NodePort = 7070;
    // Listeners first, then their namespaces: Dispose goes in this order.
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    [Fact]
    public async Task Connections_Alternate_Between_Namespaces_And_Carry_Both_Directions_With_Half_Close()
    {
        var a = Namespace("a");
        var b = Namespace("b");
        using var sockets = new NetnsSocketFactory();
        await using var forwarder = TcpForwarder.Listen(IPAddress.Loopback, [new PortForward(0, NodePort)], [a, b], sockets, TextWriter.Null);
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);

        var local = Assert.Single(forwarder.LocalEndPoints);
        Assert.Equal(IPAddress.Loopback, local.Address);
        var payload = new byte[300_000];
        Random.Shared.NextBytes(payload);

        var answers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await ExchangeAsync(local.Port, payload));
        }

        Assert.Equal(["a got 300000", "b got 300000", "a got 300000", "b got 300000"], answers);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task A_Namespace_Where_Nothing_Listens_Is_Skipped()
    {
        var empty = Namespace("empty", serve: false);
        var a = Namespace("a");
        var log = new StringWriter();
        using var sockets = new NetnsSocketFactory();
        await using var forwarder = TcpForwarder.Listen(IPAddress.Loopback, [new PortForward(0, NodePort)], [empty, a], sockets, TextWriter.Synchronized(log));
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);

        var port = forwarder.LocalEndPoints[0].Port;
        Assert.Equal("a got 3", await ExchangeAsync(port, "abc"u8.ToArray()));
        Assert.Equal("a got 3", await ExchangeAsync(port, "abc"u8.ToArray()));
        Assert.Contains($"empty (127.0.0.1:{NodePort})", log.ToString(), StringComparison.Ordinal);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public void A_Local_Port_In_Use_Is_A_Clear_Error_And_Binds_Nothing()
    {
        var a = Namespace("a", serve: false);
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        using var sockets = new NetnsSocketFactory();

        var thrown = Assert.Throws<LabException>(() =>
            TcpForwarder.Listen(IPAddress.Loopback, [new PortForward(0, NodePort), new PortForward(port, NodePort)], [a], sockets, TextWriter.Null));

        Assert.StartsWith($"127.0.0.1:{port} is already in use on this machine", thrown.Message, StringComparison.Ordinal);
    }

    /// <summary>Sends <paramref name="payload"/>, closes its sending side, and reads the answer to the end.</summary>
    private static async Task<string> ExchangeAsync(int port, byte[] payload)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        await client.SendAsync(payload, SocketFlags.None, timeout.Token);
        client.Shutdown(SocketShutdown.Send);
        var answer = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            answer.Write(buffer, 0, read);
        }

        return Encoding.ASCII.GetString(answer.ToArray());
    }

    /// <summary>
    /// A namespace with, unless told otherwise, a server on 127.0.0.1:NodePort inside it that reads
    /// until the client's FIN and only then answers "NAME got BYTES" and closes.
    /// </summary>
    private ForwardTarget Namespace(string name, bool serve = true)
    {
        var ns = TestNetns.Create("psfwd-test");
        _owned.Add(ns);
        if (serve)
        {
            var listener = ns.RunAsync(() =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, NodePort));
                socket.Listen();
                return socket;
            }).GetAwaiter().GetResult();
            _owned.Insert(0, listener);
            _ = Task.Run(() => ServeAsync(listener, name));
        }

        return new ForwardTarget(name, $"/run/netns/{ns.Name}", IPAddress.Loopback);
    }

    private static async Task ServeAsync(Socket listener, string name)
    {
        try
        {
            while (true)
            {
                using var connection = await listener.AcceptAsync();
                var buffer = new byte[65536];
                long total = 0;
                int read;
                while ((read = await connection.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                {
                    total += read;
                }

                await connection.SendAsync(Encoding.ASCII.GetBytes($"{name} got {total}"), SocketFlags.None);
                connection.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The test is over: its listener was closed.
        }
    }
}
