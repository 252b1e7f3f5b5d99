using System.Collections.Immutable;
using System.Security.Cryptography;
using MessagePack;

namespace ProtoSwarm.Contracts;

/// <summary>
/// Version and times of a stored object. Version is the store index of the write that last
/// changed the object; an update must name the version it read, or it is refused.
/// </summary>
[MessagePackObject]
public sealed record ObjectMeta(
    [property: Key(0)] ulong Version,
    [property: Key(1)] DateTimeOffset CreatedAt,
    [property: Key(2)] DateTimeOffset UpdatedAt)
{
    public static ObjectMeta New(DateTimeOffset now) => new(0, now, now);
}

/// <summary>An object kept in the managers' store: a kind (its table) and an id.</summary>
public interface IStoreObject
{
    /// <summary>The object's table; the same as its type's <see cref="IStoreKind.StoreKind"/>.</summary>
    string Kind { get; }

    string Id { get; }

    ObjectMeta Meta { get; }

    IStoreObject WithMeta(ObjectMeta meta);
}

/// <summary>The table a type of store object lives in, known from the type alone.</summary>
public interface IStoreKind
{
    static abstract string StoreKind { get; }
}

/// <summary>The swarm itself: one object, id "default" as in swarmkit. SnapshotInterval 0: the default.</summary>
/// <param name="PreviousRootCaKeyPem">During a CA rotation, the key of the previous (still active) root: a rotation
/// requested before this one finished is cross-signed by it, as swarmkit signs with the original root. Empty in a
/// rotation started by an earlier version.</param>
/// <param name="RetiredRootsPem">Roots of rotations replaced or cancelled before they finished: nodes that renewed to
/// one still hold its certificates, so it stays trusted until every node holds one from the root that signs now.</param>
[MessagePackObject]
public sealed record ClusterObject(
    [property: Key(0)] string Id,
    [property: Key(1)] ObjectMeta Meta,
    [property: Key(2)] string ClusterId,
    [property: Key(3)] string WorkerJoinToken,
    [property: Key(4)] string ManagerJoinToken,
    [property: Key(5)] ulong SnapshotInterval = 0,
    [property: Key(6)] string RootCaPem = "",
    [property: Key(7)] string RootCaKeyPem = "",
    [property: Key(8)] long NodeCertExpirySeconds = 0,
    ImmutableArray<string> RemovedNodes = default,
    [property: Key(10)] bool AutoLockManagers = false,
    [property: Key(11)] string UnlockKey = "",
    [property: Key(12)] string PreviousRootCaPem = "",
    [property: Key(13)] string CrossSignedRootPem = "",
    [property: Key(14)] long DispatcherHeartbeatMs = 0,
    [property: Key(15)] int DataPathPort = 0,
    [property: Key(16)] string RegistryPullToken = "",
    [property: Key(17)] string RegistryPushToken = "",
    ImmutableArray<RemovedNodeExpiry> RemovedNodeExpiries = default,
    [property: Key(19)] long? TaskHistoryRetentionLimit = null,
    string PreviousRootCaKeyPem = "",
    string RetiredRootsPem = "",
    ImmutableArray<ExternalCa> ExternalCas = default) : IStoreObject, IStoreKind
{
    /// <summary>The UDP port of the overlays' VXLAN traffic (`swarm init --data-path-port`); 0: 4789.</summary>
    [IgnoreMember]
    public int EffectiveDataPathPort => DataPathPort > 0 ? DataPathPort : NetworkView.DefaultDataPathPort;

    /// <summary>ProtoSwarm's default heartbeat period: 500 ms, so a lost node is Down within 2 s (docker's is 5 s).</summary>
    public static readonly TimeSpan DefaultHeartbeatPeriod = TimeSpan.FromMilliseconds(500);

    /// <summary>The shortest and longest heartbeat period `swarm update --dispatcher-heartbeat` takes.</summary>
    public static readonly TimeSpan MinimumHeartbeatPeriod = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaximumHeartbeatPeriod = TimeSpan.FromMinutes(10);

    /// <summary>How often agents beat (`swarm update --dispatcher-heartbeat`); a node is Down after four missed beats.</summary>
    [IgnoreMember]
    public TimeSpan HeartbeatPeriod => DispatcherHeartbeatMs > 0 ? TimeSpan.FromMilliseconds(DispatcherHeartbeatMs) : DefaultHeartbeatPeriod;

    /// <summary>
    /// The roots nodes trust: the current one and, during a CA rotation, the previous one (the swarm's active root,
    /// whose key <see cref="PreviousRootCaKeyPem"/> cross-signs any root a rotation moves to) and the
    /// <see cref="RetiredRootsPem"/>.
    /// </summary>
    [IgnoreMember]
    public string TrustedRootsPem => RootCaPem + PreviousRootCaPem + RetiredRootsPem;

    /// <summary>
    /// A CA rotation is under way until every node holds a certificate from the root that signs now: after
    /// `swarm ca --rotate` (a previous root), or after a rotation was replaced or cancelled before it finished
    /// while nodes may still hold certificates from the root it abandoned (<see cref="RetiredRootsPem"/>).
    /// </summary>
    [IgnoreMember]
    public bool RootRotationInProgress => PreviousRootCaPem.Length > 0 || RetiredRootsPem.Length > 0;

    /// <summary>See the parameter; a record written before the field existed has none: empty.</summary>
    [Key(20)]
    public string PreviousRootCaKeyPem { get; init; } = PreviousRootCaKeyPem ?? string.Empty;

    /// <summary>See the parameter; a record written before the field existed has none: empty.</summary>
    [Key(21)]
    public string RetiredRootsPem { get; init; } = RetiredRootsPem ?? string.Empty;

    /// <summary>
    /// The external CAs (`--external-ca`, swarmkit's CAConfig.ExternalCAs): when the root that signs now has no key in
    /// the swarm (<see cref="RootCaKeyPem"/> empty), the leader forwards each CSR to those of them that sign with it.
    /// A record written before the field existed has none.
    /// </summary>
    [Key(22)]
    public ImmutableArray<ExternalCa> ExternalCas { get; init; } = ExternalCas.IsDefault ? [] : ExternalCas;

    /// <summary>Nodes removed from the swarm: their certificates are refused until they expire. Every id
    /// is here (a record written before <see cref="RemovedNodeExpiries"/> existed has only this list).</summary>
    [Key(9)]
    public ImmutableArray<string> RemovedNodes { get; init; } = RemovedNodes.IsDefault ? [] : RemovedNodes;

    /// <summary>When the certificate of each removed node expires; past it the node cannot authenticate
    /// anyway and is forgotten (swarmkit's RemovedNode.Expiry). An id of <see cref="RemovedNodes"/> without
    /// an entry was removed by an earlier version: the leader gives it a conservative expiry.</summary>
    [Key(18)]
    public ImmutableArray<RemovedNodeExpiry> RemovedNodeExpiries { get; init; } = RemovedNodeExpiries.IsDefault ? [] : RemovedNodeExpiries;

    public const string DefaultId = "default";

    /// <summary>Swarm's default task history retention limit: 5 tasks per slot (or node), the live one included.</summary>
    public const long DefaultTaskHistoryLimit = 5;

    /// <summary>
    /// Tasks the orchestrator keeps per slot (or node), the live one included, as swarmkit's
    /// TaskHistoryRetentionLimit (`swarm init/update --task-history-limit`); negative keeps every task.
    /// A record written before the setting existed has none: the default, 5.
    /// </summary>
    [IgnoreMember]
    public long TaskHistoryLimit => TaskHistoryRetentionLimit ?? DefaultTaskHistoryLimit;

    /// <summary>Swarm's default node certificate lifetime: 90 days (`swarm update --cert-expiry`).</summary>
    public static readonly TimeSpan DefaultNodeCertExpiry = TimeSpan.FromDays(90);

    /// <summary>The shortest certificate lifetime swarm accepts: one hour.</summary>
    public static readonly TimeSpan MinimumNodeCertExpiry = TimeSpan.FromHours(1);

    [IgnoreMember]
    public TimeSpan NodeCertExpiry => NodeCertExpirySeconds > 0 ? TimeSpan.FromSeconds(NodeCertExpirySeconds) : DefaultNodeCertExpiry;

    /// <summary>Swarm's default: a Raft snapshot every 10,000 entries (`swarm init --snapshot-interval`).</summary>
    public const ulong DefaultSnapshotInterval = 10_000;

    public static string StoreKind => "cluster";

    [IgnoreMember]
    public string Kind => StoreKind;

    public IStoreObject WithMeta(ObjectMeta meta) => this with { Meta = meta };
}

/// <summary>A removed node and the end of its certificate's validity (<see cref="ClusterObject.RemovedNodeExpiries"/>).</summary>
[MessagePackObject]
public sealed record RemovedNodeExpiry(
    [property: Key(0)] string NodeId,
    [property: Key(1)] DateTimeOffset CertExpiresAt);

/// <summary>Random identifiers in docker's shape: 25 lower-case base-36 characters.</summary>
public static class SwarmIds
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";

    public static string New(int length = 25)
    {
        Span<char> chars = stackalloc char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        return new string(chars);
    }

    public static string NewRequestId() => New(16);
}

/// <summary>
/// The shape of a join token, shared by the managers that issue them and the CLI that checks a
/// typed one before sending it: SWMTKN-1-&lt;digest of the root CA&gt;-&lt;secret&gt; (ProtoSwarm.Pki.JoinToken).
/// </summary>
public static class JoinTokenFormat
{
    public const string Prefix = "SWMTKN-1-";

    public static bool LooksLikeToken(string value) =>
        value.StartsWith(Prefix, StringComparison.Ordinal) && value.Length > Prefix.Length;
}
