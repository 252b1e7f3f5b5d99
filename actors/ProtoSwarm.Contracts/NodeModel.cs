using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

public enum NodeRole
{
    Worker = 0,
    Manager = 1,
}

public enum NodeAvailability
{
    Active = 0,
    Pause = 1,
    Drain = 2,
}

/// <summary>What the managers observe of a node, as docker's Status.State.</summary>
public enum NodeState
{
    Unknown = 0,
    Down = 1,
    Ready = 2,
    Disconnected = 3,
}

/// <summary>A manager as seen by the other managers, as docker's ManagerStatus.Reachability.</summary>
public enum Reachability
{
    Unknown = 0,
    Unreachable = 1,
    Reachable = 2,
}

/// <summary>What an operator asks of a node; changed by `node update`, `node promote/demote`.</summary>
[MessagePackObject]
public sealed record NodeSpec(
    [property: Key(0)] NodeRole DesiredRole,
    [property: Key(1)] NodeAvailability Availability,
    [property: Key(2)] ImmutableSortedDictionary<string, string> Labels);

/// <summary>What a node says about itself in its heartbeats. TlsInfo: the roots it trusts and the issuer of its
/// certificate (docker's Description.TLSInfo); null from a node that does not report it (an earlier version, or a
/// joining node, which has no certificate yet). RegistryPort: the port of its `protoswarmd --registry-listen`, the
/// plain listener of the swarm's registry it serves while a manager, so that no service publishes that port and takes
/// it (ServiceEndpoints.SwarmPorts); 0 when it has none, or from a node that does not report it.</summary>
[MessagePackObject]
public sealed record NodeDescription(
    [property: Key(0)] string Hostname,
    [property: Key(1)] string Os,
    [property: Key(2)] string Architecture,
    [property: Key(3)] long NanoCpus,
    [property: Key(4)] long MemoryBytes,
    [property: Key(5)] string EngineVersion,
    [property: Key(6)] NodeTlsInfo? TlsInfo = null,
    [property: Key(7)] int RegistryPort = 0,
    ImmutableSortedDictionary<string, string>? EngineLabels = null,
    ImmutableArray<PortConfig> HostPorts = default)
{
    /// <summary>
    /// The host-mode ports the node's standalone containers (`protoswarm run -p`) hold now: no task publishes them, so the
    /// managers' scheduler counts them as taken on this node (its host-port filter), as it counts its tasks' ports. Each
    /// heartbeat carries them as they are; empty from a node that does not report them.
    /// </summary>
    [Key(9)]
    public ImmutableArray<PortConfig> HostPorts { get; init; } = HostPorts.IsDefault ? [] : HostPorts;

    /// <summary>
    /// The node host's own labels, `protoswarmd --label KEY=VALUE` (docker's Description.Engine.Labels, dockerd's
    /// --label): placement reads them as engine.labels.KEY, `node ls --filter label=KEY[=VALUE]` filters by them.
    /// Set where the node host starts, so a change needs a restart; empty from a node that does not report them.
    /// </summary>
    [Key(8)]
    public ImmutableSortedDictionary<string, string> EngineLabels { get; init; } = EngineLabels ?? ImmutableSortedDictionary<string, string>.Empty;

    // The labels and ports compare by content: a heartbeat read off the wire carries a map of its own, and an unchanged
    // description must not be written to the store again.
    public bool Equals(NodeDescription? other) =>
        other is not null && Hostname == other.Hostname && Os == other.Os && Architecture == other.Architecture
        && NanoCpus == other.NanoCpus && MemoryBytes == other.MemoryBytes && EngineVersion == other.EngineVersion
        && TlsInfo == other.TlsInfo && RegistryPort == other.RegistryPort
        && EngineLabels.Count == other.EngineLabels.Count
        && EngineLabels.All(l => other.EngineLabels.TryGetValue(l.Key, out var value) && value == l.Value)
        && HostPorts.SequenceEqual(other.HostPorts);

    public override int GetHashCode() =>
        HashCode.Combine(Hostname, Os, Architecture, NanoCpus, MemoryBytes, EngineVersion, TlsInfo, HashCode.Combine(RegistryPort, EngineLabels.Count, HostPorts.Length));
}

