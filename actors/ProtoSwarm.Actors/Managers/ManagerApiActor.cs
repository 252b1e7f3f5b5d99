using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Proto;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The swarm's API (behind <see cref="ManagerApiRouter"/>, named <c>manager-api</c>, on every manager: one
/// instance for queries, one for commands): node listing and changes, join
/// tokens and joins. As in docker, a manager that is not the Raft leader relays each request to
/// the leader's API, so answers come from the replica that decides. Decisions are
/// <see cref="NodeCommands"/>; this actor reads the store, decides, proposes, and answers. A
/// command already answered (same RequestId) gets the same answer again, so a retried delivery
/// changes nothing twice.
/// </summary>
public sealed partial class ManagerApiActor : IActor
{
    private const int RememberedReplies = 4096;
    private const int ConflictRetries = 5;
    private static readonly TimeSpan RelayTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a relayed store read waits for the leader's answer before it is asked again, and how many times in all:
    /// within a client's 10 s. A leader answers a read in milliseconds, or refuses within its 5 s <see cref="ReadTimeout"/>
    /// when it cannot confirm its leadership.
    /// </summary>
    internal static readonly TimeSpan ReadRelayTimeout = TimeSpan.FromSeconds(4.5);

    internal const int ReadRelayAttempts = 2;

    /// <summary>
    /// How long a manager waits for a leader to be known, counted from when it last knew one: an election takes
    /// about a second (a transfer, less). Once it has known none for this long (the quorum is lost), it refuses
    /// at once, as docker's managers do, rather than make every request wait.
    /// </summary>
    internal static readonly TimeSpan LeaderWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LeaderPoll = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan LeadershipMoveTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Followers answer the leader's heartbeat every Raft tick (100 ms); one that is silent this long is not counted.</summary>
    private static readonly TimeSpan PeerContactTimeout = TimeSpan.FromSeconds(1);

    /// <summary>A manager's Raft peer silent this long (30 of its 100 ms answers missed) is Unreachable in `node ls`.</summary>
    private static readonly TimeSpan RaftSilence = TimeSpan.FromSeconds(3);

    private readonly ManagerContext _manager;
    private readonly Func<ulong, string?> _addressOf;
    private readonly ILogger _logger;
    private readonly Dictionary<string, object> _replies = new(StringComparer.Ordinal);
    private readonly Queue<string> _replyOrder = new();

    /// <summary>
    /// How many certificates this API has an external CA sign at once; more wait their turn (off the actor's turn),
    /// so a storm of joins or renewals does not open hundreds of connections to the CA.
    /// </summary>
    internal const int MaxExternalSignings = 4;

    private readonly Queue<Action> _signingsWaiting = new();
    private int _signingsUnderWay;

    /// <summary>Commands whose external signing is under way, by request id, with the callers of a resend, answered with the first.</summary>
    private readonly Dictionary<string, List<PID?>> _signing = new(StringComparer.Ordinal);

    public ManagerApiActor(ManagerContext manager, Func<ulong, string?> addressOf)
    {
        _manager = manager;
        _addressOf = addressOf;
        _logger = manager.LoggerFactory.CreateLogger<ManagerApiActor>();
    }

    private StoreState State => _manager.Store.Current;

    public async Task ReceiveAsync(IContext context)
    {
        if (context.Message is not { } message || !ContractRegistry.IsContract(message.GetType()))
        {
            return;
        }

        if (!_manager.Raft.IsLeader)
        {
            Relay(context, message);
            return;
        }

        var requestId = RequestIdOf(message);
        if (requestId is not null && _replies.TryGetValue(requestId, out var earlier))
        {
            context.Respond(earlier);
            return;
        }

        if (requestId is not null && _signing.TryGetValue(requestId, out var resent))
        {
            resent.Add(context.Sender); // its certificate is being signed: the resend gets the same answer
            return;
        }

        object? reply;
        try
        {
            reply = await AnswerAsync(context, message);
        }
        catch (Exception e) when (IsStoreFailure(e))
        {
            reply = CouldNotComplete(message, e);
        }

        if (reply is null or AnsweredLater)
        {
            return;
        }

        Reply(context, context.Sender, requestId, reply);
    }

    /// <summary>The store could not be written (no quorum, disk, shutdown).</summary>
    private static bool IsStoreFailure(Exception e) => e is InvalidOperationException or ObjectDisposedException or TimeoutException;

    /// <summary>Says a command failed on the store, rather than leave the caller waiting.</summary>
    private CommandRejected CouldNotComplete(object message, Exception e)
    {
        LogCommandFailed(_logger, e, message.GetType().Name);
        return new CommandRejected(RejectCode.Unavailable, $"The manager could not complete {message.GetType().Name}: {e.Message}");
    }

    /// <summary>Answers a command, remembering answers that are final; a transient refusal must let a resend try again.</summary>
    private void Reply(IContext context, PID? sender, string? requestId, object reply)
    {
        if (requestId is not null && reply is not CommandRejected { Code: RejectCode.Conflict or RejectCode.Unavailable or RejectCode.Internal })
        {
            Remember(requestId, reply);
        }

        Answer(context, sender, reply);
    }

    /// <summary>
    /// Sends a request to the leader and its answer back to the caller. When no leader is known yet (an
    /// election, or this manager just handed leadership over: its view goes from itself to none and, tens of
    /// milliseconds later, to the new leader), it waits for one, up to <see cref="LeaderWait"/>, instead of
    /// refusing at once; should this manager win meanwhile, it answers itself. Every request a follower
    /// takes comes through here, and so does the demotion of the leader run on the leader, which refused half
    /// the time before it waited. The wait counts from when a leader was last known, so after a quorum loss
    /// only the first requests wait.
    /// </summary>
    private void Relay(IContext context, object message) => Relay(context, context.Sender, message, attempt: 1);

