using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using ProtoSwarm.Networking.Namespaces;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// `protoswarm lab forward -d` as a user runs it: the machine's 127.0.0.1:PORT reaches a server in
/// each node's namespace in turn, a second forward of the same port is refused with a clear message,
/// and `lab down` stops the forwarder and frees the port.
/// </summary>
[Collection(LabCollection.Name)]
[Trait("Category", "Cluster")]
public sealed partial class LabForwardTests
{
    private const int NodePort = 7171;

    [Fact]
    public async Task A_Detached_Forward_Reaches_Every_Node_In_Turn_And_Lab_Down_Stops_It()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var nodes = await lab.NodesAsync();
        var servers = new List<(NamespaceThread Thread, Socket Listener)>();
        try
        {
            foreach (var node in nodes)
            {
                var name = node.GetProperty("Name").GetString()!;
                var address = IPAddress.Parse(node.GetProperty("Address").GetString()!);
                var thread = new NamespaceThread($"/run/netns/psl-{lab.LabName}-{name}", $"server on {name}");
                var listener = await thread.RunAsync(() =>
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    socket.Bind(new IPEndPoint(address, NodePort));
                    socket.Listen();
                    return socket;
                });
                servers.Add((thread, listener));
                _ = Task.Run(() => AnswerAsync(listener, name));
            }

            var port = FreeLoopbackPort();
            var forward = await lab.LabAsync("forward", "-d", $"{port}:{NodePort}");
            Assert.True(forward.ExitCode == 0, forward.ToString());
            var pid = int.Parse(PidPattern().Match(forward.StdOut).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(LabFixture.IsAlive(pid), $"forwarder {pid} is not running: {forward}");

            // It returned once it listened: the first connection is answered, by m1, then w1, in turn.
            var answers = new List<string>();
            for (var i = 0; i < 4; i++)
            {
                answers.Add(await AskAsync(port));
            }

            Assert.Equal(["m1", "w1", "m1", "w1"], answers);

            var ls = await lab.LabAsync("ls");
            Assert.Contains($"127.0.0.1:{port}->{NodePort}/tcp", ls.StdOut, StringComparison.Ordinal);

            var again = await lab.LabAsync("forward", "-d", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(1, again.ExitCode);
            Assert.Contains($"127.0.0.1:{port} is already in use on this machine", again.StdErr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", again.StdErr, StringComparison.Ordinal);

            foreach (var (thread, listener) in servers)
            {
                listener.Dispose();
                thread.Dispose();
            }

            servers.Clear();
            var down = await lab.LabAsync("down");
            Assert.True(down.ExitCode == 0, down.ToString());
            Assert.False(LabFixture.IsAlive(pid), $"forwarder {pid} still runs after lab down");
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
        finally
        {
            foreach (var (thread, listener) in servers)
            {
                listener.Dispose();
                thread.Dispose();
            }
        }
    }

    private static async Task<string> AskAsync(int port)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        client.Shutdown(SocketShutdown.Send);
        var buffer = new byte[256];
        var answer = new StringBuilder();
        int read;
        while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }

    private static async Task AnswerAsync(Socket listener, string name)
    {
        try
        {
            while (true)
            {
                using var connection = await listener.AcceptAsync();
                await connection.SendAsync(Encoding.ASCII.GetBytes(name), SocketFlags.None);
                connection.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The listener was closed.
        }
    }

    private static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    [GeneratedRegex(@"\(pid (\d+),")]
    private static partial Regex PidPattern();
}