/// <summary>
/// Docker's TLSInfo, of a node (what it trusts, who issued its certificate) or of the swarm (the roots nodes must
/// trust, the root that signs now). TrustRoot: PEM, one certificate after another; CertIssuerSubject and
/// CertIssuerPublicKey: the issuer's raw DER subject and SubjectPublicKeyInfo in standard base64, as docker's JSON
/// shows its byte fields (text here, so that two infos compare as records do). `node ls` shows a node whose info
/// differs from the swarm's as "Needs Rotation" (a CA rotation it has not finished).
/// </summary>
[MessagePackObject]
public sealed record NodeTlsInfo(
    [property: Key(0)] string TrustRoot,
    [property: Key(1)] string CertIssuerSubject,
    [property: Key(2)] string CertIssuerPublicKey)
{
    /// <summary>Nothing known, as docker's empty TLSInfo: its TLS status is Unknown.</summary>
    [IgnoreMember]
    public bool IsEmpty => TrustRoot.Length == 0 && CertIssuerSubject.Length == 0 && CertIssuerPublicKey.Length == 0;
}

/// <summary>Where the node's Proto.Cluster member is reachable, for the swarm's own cluster provider.</summary>
[MessagePackObject]
public sealed record MemberInfo(
    [property: Key(0)] string MemberId,
    [property: Key(1)] string Host,
    [property: Key(2)] int Port,
    [property: Key(3)] ImmutableArray<string> Kinds);

[MessagePackObject]
public sealed record NodeStatus(
    [property: Key(0)] NodeState State,
    [property: Key(1)] string Message,
    [property: Key(2)] string Addr,
    [property: Key(3)] DateTimeOffset LastHeartbeat);

[MessagePackObject]
public sealed record ManagerStatus(
    [property: Key(0)] bool Leader,
    [property: Key(1)] Reachability Reachability,
    [property: Key(2)] string Addr);

/// <summary>A node as the managers' store keeps it. RaftId: its Raft member id while it is a manager (never reused), else 0.
/// CertNotAfter: when the last certificate the managers issued it expires (null: issued before this was kept).
/// RoleChangedAt: when a manager last wrote a change of its role (promote, demote; null: never, or before this was
/// kept), by that manager's clock: a node restarts its member to take a new role, and any leader, also one elected
/// after the change, gives it time to (NodeLiveness.RoleChangeGrace).</summary>
[MessagePackObject]
public sealed record NodeObject(
    [property: Key(0)] string Id,
    [property: Key(1)] ObjectMeta Meta,
    [property: Key(2)] NodeSpec Spec,
    [property: Key(3)] NodeRole Role,
    [property: Key(4)] NodeDescription Description,
    [property: Key(5)] NodeStatus Status,
    [property: Key(6)] ManagerStatus? ManagerStatus,
    [property: Key(7)] MemberInfo? Member,
    [property: Key(8)] ulong RaftId = 0,
    [property: Key(9)] string CertRootDigest = "",
    ImmutableArray<AttachedNetwork> Attachments = default,
    [property: Key(11)] DateTimeOffset? CertNotAfter = null,
    [property: Key(12)] DateTimeOffset? RoleChangedAt = null) : IStoreObject, IStoreKind
{
    public static string StoreKind => "node";

    /// <summary>The node's own addresses on networks: its end of the ingress network (docker's Node.Attachments).</summary>
    [Key(10)]
    public ImmutableArray<AttachedNetwork> Attachments { get; init; } = Attachments.IsDefault ? [] : Attachments;

    [IgnoreMember]
    public string Kind => StoreKind;

    public IStoreObject WithMeta(ObjectMeta meta) => this with { Meta = meta };
}
