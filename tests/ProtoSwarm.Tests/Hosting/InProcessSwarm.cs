using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Options;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Contracts;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// A one-manager swarm in this process: a <see cref="SwarmRuntime"/> on a free loopback port, its swarm initialised
/// (`swarm init`), its state directory under the temp directory and deleted on dispose.
/// </summary>
internal sealed class InProcessSwarm : IAsyncDisposable
{
    private readonly bool _ownsDir;

    private InProcessSwarm(string dir, SwarmRuntime runtime, bool ownsDir)
    {
        Dir = dir;
        Runtime = runtime;
        _ownsDir = ownsDir;
    }

    public string Dir { get; }

    public SwarmRuntime Runtime { get; }

    /// <param name="hostname">The node's hostname; its state directory is named after it.</param>
    /// <param name="renewalClock">The clock the certificate renewal reads (the system's when null).</param>
    /// <param name="stateDir">The state directory (an empty one of the test's, which the test removes); one under the temp directory, deleted on dispose, when null.</param>
    public static async Task<InProcessSwarm> StartAsync(string hostname, TimeProvider? renewalClock = null, string? stateDir = null)
    {
        var dir = stateDir ?? Path.Combine(Path.GetTempPath(), $"protoswarm-{hostname}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var options = new NodeOptions
        {
            StateDir = dir,
            ListenAddr = new IPEndPoint(IPAddress.Loopback, TestPorts.FreeLoopback()),
            AdvertiseAddr = IPAddress.Loopback,
            Hostname = hostname,
        };
        var runtime = new SwarmRuntime(options, NullLoggerFactory.Instance, TimeProvider.System, renewalClock);
        await runtime.StartAsync();
        Assert.IsType<InitSwarmAck>(await runtime.HandleAsync(new InitSwarm(SwarmIds.NewRequestId(), "127.0.0.1", ForceNewCluster: false), TestTimeout.Token));
        return new InProcessSwarm(dir, runtime, ownsDir: stateDir is null);
    }

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        if (_ownsDir)
        {
            Directory.Delete(Dir, recursive: true);
        }
    }
}
