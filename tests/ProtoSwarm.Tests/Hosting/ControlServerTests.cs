using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Control;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Hosting;

public sealed class ControlServerTests
{
    [Fact]
    public async Task A_Request_Whose_Handler_Fails_Is_Answered_With_The_Reason_And_The_Connection_Serves_On()
    {
        using var dir = new TempDir();
        var socket = dir.File("control.sock");
        var calls = 0;
        await using var server = new ControlServer(
            socket,
            (request, ct) => Interlocked.Increment(ref calls) == 1
                ? throw new ObjectDisposedException("ActorSystem")
                : Task.FromResult<object>(new CommandRejected(RejectCode.NotFound, "second answer")),
            NullLogger<ControlServer>.Instance);
        server.Start();
        var client = new ControlClient(socket);

        var first = Assert.IsType<CommandRejected>(await client.RequestAsync(new GetInfo("r1"), TimeSpan.FromSeconds(10)));
        var second = Assert.IsType<CommandRejected>(await client.RequestAsync(new GetInfo("r1"), TimeSpan.FromSeconds(10)));

        Assert.Equal(RejectCode.Unavailable, first.Code);
        Assert.StartsWith("protoswarmd could not answer GetInfo: Cannot access a disposed object.", first.Reason, StringComparison.Ordinal);
        Assert.EndsWith("try again in a few seconds (its log has the details).", first.Reason, StringComparison.Ordinal);
        Assert.Equal("second answer", second.Reason);
    }
}
