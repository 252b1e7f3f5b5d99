using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// What the CLI and client actors ask of a node or a manager. Every command carries a RequestId so
// that a retried delivery is recognised and answered once. Replies are <Command>Ack or the one
// CommandRejected below, whose Code a program can test and whose Reason a person can act on.

/// <summary>Why a command was refused; the CLI maps each to a sentence and an exit code.</summary>
public enum RejectCode
{
    Internal = 0,
    InvalidArgument = 1,
    NotFound = 2,
    Conflict = 3,
    NotInSwarm = 4,
    AlreadyInSwarm = 5,
    NotManager = 6,
    Unavailable = 7,
    PermissionDenied = 8,
    InvalidToken = 9,
}

[MessagePackObject]
public sealed record CommandRejected(
    [property: Key(0)] RejectCode Code,
    [property: Key(1)] string Reason);

// ---- the node itself (answered by the local node host, never forwarded)

[MessagePackObject]
public sealed record GetVersion([property: Key(0)] string RequestId);

[MessagePackObject]
public sealed record VersionInfo(
    [property: Key(0)] string Version,
    [property: Key(1)] string ApiVersion,
    [property: Key(2)] string Os,
    [property: Key(3)] string Architecture,
    [property: Key(4)] string Runtime);

[MessagePackObject]
public sealed record GetInfo([property: Key(0)] string RequestId);

/// <summary>`protoswarm info`: the local node and, where it is a manager, the swarm's counts. <paramref name="Note"/>: what the
/// node is doing that `info` may look odd during (restarting its member to take a new role), or empty.</summary>
[MessagePackObject]
public sealed record NodeInfoSnapshot(
    [property: Key(0)] string LocalNodeState,
    [property: Key(1)] string NodeId,
    [property: Key(2)] string NodeAddr,
    [property: Key(3)] bool ControlAvailable,
    [property: Key(4)] string ClusterId,
    [property: Key(5)] int Managers,
    [property: Key(6)] int Nodes,
    [property: Key(7)] ImmutableArray<string> RemoteManagers,
    [property: Key(8)] string Hostname,
    [property: Key(9)] string EngineVersion,
    [property: Key(10)] string StateDir,
    [property: Key(11)] string Error,
    [property: Key(12)] string ListenAddr,
    [property: Key(13)] string MemberId,
    [property: Key(14)] SwarmSecurity? Security = null,
    [property: Key(15)] long? TaskHistoryRetentionLimit = null,
    [property: Key(16)] long? DispatcherHeartbeatMs = null,
    [property: Key(17)] string Note = "",
    ImmutableArray<string> Labels = default)
{
    /// <summary>
    /// The node host's engine labels, `protoswarmd --label KEY=VALUE`, as docker's info.Labels: "KEY=VALUE" strings
    /// ordered by key; empty when it has none, or from a node that does not report them.
    /// </summary>
    [Key(18)]
    public ImmutableArray<string> Labels { get; init; } = Labels.IsDefault ? [] : Labels;
}

/// <summary>What `info` shows of the swarm's PKI and autolock, from a manager.</summary>
[MessagePackObject]
public sealed record SwarmSecurity(
    [property: Key(0)] long NodeCertExpirySeconds,
    [property: Key(1)] bool AutoLockManagers,
    [property: Key(2)] bool RootRotationInProgress,
    ImmutableArray<ExternalCa> ExternalCas = default)
{
    /// <summary>The swarm's external CAs, as docker's `info` lists them; none from a manager of an earlier version.</summary>
    [Key(3)]
    public ImmutableArray<ExternalCa> ExternalCas { get; init; } = ExternalCas.IsDefault ? [] : ExternalCas;
}

[MessagePackObject]
public sealed record InitSwarm(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string? AdvertiseAddr,
    [property: Key(2)] bool ForceNewCluster,
    [property: Key(3)] ulong SnapshotInterval = 0,
    [property: Key(4)] bool AutoLock = false,
    [property: Key(5)] long? TaskHistoryLimit = null,
    ImmutableArray<ExternalCa> ExternalCas = default)
{
    /// <summary>`--external-ca`: external CAs the new swarm keeps (its own root still signs while it has its key).</summary>
    [Key(6)]
    public ImmutableArray<ExternalCa> ExternalCas { get; init; } = ExternalCas.IsDefault ? [] : ExternalCas;
}

[MessagePackObject]
public sealed record InitSwarmAck(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string ClusterId,
    [property: Key(2)] string WorkerToken,
    [property: Key(3)] string ManagerAddr,
    [property: Key(4)] string UnlockKey = "");

