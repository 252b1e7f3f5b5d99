using System.CommandLine;
using System.Net.Sockets;
using ProtoSwarm.Cli;
using ProtoSwarm.Cli.Control;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class ControlSocketTests
{
    [Fact]
    public async Task Node_Ls_Talks_To_The_Node_Through_The_Control_Socket_Named_By_Host()
    {
        var path = Path.Combine(Path.GetTempPath(), $"protoswarm-cli-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var server = ServeAsync(listener, stop.Token);
        try
        {
            var root = new CliApp(socketPath => new ControlSocketConnection(socketPath)).CreateRoot();
            using var output = new StringWriter();
            using var error = new StringWriter();

            var code = await CliApp.RunAsync(root, ["-H", "unix://" + path, "node", "ls", "--format", "{{.ID}} {{.Self}}"],
                new InvocationConfiguration { Output = output, Error = error });

            Assert.Equal(string.Empty, error.ToString());
            Assert.Equal(0, code);
            Assert.Equal("n1 true\n", output.ToString());
        }
        finally
        {
            await stop.CancelAsync();
            await server;
            File.Delete(path);
        }
    }

    private static async Task ServeAsync(Socket listener, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                using var connection = await listener.AcceptAsync(ct);
                await using var stream = new NetworkStream(connection, ownsSocket: false);
                object reply = await ControlFraming.ReadAsync(stream, ct) switch
                {
                    ListNodes => new NodeList([Node("n1", "manager1", NodeRole.Manager, leader: true)]),
                    GetInfo => Info("n1"),
                    var other => new CommandRejected(RejectCode.InvalidArgument, $"unexpected {other?.GetType().Name}"),
                };
                await ControlFraming.WriteAsync(stream, reply, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
