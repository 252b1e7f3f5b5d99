using System.Collections.Immutable;
using System.Net;

namespace ProtoSwarm.Hosting.Options;

/// <summary>protoswarmd's settings, validated before anything starts.</summary>
public sealed record NodeOptions
{
    public const string DefaultStateDir = "/var/lib/protoswarm";
    public const int DefaultPort = 2377;

    public string StateDir { get; init; } = DefaultStateDir;

    /// <summary>Where Proto.Remote listens once the node is in a swarm.</summary>
    public IPEndPoint ListenAddr { get; init; } = new(IPAddress.Any, DefaultPort);

    /// <summary>The address other nodes use to reach this one; detected when not given.</summary>
    public IPAddress? AdvertiseAddr { get; init; }

    public string? ControlSocketOverride { get; init; }

    public string ControlSocket => ControlSocketOverride ?? Path.Combine(StateDir, "control.sock");

    /// <summary>The name the node reports (docker's Description.Hostname).</summary>
    public string Hostname { get; init; } = Environment.MachineName;

    /// <summary>
    /// `--label KEY=VALUE`, repeatable: the node host's engine labels (dockerd's --label), which the node reports in
    /// its description; placement reads them as engine.labels.KEY.
    /// </summary>
    public ImmutableSortedDictionary<string, string> EngineLabels { get; init; } = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    public string NodeStatePath => Path.Combine(StateDir, "node.db");

    /// <summary>A manager's Raft log, hard state and snapshot.</summary>
    public string RaftPath => Path.Combine(StateDir, "raft.db");

    /// <summary>The node's key-encryption key (root-only), until the PKI derives it from the node's TLS key.</summary>
    public string NodeKeyPath => Path.Combine(StateDir, "keys", "raft.kek");

    /// <summary>A manager's Raft data key, wrapped by the node's key or, with autolock, by the unlock key.</summary>
    public string RaftDataKeyPath => Path.Combine(StateDir, "keys", "raft.dek");

    /// <summary>What runs this node's tasks: "linux" (real containers: <c>LinuxExecutor</c>; protoswarmd's default), "none" (they are refused with the reason) or "fake" (FakeExecutor, for tests).</summary>
    public string Executor { get; init; } = "none";

    /// <summary>
    /// `--max-concurrent-starts` (or $PROTOSWARM_MAX_CONCURRENT_STARTS): how many of this node's
    /// containers may be preparing or starting at once; the others wait their turn, in order
    /// (<c>StartGate</c>). 0: no limit. Stops and removals never wait for it.
    /// </summary>
    public int MaxConcurrentStarts { get; init; } = DefaultMaxConcurrentStarts;

    /// <summary>The default of <see cref="MaxConcurrentStarts"/>: no limit (docs/benchmarks.md, issue 9, 2026-12-04).</summary>
    public const int DefaultMaxConcurrentStarts = 0;

    /// <summary>
    /// `--container-monitor shared|per-container` (or $PROTOSWARM_CONTAINER_MONITOR): true (shared, the
    /// default) when one monitor process supervises all the containers this node host starts, false when
    /// each gets one of its own (docs/ARCHITECTURE.md, "Container monitors").
    /// </summary>
    public bool SharedContainerMonitor { get; init; } = true;

    /// <summary>The node's TLS identity: swarm-root-ca.crt, swarm-node.crt and swarm-node.key (0600), as docker's swarm/certificates.</summary>
    public string CertificatesDir => Path.Combine(StateDir, "certificates");

    /// <summary>The node's image store: blobs, unpacked layers and the index of names.</summary>
    public string ImagesDir => Path.Combine(StateDir, "images");

    /// <summary>The node's containers: per container its config, writable layer, log and monitor socket.</summary>
    public string ContainersDir => Path.Combine(StateDir, "containers");

    /// <summary>The node's volumes (local driver): one directory each, NAME/_data and its metadata.</summary>
    public string VolumesDir => Path.Combine(StateDir, "volumes");

    /// <summary>The tasks' secret and config files, on a tmpfs the node host mounts there (never on disk).</summary>
    public string SecretsDir => Path.Combine(StateDir, "secrets");

    /// <summary>The network namespaces of tasks on overlays, one bind-mounted file per task.</summary>
    public string NetnsDir => Path.Combine(StateDir, "netns");

    /// <summary>The network namespaces of overlays other than ingress, one bind-mounted file per network (its bridge and vxlan device live there).</summary>
    public string OverlayNetnsDir => Path.Combine(StateDir, "overlay-netns");

    /// <summary>The swarm registry's blobs on a manager (tags and manifests are in the Raft store).</summary>
    public string RegistryDir => Path.Combine(StateDir, "registry");

    /// <summary>
    /// `--registry-listen`: a plain HTTP listener of the swarm's registry for outside tools (skopeo, other
    /// registries' clients), with basic auth by the swarm's registry tokens; null: none (the registry is then
    /// reached only over the swarm's mutual TLS, on the node's listen address). Managers only.
    /// </summary>
    public IPEndPoint? RegistryListen { get; init; }
}
