using Proto;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// The message mix of the Proto.Remote benchmarks: a worker's heartbeat and the dispatcher's answer (two
/// members, one manager), so every remote row sends the same bytes whatever it compares.
/// </summary>
internal static class HeartbeatExchange
{
    public const string Target = "dispatcher";

    private static readonly HeartbeatAck Ack = new(
        500,
        [new MemberInfo("m1", "10.0.0.1", 2377, ["node"]), new MemberInfo("w1", "10.0.0.2", 2377, [])],
        [new ManagerAddress("m1", "10.0.0.1:2377", true)],
        NodeRole.Worker);

    private static readonly NodeHeartbeat Heartbeat = new(
        "w1", "c1", "10.0.0.2", new MemberInfo("w1", "10.0.0.2", 2377, []),
        new NodeDescription("w1", "linux", "x86_64", 2_000_000_000, 1L << 34, "0.1.0"), NodeRole.Worker);

    /// <summary>Spawns the answering actor as <see cref="Target"/> on the server.</summary>
    public static void SpawnDispatcher(ActorSystem server) =>
        server.Root.SpawnNamed(Props.FromFunc(context =>
        {
            if (context.Message is NodeHeartbeat)
            {
                context.Respond(Ack);
            }

            return Task.CompletedTask;
        }), Target);

    /// <summary>One heartbeat from <paramref name="client"/> to the dispatcher at <paramref name="serverAddress"/>, checked.</summary>
    public static async Task RequestAsync(ActorSystem client, string serverAddress)
    {
        var reply = await client.Root.RequestAsync<object>(new PID(serverAddress, Target), Heartbeat, TimeSpan.FromSeconds(5));
        if (reply is not HeartbeatAck)
        {
            throw new InvalidOperationException($"unexpected reply {reply}");
        }
    }
}