    /// <summary>
    /// One attempt of <see cref="Relay(IContext, object)"/>. A store read (<see cref="IsStoreRead"/>) whose answer has
    /// not come within <see cref="ReadRelayTimeout"/> is asked again, of the leader known then: it changes nothing, and
    /// its answer can be lost on the way back (a manager restarted on its address is reached by the leader over a new
    /// connection, which Proto.Cluster closes, dropping what it carried, when the previous process's member leaves the
    /// member list a moment later); the caller would otherwise wait out its own timeout. Other requests are sent once.
    /// </summary>
    private void Relay(IContext context, PID? sender, object message, int attempt)
    {
        context.ReenterAfter(LeaderAsync(), task =>
        {
            switch (task.Result)
            {
                case null:
                    Answer(context, sender, new CommandRejected(RejectCode.Unavailable,
                        $"The managers have no leader right now (an election is under way, or quorum is lost; none has been known for {Math.Max(_manager.Raft.LeaderlessFor.TotalSeconds, LeaderWait.TotalSeconds):0} s); try again in a few seconds; if it persists, check that a majority of the managers is up and can reach each other (`protoswarm info` on each)."));
                    break;
                case { Length: 0 }:
                    // This manager became the leader while it waited: it answers, as the leader, itself.
                    if (sender is null)
                    {
                        context.Send(context.Self, message);
                    }
                    else
                    {
                        context.Request(context.Self, message, sender);
                    }

                    break;
                case var address:
                    var read = IsStoreRead(message);
                    var relayed = context.RequestAsync<object>(new PID(address, Kinds.ManagerApi), message, read ? ReadRelayTimeout : RelayTimeout);
                    context.ReenterAfter(relayed, answer =>
                    {
                        if (read && attempt < ReadRelayAttempts && answer.Exception?.GetBaseException() is TimeoutException)
                        {
                            Relay(context, sender, message, attempt + 1);
                            return Task.CompletedTask;
                        }

                        Answer(context, sender, answer.IsCompletedSuccessfully
                            ? Localise(answer.Result)
                            : new CommandRejected(RejectCode.Unavailable, RelayFailure(address, answer.Exception?.GetBaseException(), read ? ReadRelayTimeout * ReadRelayAttempts : RelayTimeout)));
                        return Task.CompletedTask;
                    });
                    break;
            }

            return Task.CompletedTask;
        });
    }

    private static void Answer(IContext context, PID? sender, object reply)
    {
        if (sender is not null)
        {
            context.Send(sender, reply);
        }
    }

    /// <summary>
    /// The leader's address once one is known, waiting until none has been known for <see cref="LeaderWait"/>:
    /// empty when this manager is the leader, null when none was known in time.
    /// </summary>
    private async Task<string?> LeaderAsync()
    {
        var budget = LeaderWait - _manager.Raft.LeaderlessFor;
        for (var waited = TimeSpan.Zero; ; waited += LeaderPoll)
        {
            if (_manager.Raft.IsLeader)
            {
                return string.Empty;
            }

            if (_manager.Raft.LeaderId is var leader and not 0 && _addressOf(leader) is { Length: > 0 } address)
            {
                return address;
            }

            if (waited >= budget)
            {
                return null;
            }

            await Task.Delay(LeaderPoll);
        }
    }

    /// <summary>
    /// Why a relayed request has no answer, for an operator: the leader went away (stopped, or lost its
    /// leadership) or was too slow. Proto.Actor's own message names an actor path, which tells them nothing;
    /// what they need is that a change may have been made all the same.
    /// </summary>
    internal static string RelayFailure(string address, Exception? error, TimeSpan waited)
    {
        var why = error switch
        {
            DeadLetterException => "it stopped or stepped down while the request was on its way",
            TimeoutException or null => $"no answer within {waited.TotalSeconds:0.#} s",
            _ => error.Message,
        };
        return $"The leader at {address} did not answer ({why}). A change asked for may have been made all the same: " +
            "check (e.g. `service ls`, `node ls`) before you try again; a new leader is chosen within seconds if the old one is gone.";
    }

    /// <summary>
    /// A relayed answer as this manager gives it: a join command names the manager it was asked of (as
    /// docker's does), not the leader that answered, so an operator joins through the manager they use.
    /// </summary>
    private object Localise(object reply) =>
        reply is JoinTokenInfo info && OwnAddr() is { Length: > 0 } own ? info with { ManagerAddr = own } : reply;

    private string OwnAddr() =>
        State.List<NodeObject>().FirstOrDefault(n => n.Role == NodeRole.Manager && n.RaftId != 0 && n.RaftId == _manager.Raft.RaftId) is { } self
            ? self.ManagerStatus?.Addr ?? self.Status.Addr
            : string.Empty;

    private async Task<object?> AnswerAsync(IContext context, object message)
    {
        if (ManagerApiRouter.IsQuery(message) && await ConfirmLeadershipAsync(context) is { } refused)
        {
            return refused;
        }

        return message switch
        {
            ListNodes => new NodeList(
                await WithRaftReachabilityAsync(context, Nodes().OrderBy(n => n.Description.Hostname, StringComparer.Ordinal).ThenBy(n => n.Id, StringComparer.Ordinal)),
                Cluster() is { RootCaPem.Length: > 0 } listed ? SwarmCa.ClusterTlsInfo(listed) : null),
            InspectNode m => await OnInspectAsync(context, m),
            GetJoinToken m => await OnGetJoinToken(m),
            GetSwarmSummary => OnSummary(),
            PromoteNode m => await OnPromote(context, m),
            DemoteNode m => await OnDemote(context, m),
            UpdateNode m => await OnUpdateNode(context, m),
            RemoveNode m => await OnRemove(m),
            JoinRequest m => await OnJoin(context, m),
            RenewCertificate m => await OnRenew(context, m),
            IssueClientCertificate m => OnIssueClient(context, m),
            UpdateSwarm m => await OnUpdateSwarm(m),
            GetUnlockKey m => await OnGetUnlockKey(m),
            RotateCa m => await OnRotateCa(m),
            CreateService m => await OnCreateService(m),
            UpdateService m => await OnUpdateService(m),
            RemoveService m => await OnRemoveService(m),
            InspectService m => OnInspectService(m),
            ListServices => OnListServices(),
            ListTasks m => OnListTasks(m),
            GetServiceLogs m => OnGetServiceLogs(context, m),
            GetTaskUsage m => OnGetTaskUsage(context, m),
            CreateNetwork m => await OnCreateNetwork(m),
            ListNetworks => OnListNetworks(),
            InspectNetwork m => OnInspectNetwork(m),
            RemoveNetwork m => await OnRemoveNetwork(m),
            CreateSecret m => await OnCreateSecret(m),
            ListSecrets => OnListSecrets(),
            InspectSecret m => OnInspectSecret(m),
            RemoveSecret m => await OnRemoveSecret(m),
            CreateConfig m => await OnCreateConfig(m),
            ListConfigs => OnListConfigs(),
            InspectConfig m => OnInspectConfig(m),
            RemoveConfig m => await OnRemoveConfig(m),
            GetRegistryToken m => await OnGetRegistryToken(m),
            ListRepositories => OnListRepositories(),
            _ => null,
        };
    }

    /// <summary>
    /// Linearizable reads: before answering from its replica, the leader confirms with a quorum that
    /// it still leads (Raft's ReadIndex) and waits until it has applied that far. A leader cut off
    /// from the others therefore refuses instead of serving a stale answer.
    /// </summary>
    private async Task<CommandRejected?> ConfirmLeadershipAsync(IContext context)
    {
        try
        {
            var answer = await context.RequestAsync<ReadAnswer>(_manager.RaftPid, new RequestRead(SwarmIds.NewRequestId()), ReadTimeout);
            return answer.Ok ? null : new CommandRejected(RejectCode.Unavailable, $"The managers could not confirm a leader: {answer.Reason}");
        }
        catch (TimeoutException)
        {
            return new CommandRejected(RejectCode.Unavailable,
                "This manager could not confirm with a quorum of managers that it still leads, so it will not answer from a possibly stale copy; check that a majority of managers is up and reachable.");
        }
    }

