using System.Net;
using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Tests.Contracts;

namespace ProtoSwarm.Tests.Networking;

/// <summary>
/// A node restarted on its address (a new actor system, the same host and port) while the others still list
/// its previous cluster member: when that member leaves, Proto.Cluster terminates the endpoint of its address,
/// which by then carries the new process's connection. The node's messages must flow again at once, not be
/// dropped for Proto.Remote's default three seconds of "blocked address" (a relayed `node inspect` through the
/// restarted manager lost its answer that way, and `RaftLabTests.Killing_The_Leader_...` failed in CI).
/// </summary>
public sealed class RemoteRestartTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private sealed class Echo : IActor
    {
        public Task ReceiveAsync(IContext context)
        {
            if (context.Message is ListNodes request)
            {
                context.Respond(request);
            }

            return Task.CompletedTask;
        }
    }

    private sealed class Node : IAsyncDisposable
    {
        private Node(ActorSystem system) => System = system;

        public ActorSystem System { get; }

        public static async Task<Node> StartAsync(int port)
        {
            var system = new ActorSystem().WithRemote(RemoteConfigFactory.ForNode(new IPEndPoint(IPAddress.Loopback, port), "127.0.0.1"));
            await system.Remote().StartAsync();
            system.Root.SpawnNamed(Props.FromProducer(() => new Echo()), "echo");
            return new Node(system);
        }

        public async ValueTask DisposeAsync()
        {
            await System.Remote().ShutdownAsync(graceful: true);
            await System.ShutdownAsync();
        }
    }

    [Fact]
    public async Task A_Peer_Restarted_On_Its_Address_Answers_At_Once_After_Its_Previous_Member_Is_Terminated()
    {
        var port = TestPorts.FreeLoopback();
        var address = $"127.0.0.1:{port}";
        var echo = new PID(address, "echo");
        await using var caller = await Node.StartAsync(TestPorts.FreeLoopback());

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var first = await Node.StartAsync(port);
        output.WriteLine($"{clock.Elapsed} started");
        Assert.NotNull(await AskAsync(caller, echo, TimeSpan.FromSeconds(5)));
        var previousMember = first.System.Id;
        output.WriteLine($"{clock.Elapsed} asked");
        await first.DisposeAsync();
        output.WriteLine($"{clock.Elapsed} stopped");

        await using var restarted = await Node.StartAsync(port);
        var reconnected = await AnswersWithinAsync(caller, echo, TimeSpan.FromSeconds(15));
        output.WriteLine($"{clock.Elapsed} reconnected");
        Assert.True(reconnected, $"The caller never reached the peer restarted at {address}");

        // What Proto.Cluster's MemberList publishes when the previous member leaves the member list.
        caller.System.EventStream.Publish(new EndpointTerminatedEvent(true, address, previousMember));
        await Task.Delay(TimeSpan.FromMilliseconds(200));

        var answered = await AnswersWithinAsync(caller, echo, TimeSpan.FromSeconds(1.5));
        output.WriteLine($"{clock.Elapsed} answered");
        Assert.True(answered, $"The peer restarted at {address} got no message for 1.5 s after its previous member's endpoint was terminated");
    }

    private static async Task<bool> AnswersWithinAsync(Node caller, PID echo, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (await AskAsync(caller, echo, TimeSpan.FromMilliseconds(300)) is not null)
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<object?> AskAsync(Node caller, PID echo, TimeSpan timeout)
    {
        try
        {
            return await caller.System.Root.RequestAsync<ListNodes>(echo, new ListNodes(Guid.NewGuid().ToString("N")), timeout);
        }
        catch (Exception e) when (e is TimeoutException or DeadLetterException)
        {
            return null;
        }
    }
}
