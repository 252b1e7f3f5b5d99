using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Networking.Remote;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// Request/response over Proto.Remote on loopback with the same message mix (a heartbeat and its
/// answer), once with ProtoSwarm's MessagePack contract serializer and once with Proto.Remote's
/// JSON fallback (what a record without a registered serializer gets): same process, same run.
/// </summary>
public static class RemoteRequestBenchmark
{
    public static async Task<List<Harness.Result>> RunAsync(TimeSpan duration, int[] concurrencies)
    {
        var results = new List<Harness.Result>();
        foreach (var concurrency in concurrencies)
        {
            results.Add(await RunOneAsync("JSON fallback serializer", useContracts: false, concurrency, duration, LoopbackPorts.Free(1)[0]));
            results.Add(await RunOneAsync("MessagePack contract serializer", useContracts: true, concurrency, duration, LoopbackPorts.Free(1)[0]));
        }

        return results;
    }

    private static async Task<Harness.Result> RunOneAsync(string name, bool useContracts, int concurrency, TimeSpan duration, int port)
    {
        RemoteConfig Configure(RemoteConfig c) => useContracts ? c.WithContractSerializer() : c;
        var server = new ActorSystem().WithRemote(Configure(RemoteConfig.BindTo("127.0.0.1", port)));
        await server.Remote().StartAsync();
        HeartbeatExchange.SpawnDispatcher(server);

        var client = new ActorSystem().WithClientRemote(Configure(RemoteConfig.BindToLocalhost()));
        await client.Remote().StartAsync();
        var address = $"127.0.0.1:{port}";
        try
        {
            return await Harness.RunAsync(name, concurrency, duration, () => HeartbeatExchange.RequestAsync(client, address));
        }
        finally
        {
            // Graceful, so the client closes its stream to the server: otherwise the server's shutdown
            // waits for Kestrel's 30 s ShutdownTimeout on it, every row, and the run looks hung.
            await client.Remote().ShutdownAsync(graceful: true);
            await client.ShutdownAsync();
            await server.Remote().ShutdownAsync(graceful: false);
            await server.ShutdownAsync();
        }
    }
}