[MessagePackObject]
public sealed record JoinSwarm(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string Token,
    [property: Key(2)] string RemoteAddr,
    [property: Key(3)] string? AdvertiseAddr);

[MessagePackObject]
public sealed record JoinSwarmAck(
    [property: Key(0)] string NodeId,
    [property: Key(1)] NodeRole Role);

/// <summary>`swarm unlock`: the unlock key for a manager that restarted locked (autolock).</summary>
[MessagePackObject]
public sealed record UnlockSwarm(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string UnlockKey);

[MessagePackObject]
public sealed record UnlockSwarmAck([property: Key(0)] string NodeId);

[MessagePackObject]
public sealed record LeaveSwarm(
    [property: Key(0)] string RequestId,
    [property: Key(1)] bool Force);

[MessagePackObject]
public sealed record LeaveSwarmAck([property: Key(0)] string NodeId);

// ---- the swarm (answered by a manager; a node forwards them to the leader)

/// <summary>`swarm join-token [--rotate] worker|manager`: rotating replaces the role's token; the old one stops working.</summary>
[MessagePackObject]
public sealed record GetJoinToken(
    [property: Key(0)] string RequestId,
    [property: Key(1)] NodeRole Role,
    [property: Key(2)] bool Rotate = false) : IManagerApiRequest;

[MessagePackObject]
public sealed record JoinTokenInfo(
    [property: Key(0)] NodeRole Role,
    [property: Key(1)] string Token,
    [property: Key(2)] string ManagerAddr);

[MessagePackObject]
public sealed record ListNodes([property: Key(0)] string RequestId) : IManagerApiRequest;

/// <summary>The nodes, and the swarm's TLS info that `node ls` compares each node's with (docker's
/// ClusterInfo.TLSInfo); null from a manager of an earlier version.</summary>
[MessagePackObject]
public sealed record NodeList(
    [property: Key(0)] ImmutableArray<NodeObject> Nodes,
    [property: Key(1)] NodeTlsInfo? ClusterTlsInfo = null);

/// <summary>A node named by id, id prefix or hostname, as docker resolves them.</summary>
[MessagePackObject]
public sealed record InspectNode(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string NodeRef) : IManagerApiRequest;

[MessagePackObject]
public sealed record NodeDetails([property: Key(0)] NodeObject Node);

[MessagePackObject]
public sealed record PromoteNode(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string NodeRef) : IManagerApiRequest;

/// <summary><paramref name="Leaving"/>: the manager asks this for itself on its way out (`swarm leave --force`): it stops
/// beating right after, so the managers mark it Down with the demotion instead of waiting out a role change's grace.</summary>
[MessagePackObject]
public sealed record DemoteNode(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string NodeRef,
    [property: Key(2)] bool Leaving = false) : IManagerApiRequest;

/// <summary>`node update`. <paramref name="Role"/> (docker's --role): promotes or demotes the node as <see cref="PromoteNode"/> and
/// <see cref="DemoteNode"/> do, with their checks; null leaves the role (and so does a manager of an earlier version).</summary>
[MessagePackObject]
public sealed record UpdateNode(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string NodeRef,
    [property: Key(2)] NodeAvailability? Availability,
    [property: Key(3)] ImmutableSortedDictionary<string, string> LabelsAdd,
    [property: Key(4)] ImmutableArray<string> LabelsRemove,
    [property: Key(5)] NodeRole? Role = null) : IManagerApiRequest;

/// <summary>The reply to promote, demote and update: the node as stored after the change.</summary>
[MessagePackObject]
public sealed record NodeUpdateAck(
    [property: Key(0)] NodeObject Node,
    [property: Key(1)] string Message);

[MessagePackObject]
public sealed record RemoveNode(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string NodeRef,
    [property: Key(2)] bool Force) : IManagerApiRequest;

[MessagePackObject]
public sealed record RemoveNodeAck([property: Key(0)] string NodeId);

/// <summary>What `info` shows of the swarm, from a manager.</summary>
[MessagePackObject]
public sealed record GetSwarmSummary([property: Key(0)] string RequestId) : IManagerApiRequest;

[MessagePackObject]
public sealed record SwarmSummary(
    [property: Key(0)] string ClusterId,
    [property: Key(1)] int Managers,
    [property: Key(2)] int Nodes,
    [property: Key(3)] ImmutableArray<ManagerAddress> ManagerAddresses,
    [property: Key(4)] DateTimeOffset CreatedAt,
    [property: Key(5)] SwarmSecurity? Security = null,
    [property: Key(6)] long? TaskHistoryRetentionLimit = null,
    [property: Key(7)] long? DispatcherHeartbeatMs = null);