    /// <summary>
    /// The nodes as `node ls` shows them: the leader marked from Raft, and a manager whose Raft member is still a
    /// learner (catching up, not yet voting) shown as Unknown rather than Reachable: it does not count for quorum yet.
    /// </summary>
    private IEnumerable<NodeObject> Nodes()
    {
        var learners = _manager.Raft.Learners;
        return State.List<NodeObject>().Select(n =>
        {
            var shown = NodeCommands.WithLeader(n, _manager.Raft.LeaderId);
            return shown.ManagerStatus is { Leader: false } status && n.RaftId != 0 && learners.Contains(n.RaftId)
                ? shown with { ManagerStatus = status with { Reachability = Reachability.Unknown } }
                : shown;
        });
    }

    /// <summary>
    /// A query answered from the leader's replica alone: asking it twice costs a read and changes nothing. Not the
    /// queries that gather from the nodes (logs, usage), which can take long and cost each node work.
    /// </summary>
    internal static bool IsStoreRead(object message) =>
        ManagerApiRouter.IsQuery(message) && message is not (GetServiceLogs or GetTaskUsage);

    private static string? RequestIdOf(object message) => message switch
    {
        _ when ManagerApiRouter.IsQuery(message) => null,
        IManagerApiRequest m => m.RequestId,
        JoinRequest m => m.RequestId,
        RenewCertificate m => m.RequestId,
        _ => null,
    };

    /// <summary>
    /// Managers' reachability as the leader's Raft sees it when asked (swarmkit fills it from its Raft member
    /// list the same way): a manager whose node host still beats, so the store has it Reachable, but whose
    /// Raft peer has been silent for <see cref="RaftSilence"/> (its log lost and it stays out, its Raft actor
    /// stuck) is Unreachable, as it is to the quorum. Not written to the store: it changes with every look.
    /// </summary>
    private async Task<ImmutableArray<NodeObject>> WithRaftReachabilityAsync(IContext context, IEnumerable<NodeObject> nodes)
    {
        var list = nodes.ToImmutableArray();
        bool Watched(NodeObject n) => n is { Role: NodeRole.Manager, RaftId: not 0, ManagerStatus.Reachability: Reachability.Reachable } && n.RaftId != _manager.Raft.RaftId;
        if (!list.Any(Watched))
        {
            return list;
        }

        var since = _manager.Time.GetTimestamp() - (long)(RaftSilence.TotalSeconds * _manager.Time.TimestampFrequency);
        var heard = (await context.RequestAsync<PeersHeard>(_manager.RaftPid, new GetPeersHeardSince(since), PeerContactTimeout)).RaftIds;
        return [.. list.Select(n => Watched(n) && !heard.Contains(n.RaftId)
            ? n with { ManagerStatus = n.ManagerStatus! with { Reachability = Reachability.Unreachable } }
            : n)];
    }

    private async Task<object> OnInspectAsync(IContext context, InspectNode m)
    {
        var (node, rejected) = NodeCommands.Resolve(Nodes(), m.NodeRef);
        return node is null ? rejected! : new NodeDetails((await WithRaftReachabilityAsync(context, [node]))[0]);
    }

    private async Task<object> OnGetJoinToken(GetJoinToken m)
    {
        if (Cluster() is not { } cluster)
        {
            return NoClusterRecord();
        }

        if (m.Rotate)
        {
            var digest = CaDigest.OfCertificate(Pem.ReadCertificate(cluster.RootCaPem));
            var rotated = m.Role == NodeRole.Manager
                ? cluster with { ManagerJoinToken = JoinTokens.New(digest) }
                : cluster with { WorkerJoinToken = JoinTokens.New(digest) };
            await _manager.Proposer.ProposeAsync([StoreChange.Update(rotated)]);
            LogTokenRotated(_logger, m.Role);
            cluster = rotated;
        }

        var token = m.Role == NodeRole.Manager ? cluster.ManagerJoinToken : cluster.WorkerJoinToken;
        return new JoinTokenInfo(m.Role, token, LeaderAddr());
    }

    private ClusterObject? Cluster() => State.Get<ClusterObject>(ClusterObject.DefaultId);

    private static CommandRejected NotAManagerToJoin() =>
        new(RejectCode.NotInSwarm, "This node is not a swarm manager; join through a manager's address.");

    private static CommandRejected NoClusterRecord() =>
        new(RejectCode.NotInSwarm, "This manager has no swarm record; it is not initialised.");

    /// <summary>A node renews its certificate (or needs one for a new role): the role comes from the store, never from the caller.</summary>
    private async Task<object> OnRenew(IContext context, RenewCertificate m)
    {
        if (Cluster() is not { } cluster)
        {
            return NoClusterRecord();
        }

        var node = State.Get<NodeObject>(m.NodeId);
        if (node is null || cluster.RemovedNodes.Contains(m.NodeId))
        {
            return NotAMember(m.NodeId);
        }

        object started;
        try
        {
            started = StartIssue(cluster, m.CsrPem, new SwarmPeer(node.Id, node.Spec.DesiredRole, cluster.ClusterId), node.Status.Addr);
        }
        catch (CsrRejectedException e)
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"The certificate request was refused: {e.Message}.");
        }
        catch (ExternalCaException e)
        {
            return ExternalCaFailed(node.Id, e);
        }

        if (started is ExternalSigning signing)
        {
            return SignOffTurn(context, m, signing, async certificatePem =>
            {
                // Decided again on what the store holds now: the node may have left, changed role, or the root moved.
                if (Cluster() is not { } now)
                {
                    return NoClusterRecord();
                }

                if (State.Get<NodeObject>(m.NodeId) is not { } current || now.RemovedNodes.Contains(m.NodeId))
                {
                    return NotAMember(m.NodeId);
                }

                if (current.Spec.DesiredRole != signing.Peer.Role)
                {
                    return new CommandRejected(RejectCode.Conflict,
                        $"Node {m.NodeId} became a {current.Spec.DesiredRole.ToString().ToLowerInvariant()} while its certificate was being signed as a {signing.Peer.Role.ToString().ToLowerInvariant()}; it was not handed out. Ask again (a node's renewal does so by itself).");
                }

                return RootMoved(signing, now) ?? await RenewedAsync(current, now, SwarmCa.ExternallyIssued(now, certificatePem, signing.Peer));
            });
        }

        return await RenewedAsync(node, cluster, (CertificateIssued)started);
    }

    private static CommandRejected NotAMember(string nodeId) =>
        new(RejectCode.PermissionDenied, $"Node {nodeId} is not a member of this swarm; it was removed. Join it again with a token.");

    private async Task<object> RenewedAsync(NodeObject node, ClusterObject cluster, CertificateIssued issued)
    {
        LogCertificateIssued(_logger, node.Id, node.Spec.DesiredRole);
        await RecordRenewalAsync(node.Id, SwarmCa.CurrentRootDigest(cluster), SwarmCa.NotAfter(issued));
        return issued;
    }

    /// <summary>Records which root a node's certificate comes from and when it expires (how long a removal must
    /// deny it); the last node to move to a new root finishes the rotation.</summary>
    private async Task RecordRenewalAsync(string nodeId, string rootDigest, DateTimeOffset notAfter)
    {
        for (var attempt = 0; attempt <= ConflictRetries; attempt++)
        {
            if (State.Get<NodeObject>(nodeId) is not { } node || Cluster() is not { } cluster)
            {
                return;
            }

            var changes = new List<StoreChange>();
            var renewed = node with { CertRootDigest = rootDigest, CertNotAfter = notAfter };
            if (node.CertRootDigest != rootDigest || node.CertNotAfter != notAfter)
            {
                changes.Add(StoreChange.Update(renewed));
            }

            if (SwarmCa.FinishRotationIfDone(cluster, State.List<NodeObject>().Select(n => n.Id == nodeId ? renewed : n)) is { } finished)
            {
                changes.Add(StoreChange.Update(finished));
                LogRotationFinished(_logger);
            }

            if (changes.Count == 0)
            {
                return;
            }

            try
            {
                await _manager.Proposer.ProposeAsync(changes);
                return;
            }
            catch (StoreConflictException)
            {
            }
        }
    }

    /// <summary>
    /// Finishes a rotation that nothing else will: a node that joins holds a certificate from the new root and
    /// renews nothing, so a rotation whose last lagging node was removed before (by a version that checked only
    /// at renewals, or in a write that lost a race) ends here rather than at some later renewal.
    /// </summary>
    private async Task FinishRotationIfDoneAsync()
    {
        for (var attempt = 0; attempt <= ConflictRetries; attempt++)
        {
            if (Cluster() is not { } cluster || SwarmCa.FinishRotationIfDone(cluster, State.List<NodeObject>()) is not { } finished)
            {
                return;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Update(finished)]);
                LogRotationFinished(_logger);
                return;
            }
            catch (StoreConflictException)
            {
            }
        }
    }

    private async Task<object> OnRotateCa(RotateCa m)
    {
        if (Cluster() is not { } cluster)
        {
            return NoClusterRecord();
        }

        if (m.Rotate)
        {
            var now = _manager.Time.GetUtcNow();
            var settings = cluster;
            if (m.CertExpirySeconds is { } seconds)
            {
                if (CertExpiryRefused(seconds) is { } refused)
                {
                    return refused;
                }

                settings = settings with { NodeCertExpirySeconds = seconds };
            }

            var externalCas = m.ExternalCas.IsDefault ? [] : m.ExternalCas;
            if (externalCas.Length > 0)
            {
                if (SwarmCa.CheckExternalCas(externalCas) is { } wrong)
                {
                    return new CommandRejected(RejectCode.InvalidArgument, $"The root CA was not rotated: {wrong}.");
                }

                settings = settings with { ExternalCas = externalCas };
            }

            var abandoned = SwarmCa.CurrentRootDigest(cluster);
            RootChange change;
            try
            {
                if (m.CaCertPem.Length > 0 && m.CaKeyPem.Length == 0)
                {
                    // docker's rule: a root given without its key is signed with by an external CA, which must be there for it.
                    if (SwarmCa.ReadRootCertificate(m.CaCertPem, now, out var error) is not { } external)
                    {
                        return new CommandRejected(RejectCode.InvalidArgument, $"The root CA was not rotated: {error}.");
                    }

                    (cluster, change) = SwarmCa.RotateToExternal(settings, external);
                    if (!SwarmCa.CanSign(cluster))
                    {
                        return new CommandRejected(RejectCode.InvalidArgument,
                            "The root CA was not rotated: a root CA needs both its certificate (--ca-cert) and its private key (--ca-key), or an external CA that signs with it, and none of the swarm's external CAs does; give its key, or the external CA that holds it: `protoswarm swarm ca --rotate --ca-cert FILE --external-ca protocol=cfssl,url=https://HOST:PORT`.");
                    }
                }
                else
                {
                    RootCa desired;
                    if (m.CaCertPem.Length == 0 && m.CaKeyPem.Length == 0)
                    {
                        desired = RootCa.Create(now); // docker's ForceRotate: always a new root
                    }
                    else if (SwarmCa.ReadRoot(m.CaCertPem, m.CaKeyPem, now, out var error) is { } given)
                    {
                        desired = given;
                    }
                    else
                    {
                        return new CommandRejected(RejectCode.InvalidArgument, $"The root CA was not rotated: {error}.");
                    }

                    (cluster, change) = SwarmCa.RotateTo(settings, desired);
                }
            }
            catch (RootRotationRefusedException e)
            {
                return new CommandRejected(RejectCode.Conflict, $"The root CA was not rotated: {e.Message}.");
            }
            catch (ArgumentException e)
            {
                return new CommandRejected(RejectCode.InvalidArgument, $"The root CA was not rotated: {e.Message}.");
            }

            if (change != RootChange.Unchanged || cluster != Cluster())
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Update(cluster)]);
            }

            var digest = SwarmCa.CurrentRootDigest(cluster);
            switch (change)
            {
                case RootChange.Started:
                    LogRotationStarted(_logger, digest);
                    break;
                case RootChange.Replaced:
                    LogRotationReplaced(_logger, abandoned, digest);
                    break;
                case RootChange.Cancelled:
                    LogRotationCancelled(_logger, abandoned, digest);
                    break;
            }
        }

        return CaStatusOf(cluster, State.List<NodeObject>().ToList());
    }

    /// <summary>
    /// How far the swarm is with its root, as docker's two progress bars count it: nodes holding a certificate from
    /// the root that signs now (recorded by the managers at each issue), and nodes reporting exactly the trust and
    /// issuer the swarm wants (their heartbeat's TLS info), which all do only after the rotation has ended.
    /// </summary>
    internal static CaStatus CaStatusOf(ClusterObject cluster, IReadOnlyList<NodeObject> nodes)
    {
        var digest = SwarmCa.CurrentRootDigest(cluster);
        var wanted = SwarmCa.ClusterTlsInfo(cluster);
        return new CaStatus(
            cluster.RootCaPem,
            cluster.RootRotationInProgress,
            nodes.Count(n => n.CertRootDigest == digest),
            nodes.Count,
            nodes.Count(n => n.Description.TlsInfo?.TrustRoot == wanted.TrustRoot),
            wanted.TrustRoot);
    }

    private object OnIssueClient(IContext context, IssueClientCertificate m)
    {
        if (Cluster() is not { } cluster)
        {
            return NoClusterRecord();
        }

        var clientId = "client-" + SwarmIds.New(12);
        try
        {
            var started = StartIssue(cluster, m.CsrPem, SwarmPeer.Client(clientId, cluster.ClusterId), string.Empty);
            if (started is ExternalSigning signing)
            {
                return SignOffTurn(context, m, signing, certificatePem =>
                {
                    if (Cluster() is not { } now)
                    {
                        return Task.FromResult<object>(NoClusterRecord());
                    }

                    if (RootMoved(signing, now) is { } moved)
                    {
                        return Task.FromResult<object>(moved);
                    }

                    LogClientCertificateIssued(_logger, clientId, m.Name);
                    return Task.FromResult<object>(SwarmCa.ExternallyIssued(now, certificatePem, signing.Peer));
                });
            }

            LogClientCertificateIssued(_logger, clientId, m.Name);
            return started;
        }
        catch (CsrRejectedException e)
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"The certificate request was refused: {e.Message}.");
        }
        catch (ExternalCaException e)
        {
            return ExternalCaFailed(clientId, e);
        }
    }

    /// <summary>
    /// Starts signing a CSR for <paramref name="peer"/>: with the signing root's key when the swarm holds it, at once
    /// (a <see cref="CertificateIssued"/>); else what to ask the external CAs that sign with that root (swarmkit's
    /// signNodeCert), an <see cref="ExternalSigning"/> for <see cref="SignOffTurn"/>.
    /// </summary>
    /// <exception cref="CsrRejectedException">The CSR is not a valid P-256 request.</exception>
    /// <exception cref="ExternalCaException">No external CA can sign it.</exception>
    private object StartIssue(ClusterObject cluster, string csrPem, SwarmPeer peer, string addr)
    {
        var now = _manager.Time.GetUtcNow();
        if (SwarmCa.SignsLocally(cluster))
        {
            return peer.IsClient
                ? SwarmCa.IssueClient(cluster, csrPem, peer.NodeId, now)
                : SwarmCa.IssueNode(cluster, csrPem, peer.NodeId, peer.Role, addr, now);
        }

        var request = SwarmCa.ExternalSignRequest(csrPem, peer, addr);
        var signers = SwarmCa.ExternalSigners(cluster);
        if (signers.Count == 0)
        {
            throw new ExternalCaException(
                "the swarm's root CA key is not in the swarm and no external CA signs with that root; add one with `protoswarm swarm update --external-ca protocol=cfssl,url=https://HOST:PORT`");
        }

        if (_manager.ExternalCa is not { } signer)
        {
            throw new ExternalCaException("this manager has no external CA client");
        }

        return new ExternalSigning(cluster, csrPem, peer, request, signers, signer);
    }

    /// <summary>What a command asks the external CAs, decided in its turn from the store as it was then.</summary>
    private sealed record ExternalSigning(ClusterObject Cluster, string CsrPem, SwarmPeer Peer, CfsslSignRequest Request, IReadOnlyList<ExternalCa> Signers, IExternalCaSigner Signer);

    /// <summary>The answer of a command that is given later, by <see cref="SignOffTurn"/>.</summary>
    private sealed class AnsweredLater
    {
        public static readonly AnsweredLater Instance = new();
    }

    /// <summary>
    /// Has the external CAs sign outside this actor's turn (they may take 5 s each), so the commands behind it are
    /// handled meanwhile; at most <see cref="MaxExternalSignings"/> at once. Back in a turn, <paramref name="finish"/>
    /// decides on the store as it is then and gives the answer, remembered by request id as any other; a resend of the
    /// command meanwhile waits for that answer. No CA signing gives Unavailable with each CA's reason.
    /// </summary>
    private AnsweredLater SignOffTurn(IContext context, object message, ExternalSigning signing, Func<string, Task<object>> finish)
    {
        var sender = context.Sender;
        var requestId = RequestIdOf(message);
        if (requestId is not null)
        {
            _signing[requestId] = [];
        }

        void Start()
        {
            _signingsUnderWay++;
            context.ReenterAfter(Task.Run(() => SignExternallyAsync(signing)), signed =>
            {
                _signingsUnderWay--;
                if (_signingsWaiting.TryDequeue(out var next))
                {
                    next();
                }

                return FinishSigningAsync(context, sender, message, requestId, signing, signed, finish);
            });
        }

        if (_signingsUnderWay < MaxExternalSignings)
        {
            Start();
        }
        else
        {
            _signingsWaiting.Enqueue(Start);
        }

        return AnsweredLater.Instance;
    }

    /// <summary>The last part of a command signed by an external CA, in a turn of this actor again.</summary>
    private async Task FinishSigningAsync(IContext context, PID? sender, object message, string? requestId, ExternalSigning signing, Task<string> signed, Func<string, Task<object>> finish)
    {
        object reply;
        try
        {
            if (signed.Exception?.GetBaseException() is { } failed)
            {
                reply = ExternalCaFailed(signing.Peer.NodeId, failed as ExternalCaException ?? new ExternalCaException(failed.Message));
            }
            else if (!_manager.Raft.IsLeader)
            {
                reply = new CommandRejected(RejectCode.Unavailable,
                    "This manager stopped leading the swarm while the certificate was being signed; nothing was issued. Try again: the new leader answers.");
            }
            else
            {
                LogExternallySigned(_logger, signing.Peer.NodeId);
                reply = await finish(signed.Result);
            }
        }
        catch (Exception e) when (IsStoreFailure(e))
        {
            reply = CouldNotComplete(message, e);
        }

        var resent = requestId is not null && _signing.Remove(requestId, out var waiting) ? waiting : [];
        Reply(context, sender, requestId, reply);
        foreach (var other in resent)
        {
            Answer(context, other, reply);
        }
    }

    private Task<string> SignExternallyAsync(ExternalSigning signing) =>
        signing.Signer.SignAsync(signing.Signers, signing.Request, signing.Cluster.TrustedRootsPem,
            pem => SwarmCa.CheckExternalCertificate(signing.Cluster, pem, signing.CsrPem, signing.Peer, _manager.Time.GetUtcNow()), CancellationToken.None);

    /// <summary>
    /// A refusal when the swarm's signing root changed while an external CA signed (a rotation to another root began):
    /// the certificate would be from a root the swarm no longer signs with, so it is not handed out; null when it did not.
    /// </summary>
    private static CommandRejected? RootMoved(ExternalSigning signing, ClusterObject now) =>
        SwarmCa.CurrentRootDigest(now) == SwarmCa.CurrentRootDigest(signing.Cluster)
            ? null
            : new CommandRejected(RejectCode.Conflict,
                $"The swarm's root CA changed while the certificate for {signing.Peer.NodeId} was being signed; it was not handed out. Ask again (a node's renewal does so by itself).");

    private CommandRejected ExternalCaFailed(string subject, ExternalCaException e)
    {
        LogExternalCaFailed(_logger, subject, e.Message);
        return new CommandRejected(RejectCode.Unavailable, $"No certificate was issued: the swarm's external CA did not sign it ({e.Message}).");
    }

    private async Task<object> OnUpdateSwarm(UpdateSwarm m)
    {
        if (Cluster() is not { } cluster)
        {
            return NoClusterRecord();
        }

        if (m.CertExpirySeconds is { } seconds)
        {
            if (CertExpiryRefused(seconds) is { } refused)
            {
                return refused;
            }

            cluster = cluster with { NodeCertExpirySeconds = seconds };
        }

        var externalCas = m.ExternalCas.IsDefault ? [] : m.ExternalCas;
        if (externalCas.Length > 0)
        {
            if (SwarmCa.CheckExternalCas(externalCas) is { } wrong)
            {
                return new CommandRejected(RejectCode.InvalidArgument, wrong + ".");
            }

            cluster = cluster with { ExternalCas = externalCas };
            if (!SwarmCa.CanSign(cluster))
            {
                return new CommandRejected(RejectCode.InvalidArgument,
                    "The swarm's root CA key is not in the swarm, and none of these external CAs signs with that root (a cacert= that is not the swarm's root); the swarm could sign no certificate. Give the external CA of the swarm's root.");
            }
        }

        if (m.DispatcherHeartbeatMs is { } heartbeatMs)
        {
            var period = TimeSpan.FromMilliseconds(heartbeatMs);
            if (period < ClusterObject.MinimumHeartbeatPeriod || period > ClusterObject.MaximumHeartbeatPeriod)
            {
                return new CommandRejected(RejectCode.InvalidArgument,
                    $"--dispatcher-heartbeat {GoDuration.Format(period)}: give a period from {ClusterObject.MinimumHeartbeatPeriod.TotalMilliseconds:0}ms to {ClusterObject.MaximumHeartbeatPeriod.TotalMinutes:0}m, e.g. 5s.");
            }

            cluster = cluster with { DispatcherHeartbeatMs = heartbeatMs };
        }

        if (m.TaskHistoryLimit is { } historyLimit)
        {
            // Any whole number, as swarmkit's TaskHistoryRetentionLimit: a negative one keeps every task.
            cluster = cluster with { TaskHistoryRetentionLimit = historyLimit };
        }

        var newKey = string.Empty;
        if (m.AutoLock is { } autoLock && autoLock != cluster.AutoLockManagers)
        {
            newKey = autoLock ? Persistence.Sealing.UnlockKey.Create().Text : string.Empty;
            cluster = cluster with { AutoLockManagers = autoLock, UnlockKey = newKey };
            LogAutoLock(_logger, autoLock);
        }

        if (m.CertExpirySeconds is not null || m.DispatcherHeartbeatMs is not null || m.TaskHistoryLimit is not null || newKey.Length > 0 || m.AutoLock is false || externalCas.Length > 0)
        {
            await _manager.Proposer.ProposeAsync([StoreChange.Update(cluster)]);
        }

        return new SwarmUpdated(cluster.ClusterId, (long)cluster.NodeCertExpiry.TotalSeconds, cluster.AutoLockManagers, newKey);
    }

    /// <summary>A node certificate lifetime too short to be set (`--cert-expiry`), refused; null when it can be.</summary>
    private static CommandRejected? CertExpiryRefused(long seconds) =>
        TimeSpan.FromSeconds(seconds) < ClusterObject.MinimumNodeCertExpiry
            ? new CommandRejected(RejectCode.InvalidArgument,
                $"--cert-expiry {GoDuration.Format(TimeSpan.FromSeconds(seconds))} is too short; node certificates must be valid for at least {ClusterObject.MinimumNodeCertExpiry.TotalHours:0} hour.")
            : null;

    /// <summary>`swarm unlock-key [--rotate]`: every manager rewraps its data key under the new key as the change reaches it.</summary>
    private async Task<object> OnGetUnlockKey(GetUnlockKey m)
    {
        if (Cluster() is not { } cluster)
        {
            return NoClusterRecord();
        }

        if (!cluster.AutoLockManagers)
        {
            return new CommandRejected(RejectCode.Conflict, "No unlock key is set: autolock is off. Turn it on with `protoswarm swarm update --autolock=true`.");
        }

        if (m.Rotate)
        {
            cluster = cluster with { UnlockKey = Persistence.Sealing.UnlockKey.Create().Text };
            await _manager.Proposer.ProposeAsync([StoreChange.Update(cluster)]);
            LogUnlockKeyRotated(_logger);
        }

        return new UnlockKeyInfo(cluster.UnlockKey);
    }

    private SwarmSummary OnSummary()
    {
        var cluster = State.Get<ClusterObject>(ClusterObject.DefaultId);
        var nodes = State.List<NodeObject>().ToList();
        return new SwarmSummary(
            cluster?.ClusterId ?? string.Empty,
            nodes.Count(n => n.Role == NodeRole.Manager),
            nodes.Count,
            DispatcherActor.ManagersOf(nodes, _manager.Raft.LeaderId),
            cluster?.Meta.CreatedAt ?? default,
            cluster is null ? null : new SwarmSecurity((long)cluster.NodeCertExpiry.TotalSeconds, cluster.AutoLockManagers, cluster.RootRotationInProgress) { ExternalCas = cluster.ExternalCas },
            cluster?.TaskHistoryLimit,
            cluster is null ? null : (long)cluster.HeartbeatPeriod.TotalMilliseconds);
    }

    private string LeaderAddr() =>
        DispatcherActor.LeaderAddrOf(State.List<NodeObject>(), _manager.Raft.LeaderId);

    private async Task<object> OnPromote(IContext context, PromoteNode m)
    {
        var raftId = NodeCommands.NewRaftId(State.List<NodeObject>());
        var reply = await ChangeNode(m.NodeRef, (node, _) => NodeCommands.Promote(node, raftId));
        if (reply is NodeUpdateAck { Node.RaftId: var id } ack && id == raftId)
        {
            // The node is a manager in the store; now make it a Raft learner. It votes once it has caught up.
            var joined = await ChangeMembership(context, new ConfChange(ConfChangeType.AddLearner, raftId, ack.Node.Id));
            return joined is null ? ack : joined;
        }

        return reply;
    }

    /// <summary>
    /// `node update`: --role as `node promote` / `node demote` (docker's alias of them, with the same checks: a demotion
    /// that would lose quorum is refused with the reason), then the availability and labels. The labels are checked
    /// before the role changes, so a refused update changes nothing.
    /// </summary>
    private async Task<object?> OnUpdateNode(IContext context, UpdateNode m)
    {
        NodeDecision Decide(NodeObject node) => NodeCommands.Update(node, m.Availability, m.LabelsAdd, m.LabelsRemove);
        if (m.Role is { } role)
        {
            var (node, rejected) = NodeCommands.Resolve(State.List<NodeObject>(), m.NodeRef);
            if (node is null)
            {
                return rejected!;
            }

            if (Decide(node).Rejected is { } refused)
            {
                return refused;
            }

            var changed = role == NodeRole.Manager
                ? await OnPromote(context, new PromoteNode(m.RequestId, node.Id))
                : await OnDemote(context, new DemoteNode(m.RequestId, node.Id), relayed: m);
            if (changed is not NodeUpdateAck)
            {
                return changed; // refused, or relayed with the whole update to the leader that took over
            }
        }

        return await ChangeNode(m.NodeRef, (node, _) => Decide(node));
    }

    /// <summary>`node demote`; <paramref name="relayed"/>: what the new leader gets when this one hands leadership over first (the request itself by default).</summary>
    private async Task<object?> OnDemote(IContext context, DemoteNode m, object? relayed = null)
    {
        var nodes = State.List<NodeObject>().ToList();
        var (target, rejected) = NodeCommands.Resolve(nodes, m.NodeRef);
        if (target is null)
        {
            return rejected!;
        }

        var decision = NodeCommands.Demote(target, nodes, await VotersHeardFromAsync(context));
        if (decision.Rejected is not null || decision.Write is null)
        {
            return decision.Rejected ?? (object)new NodeUpdateAck(target, decision.Message);
        }

        if (target.RaftId == _manager.Raft.RaftId)
        {
            // The leader is being demoted: hand leadership to a caught-up voter; the new leader does the rest.
            var successor = _manager.Raft.Voters.FirstOrDefault(v => v != target.RaftId && nodes.Any(n => n.RaftId == v && n.Status.State == NodeState.Ready));
            if (successor == 0)
            {
                return new CommandRejected(RejectCode.Conflict, $"Node {target.Id} leads the managers and no other reachable manager can take over; bring another manager up first.");
            }

            context.Send(_manager.RaftPid, new TransferLeadershipTo(successor));
            for (var waited = TimeSpan.Zero; waited < LeadershipMoveTimeout && _manager.Raft.IsLeader; waited += TimeSpan.FromMilliseconds(50))
            {
                await Task.Delay(50);
            }

            if (!_manager.Raft.IsLeader)
            {
                // The new leader finishes the demotion; it answers the caller.
                Relay(context, relayed ?? m);
                return null;
            }

            return new CommandRejected(RejectCode.Unavailable, $"Node {target.Id} is the leader and leadership did not move within {LeadershipMoveTimeout.TotalSeconds:0} s; try again.");
        }

        if (target.RaftId != 0 && await ChangeMembership(context, new ConfChange(ConfChangeType.RemoveVoter, target.RaftId, target.Id)) is { } refused)
        {
            return refused;
        }

        // Out of Raft first, then a worker in the store: the node sees its new role and stops its Raft peer. A
        // manager leaving the swarm is Down with it: it stops beating now, and is not coming back as a worker.
        var now = _manager.Time.GetUtcNow();
        return m.Leaving
            ? await ChangeNode(target.Id, (node, _) => NodeDecision.Change(NodeCommands.Leaving(node, now), $"Manager {node.Id} ({node.Description.Hostname}) demoted and Down: it is leaving the swarm."))
            : await ChangeNode(target.Id, (node, _) => NodeDecision.Change(NodeCommands.AsWorker(node), decision.Message));
    }

    /// <summary>This member and the voters it has had a Raft message from since this call began (waits for all, up to a second).</summary>
    private async Task<IReadOnlySet<ulong>> VotersHeardFromAsync(IContext context)
    {
        var since = _manager.Time.GetTimestamp();
        var others = _manager.Raft.Voters.Where(v => v != _manager.Raft.RaftId).ToList();
        var heard = ImmutableHashSet<ulong>.Empty;
        for (var waited = TimeSpan.Zero; ; waited += TimeSpan.FromMilliseconds(50))
        {
            heard = (await context.RequestAsync<PeersHeard>(_manager.RaftPid, new GetPeersHeardSince(since), PeerContactTimeout)).RaftIds;
            if (others.All(heard.Contains) || waited >= PeerContactTimeout)
            {
                return heard.Add(_manager.Raft.RaftId);
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Proposes a membership change and waits until it is applied; a refusal is returned, success is null.</summary>
    private async Task<CommandRejected?> ChangeMembership(IContext context, ConfChange change)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var answer = await context.RequestAsync<MembershipAnswer>(_manager.RaftPid, new ProposeMembership(SwarmIds.NewRequestId(), change), MembershipTimeout);
            if (answer.Applied)
            {
                return null;
            }

            if (!answer.Reason.StartsWith("another membership change", StringComparison.Ordinal))
            {
                return new CommandRejected(RejectCode.Unavailable, $"The Raft membership could not change: {answer.Reason}.");
            }

            await Task.Delay(300);
        }

        return new CommandRejected(RejectCode.Unavailable, "Another membership change is still being applied; try again in a few seconds.");
    }

    private async Task<object> ChangeNode(string nodeRef, Func<NodeObject, IReadOnlyList<NodeObject>, NodeDecision> decide)
    {
        for (var attempt = 0; ; attempt++)
        {
            var nodes = State.List<NodeObject>().ToList();
            var (node, rejected) = NodeCommands.Resolve(nodes, nodeRef);
            if (node is null)
            {
                return rejected!;
            }

            var decision = decide(node, nodes);
            if (decision.Rejected is not null)
            {
                return decision.Rejected;
            }

            if (decision.Write is null)
            {
                return new NodeUpdateAck(node, decision.Message);
            }

            try
            {
                var write = NodeCommands.WithRoleChangeTime(node, decision.Write, _manager.Time.GetUtcNow());
                await _manager.Proposer.ProposeAsync([StoreChange.Update(write)]);
                LogChange(node, write, decision.Message);
                return new NodeUpdateAck(NodeCommands.WithLeader(State.Get<NodeObject>(node.Id) ?? write, _manager.Raft.LeaderId), decision.Message);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
                // The node changed under us (a heartbeat); decide again on what is there now.
            }
            catch (StoreConflictException)
            {
                return new CommandRejected(RejectCode.Conflict, $"Node {node.Id} kept changing while this command ran; try again.");
            }
        }
    }

    /// <summary>
    /// The audit line of a node command: a promote or demote logs its own sentence ("Node X promoted to a
    /// manager in the swarm."); an update says which node, by id and hostname, and what changed (its
    /// decision's message is only the node id, which the CLI prints as docker does).
    /// </summary>
    private void LogChange(NodeObject before, NodeObject after, string message)
    {
        if (after.Role != before.Role)
        {
            LogNodeRoleChanged(_logger, message);
        }
        else
        {
            LogNodeUpdated(_logger, before.Id, before.Description.Hostname, NodeCommands.Changes(before, after));
        }
    }

    private async Task<object> OnRemove(RemoveNode m)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (node, rejected) = NodeCommands.Resolve(State.List<NodeObject>(), m.NodeRef);
            if (node is null)
            {
                return rejected!;
            }

            var decision = NodeCommands.Remove(node, m.Force);
            if (decision.Rejected is not null)
            {
                return decision.Rejected;
            }

            try
            {
                var cluster = Cluster();
                var finished = cluster is null ? null : SwarmCa.FinishRotationIfDone(cluster, State.List<NodeObject>().Where(n => n.Id != node.Id));
                IReadOnlyList<StoreChange> changes = cluster is null
                    ? [StoreChange.Delete(node)]
                    : [StoreChange.Delete(node), StoreChange.Update(RemovedNodeList.Add(finished ?? cluster, node, _manager.Time.GetUtcNow()))];
                await _manager.Proposer.ProposeAsync(changes);
                LogNodeRemoved(_logger, node.Id, node.Description.Hostname);
                if (finished is not null)
                {
                    LogRotationFinished(_logger); // the removed node was the last one on the old root
                }
                return new RemoveNodeAck(node.Id);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
            }
            catch (StoreConflictException)
            {
                return new CommandRejected(RejectCode.Conflict, $"Node {node.Id} kept changing while this command ran; try again.");
            }
        }
    }

    private async Task<object> OnJoin(IContext context, JoinRequest m)
    {
        var cluster = State.Get<ClusterObject>(ClusterObject.DefaultId);
        if (cluster is null)
        {
            return NotAManagerToJoin();
        }

        if (JoinTokens.RoleFor(m.Token, cluster) is not { } role)
        {
            LogJoinRefused(_logger, m.Addr, m.Description.Hostname);
            return new CommandRejected(RejectCode.InvalidToken,
                "The join token is not valid for this swarm. Get the current one on a manager with `protoswarm swarm join-token worker` (or `manager`) and try again.");
        }

        if (string.IsNullOrWhiteSpace(m.Addr))
        {
            return new CommandRejected(RejectCode.InvalidArgument, "The joining node gave no address; pass --advertise-addr.");
        }

        var nodeId = SwarmIds.New();
        object started;
        try
        {
            // Signed before anything is stored: a bad CSR leaves no node behind.
            started = StartIssue(cluster, m.CsrPem, new SwarmPeer(nodeId, role, cluster.ClusterId), m.Addr);
        }
        catch (CsrRejectedException e)
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"The joining node's certificate request was refused: {e.Message}.");
        }
        catch (ExternalCaException e)
        {
            return ExternalCaFailed(nodeId, e);
        }

        if (started is ExternalSigning signing)
        {
            return SignOffTurn(context, m, signing, async certificatePem =>
            {
                // Decided again on what the store holds now (the token was valid when the node asked, as in swarmkit).
                if (Cluster() is not { } now)
                {
                    return NotAManagerToJoin();
                }

                return RootMoved(signing, now) ?? await JoinedAsync(context, m, nodeId, role, now, SwarmCa.ExternallyIssued(now, certificatePem, signing.Peer));
            });
        }

        return await JoinedAsync(context, m, nodeId, role, cluster, (CertificateIssued)started);
    }

    /// <summary>Stores a joining node whose certificate was issued, and, for a manager, adds it to Raft as a learner.</summary>
    private async Task<object> JoinedAsync(IContext context, JoinRequest m, string nodeId, NodeRole role, ClusterObject cluster, CertificateIssued issued)
    {
        // The Raft id is chosen now, among the nodes there are now (others may have joined while a CA signed).
        var raftId = role == NodeRole.Manager ? NodeCommands.NewRaftId(State.List<NodeObject>()) : 0;
        var node = NodeCommands.NewNode(nodeId, role, m.Addr, m.Port > 0 ? m.Port : NodeCommands.DefaultPort, m.Description, _manager.Time.GetUtcNow(), leader: false, raftId)
            with { CertRootDigest = SwarmCa.CurrentRootDigest(cluster), CertNotAfter = SwarmCa.NotAfter(issued) };
        await _manager.Proposer.ProposeAsync([StoreChange.Create(node)]);
        if (raftId != 0 && await ChangeMembership(context, new ConfChange(ConfChangeType.AddLearner, raftId, node.Id)) is { } refused)
        {
            return refused;
        }

        LogNodeJoined(_logger, node.Id, m.Description.Hostname, m.Addr, role);
        await FinishRotationIfDoneAsync();
        return new JoinAccepted(node.Id, role, cluster.ClusterId, DispatcherActor.ManagersOf(State.List<NodeObject>(), _manager.Raft.LeaderId), raftId, issued.CertificatePem, issued.RootCaPem, issued.IntermediatesPem);
    }

    private void Remember(string requestId, object reply)
    {
        _replies[requestId] = reply;
        _replyOrder.Enqueue(requestId);
        if (_replyOrder.Count > RememberedReplies)
        {
            _replies.Remove(_replyOrder.Dequeue());
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Command} failed")]
    private static partial void LogCommandFailed(ILogger logger, Exception e, string command);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Change}")]
    private static partial void LogNodeRoleChanged(ILogger logger, string change);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} ({Hostname}) updated: {Changes}")]
    private static partial void LogNodeUpdated(ILogger logger, string nodeId, string hostname, string changes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} ({Hostname}) removed from the swarm")]
    private static partial void LogNodeRemoved(ILogger logger, string nodeId, string hostname);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} ({Hostname}, {Addr}) joined as {Role}")]
    private static partial void LogNodeJoined(ILogger logger, string nodeId, string hostname, string addr, NodeRole role);

    [LoggerMessage(Level = LogLevel.Information, Message = "The {Role} join token was rotated; the old one no longer admits anyone")]
    private static partial void LogTokenRotated(ILogger logger, NodeRole role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Root CA rotation started: the new root is {Digest}; every node renews its certificate")]
    private static partial void LogRotationStarted(ILogger logger, string digest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Root CA rotation replaced before it finished: the new root is {Digest}, cross-signed by the active root; the abandoned root {Abandoned} stays trusted until every node has renewed to the new one")]
    private static partial void LogRotationReplaced(ILogger logger, string abandoned, string digest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Root CA rotation cancelled: the active root {Digest} signs again; the abandoned root {Abandoned} stays trusted until every node has renewed to the active one")]
    private static partial void LogRotationCancelled(ILogger logger, string abandoned, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "Root CA rotation finished: every node holds a certificate from the new root; the old root is no longer trusted")]
    private static partial void LogRotationFinished(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Autolock is now {On}")]
    private static partial void LogAutoLock(ILogger logger, bool on);

    [LoggerMessage(Level = LogLevel.Information, Message = "The unlock key was rotated")]
    private static partial void LogUnlockKeyRotated(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Certificate issued to node {NodeId} as {Role}")]
    private static partial void LogCertificateIssued(ILogger logger, string nodeId, NodeRole role);

    [LoggerMessage(Level = LogLevel.Information, Message = "Certificate for {Subject} signed by the swarm's external CA")]
    private static partial void LogExternallySigned(ILogger logger, string subject);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No certificate for {Subject}: the external CA did not sign it: {Reason}")]
    private static partial void LogExternalCaFailed(ILogger logger, string subject, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client certificate {ClientId} issued ({Name})")]
    private static partial void LogClientCertificateIssued(ILogger logger, string clientId, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Join from {Addr} ({Hostname}) refused: invalid token")]
    private static partial void LogJoinRefused(ILogger logger, string addr, string hostname);
}
