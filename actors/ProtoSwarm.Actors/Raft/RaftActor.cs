using System.Collections.Immutable;
using MessagePack;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Persistence;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Actors.Raft;

/// <summary>What a manager's Raft peer needs.</summary>
public sealed record RaftSettings(
    string ClusterId,
    ulong RaftId,
    RaftLogFile File,
    RaftDiskState Disk,
    SwarmStore Store,
    RaftPending Pending,
    TimeProvider Time,
    ILoggerFactory LoggerFactory,
    RaftView View,
    string SelfAddress,
    Func<ulong, string?> AddressOf)
{
    /// <summary>One Raft tick; elections time out after 5 to 10 ticks.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public int ElectionTick { get; init; } = 5;

    /// <summary>
    /// Swarm's default: a snapshot every 10,000 entries, 500 kept for slow followers. The swarm's
    /// own setting (`swarm init --snapshot-interval`, in the cluster object) wins when there is one.
    /// </summary>
    public ulong SnapshotInterval { get; init; } = ClusterObject.DefaultSnapshotInterval;

    public ulong KeepAfterSnapshot { get; init; } = 500;

    /// <summary>Below gRPC's 4 MiB default message limit, with room for the envelope.</summary>
    public int SnapshotChunkBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Called once if the peer stops after a failure (its log could not be written, say: a full disk), with the
    /// reason; the owner restarts the member from the log on disk. A Raft peer whose memory may be ahead of its
    /// file cannot go on, and cannot start again from what it read at boot (<see cref="Disk"/>) either.
    /// </summary>
    public Action<string>? OnFailed { get; init; }
}

/// <summary>
/// One manager's Raft peer (named <c>raft</c>): it drives the pure core with ticks and messages,
/// persists each Ready in ONE SQLite transaction before sending or acknowledging anything, sends
/// Raft messages to the other managers over Proto.Remote, and applies committed entries to the
/// store. Proposals queued while a Ready is being written share the next one: group commit.
/// </summary>
public sealed partial class RaftActor : IActor
{
    /// <summary>Coalesced appends stay well below gRPC's 4 MiB message limit.</summary>
    private const int MaxCoalescedBytes = 1024 * 1024;

    /// <summary>Entries dropped from the file per step of a compaction: about a millisecond's work.</summary>
    private const int CompactSlice = 250;

    private readonly RaftSettings _settings;
    private readonly ILogger _logger;
    private readonly Dictionary<string, SnapshotAssembly> _incoming = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (PID Sender, string RequestId)> _membership = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PID> _reads = new(StringComparer.Ordinal);
    private readonly List<(ulong Index, PID Sender, string RequestId)> _readsWaitingForApply = [];
    private readonly Dictionary<ulong, string> _addresses = [];
    private readonly Dictionary<ulong, long> _heardAt = [];
    private readonly List<QueuedProposal> _queued = [];
    private readonly List<byte[]> _queuedData = [];
    private readonly List<StoreEvent> _applyEvents = [];
    private readonly List<(string ProposalId, ulong Index)> _completed = [];
    private readonly Dictionary<ulong, Message> _heldCommits = [];

    /// <summary>Followers that forwarded proposals to this leader, and its last index when they did: they wait for that commit.</summary>
    private readonly Dictionary<ulong, ulong> _forwardedUpTo = [];
    private MemoryRaftLog _log = null!;
    private RaftNode _node = null!;
    private CancellationTokenSource? _ticker;
    private bool _readyScheduled;

    // Set when a leader committed past this member's log (OnEnvelope): the member is out of Raft for good.
    private bool _logLost;

    // Set by Fail: why this peer stopped for good; the owner restarts the member from disk.
    private string? _failure;

    // Made by Proto.Actor's restart of a failed instance (Props): it must not start from RaftSettings.Disk.
    private readonly bool _restartedAfterFailure;
    private ulong _snapshotIndex;
    private bool _snapshotInProgress;

    /// <summary>This member has taken a snapshot since it started: it no longer waits for its place among the voters (<see cref="SnapshotDue"/>).</summary>
    private bool _tookSnapshot;
    private long _snapshotBytes;
    private long _bytesSinceSnapshot;
    private ulong _applied;
    private ulong _leader;
    private bool _isLeader;

    /// <summary>The commit index at the previous tick while leading (ulong.MaxValue otherwise): the mark a learner must reach to vote.</summary>
    private ulong _commitAtLastTick = ulong.MaxValue;
    private HardState _persistedHard;

    public RaftActor(RaftSettings settings, bool restarted = false)
    {
        _settings = settings;
        _restartedAfterFailure = restarted;
        _logger = settings.LoggerFactory.CreateLogger<RaftActor>();
    }

    /// <summary>
    /// How a manager spawns its Raft peer: protoswarmd and the benchmark's members both use it, so
    /// they run it alike (on the thread pool's default dispatcher: a dedicated thread for this
    /// mailbox was measured slower, docs/benchmarks.md, issue 3).
    /// <para>
    /// Without Proto.Actor's start deadline (100 ms by default, then a warning that the system "might
    /// suffer from incorrect design"): <c>Started</c> rebuilds the member from what was read off disk (the
    /// snapshot decoded into the store, up to a snapshot interval of entries into the in-memory log), the
    /// first run of that code while the rest of the node starts, which took 0.1 to 1 s on a loaded lab's
    /// managers and grows with the swarm. Its own "Raft member ... started" line says how long it took.
    /// </para>
    /// <para>
    /// Proto.Actor restarts a failed actor by making a new one from this producer: this peer's would start again
    /// from <see cref="RaftSettings.Disk"/>, the log as read at boot, behind everything written and applied since,
    /// and go on campaigning and writing over committed entries. So every exception is caught in
    /// <see cref="ReceiveAsync"/> (<see cref="Fail"/>), and an instance made after the first is failed from its start.
    /// </para>
    /// </summary>
    public static Props Props(RaftSettings settings)
    {
        var made = 0;
        return global::Proto.Props.FromProducer(() => new RaftActor(settings, restarted: Interlocked.Increment(ref made) > 1)).WithStartDeadline(TimeSpan.Zero);
    }

    /// <summary>
    /// Every message goes through <see cref="Receive"/>; an exception out of it stops the peer for good (<see cref="Fail"/>):
    /// its state in memory may be ahead of its file (a Ready written in part, or not at all) or half applied.
    /// </summary>
    public Task ReceiveAsync(IContext context)
    {
        if (_failure is not null)
        {
            if (context.Message is Stopping)
            {
                _ticker?.Cancel();
            }

            return Task.CompletedTask;
        }

        Task handled;
        try
        {
            handled = Receive(context);
        }
        catch (Exception e)
        {
            Fail(e);
            return Task.CompletedTask;
        }

        return handled.IsCompletedSuccessfully ? handled : Observed(handled);
    }

    private async Task Observed(Task handled)
    {
        try
        {
            await handled;
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    /// <summary>
    /// Stops this peer for good: no tick, step, write, apply or answer any more. The writes waiting are failed with the
    /// reason, and the owner (<see cref="RaftSettings.OnFailed"/>) restarts the member from the log on disk, the one
    /// state it can trust: what was durable before the failure. A write that failed was never acknowledged (answers
    /// and applies wait for the write of their Ready), and its entries, if followers took them, are the next leader's
    /// to commit or drop, as for a leader that crashed.
    /// </summary>
    private void Fail(Exception e)
    {
        _failure = FailureReason(e, _settings.File.Path);
        _ticker?.Cancel();
        // A full disk is the operator's to mend and says all in its sentence; anything else is ours, stack trace included.
        LogFailed(_logger, _settings.RaftId, _failure, IsDiskFull(e) ? null : e);
        // The owner first, so that whoever reads the refusals below already finds the member said to be restarting.
        _settings.OnFailed?.Invoke(_failure);
        _settings.Pending.FailAll(new StoreUnavailableException(
            $"This manager's Raft member stopped: {_failure}. The write may or may not be applied; the node restarts the member from its log on disk in a few seconds."));
    }

    /// <summary>What failed, in an operator's words: a full file system and the file named, or the exception's message.</summary>
    internal static string FailureReason(Exception e, string path) =>
        IsDiskFull(e)
            ? $"the file system of its log {path} is full (\"database or disk is full\"); free space on it, and the member starts again by itself"
            : $"{e.GetType().Name}: {e.Message} (its log: {path})";

    private static bool IsDiskFull(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 13 } // SQLITE_FULL
                || (inner is IOException io && (io.HResult & 0xFFFF) == 28)) // ENOSPC
            {
                return true;
            }
        }

        return false;
    }

    private Task Receive(IContext context)
    {
        if (_restartedAfterFailure && context.Message is Started)
        {
            throw new InvalidOperationException("the Raft actor was restarted by its supervisor after an exception, with the log as read at boot");
        }

        if (_logLost && context.Message is not (Stopping or Started))
        {
            // Out of Raft for good (OnEnvelope): no tick, no vote, no answer, no crash loop.
            return Task.CompletedTask;
        }

        switch (context.Message)
        {
            case Started:
                OnStarted(context);
                break;
            case Tick:
                SendHeldCommits(context);
                _node.Tick();
                PromoteCaughtUpLearners();
                break;
            case RaftEnvelope envelope:
                OnEnvelope(envelope);
                break;
            case RaftSnapshotChunk chunk:
                OnChunk(chunk);
                break;
            case ProposalsQueued:
                ProposeQueued();
                break;
            case ProposeMembership membership:
                OnProposeMembership(context, membership);
                break;
            case RequestRead read:
                OnRead(context, read);
                break;
            case TransferLeadershipTo transfer:
                _node.TransferLeadership(transfer.RaftId);
                break;
            case GetPeersHeardSince since:
                context.Respond(new PeersHeard([.. _heardAt.Where(p => p.Value >= since.Timestamp).Select(p => p.Key)]));
                return Task.CompletedTask;
            case SnapshotSealed snapshot:
                OnSnapshotStored(context, snapshot);
                return Task.CompletedTask;
            case CompactLog compact:
                OnCompactLog(context, compact.Before);
                return Task.CompletedTask;
            case SnapshotFailed failed:
                _snapshotInProgress = false;
                LogSnapshotFailed(_logger, _settings.RaftId, failed.Index, failed.Reason);
                return Task.CompletedTask;
            case ProcessReady:
                // Proposals queued since the last Ready join this one: group commit.
                ProposeQueued();
                _readyScheduled = false;
                return ProcessReadiesAsync(context);
            case Stopping:
                _ticker?.Cancel();
                _settings.Pending.FailAll(new StoreUnavailableException("This manager is stopping; the write may or may not be applied."));
                return Task.CompletedTask;
            default:
                return Task.CompletedTask;
        }

        ScheduleReady(context);
        return Task.CompletedTask;
    }

    private void OnStarted(IContext context)
    {
        // The file was read and checked before this actor was started (RaftLogFile.Open), so a
        // damaged or foreign log stops the member with a message instead of crash-looping here.
        var startedAt = _settings.Time.GetTimestamp();
        var disk = _settings.Disk;
        _log = new MemoryRaftLog();
        if (!disk.Snapshot.IsEmpty)
        {
            _log.ApplySnapshot(disk.Snapshot);
            _settings.Store.Reset(StoreCodec.DecodeState(disk.Snapshot.Data));
        }

        _log.Append(disk.Entries);
        _log.SetHardState(disk.HardState);
        _persistedHard = disk.HardState;
        _snapshotIndex = disk.Snapshot.Metadata.Index;
        _snapshotBytes = disk.Snapshot.Data.Length;
        _applied = disk.Snapshot.Metadata.Index;
        _node = new RaftNode(
            new RaftConfig
            {
                Id = _settings.RaftId,
                ElectionTick = _settings.ElectionTick,
                HeartbeatTick = 1,
                Applied = _applied,
                RandomSeed = (int)(_settings.RaftId ^ (ulong)Environment.TickCount64),
            },
            _log);
        _ticker = context.Scheduler(_settings.Time).SendRepeatedly(_settings.TickInterval, context.Self, Tick.Instance);
        var conf = _node.Status.ConfState;
        if (conf.Voters.Length == 1 && conf.Voters[0] == _settings.RaftId)
        {
            // The only voter (a new swarm, or after --force-new-cluster): no one to wait for.
            _node.Campaign();
        }

        UpdateView();
        LogStarted(_logger, _settings.RaftId, disk.HardState.Term, disk.HardState.Commit, _snapshotIndex, disk.Entries.Count,
            (long)_settings.Time.GetElapsedTime(startedAt).TotalMilliseconds);
    }

    private void OnEnvelope(RaftEnvelope envelope)
    {
        if (envelope.ClusterId != _settings.ClusterId || envelope.To != _settings.RaftId)
        {
            LogForeignMessage(_logger, envelope.From, envelope.ClusterId, envelope.To);
            return;
        }

        Message message;
        try
        {
            message = MessagePackSerializer.Deserialize<Message>(envelope.Message, ContractRegistry.Options);
        }
        catch (MessagePackSerializationException e)
        {
            LogBadMessage(_logger, envelope.From, e.Message);
            return;
        }

        if (message.From != envelope.From || message.Type is MessageType.Hup or MessageType.Beat or MessageType.SnapStatus or MessageType.Unreachable)
        {
            LogBadMessage(_logger, envelope.From, $"{message.Type} from {message.From} is not a message a peer may send");
            return;
        }

        if (envelope.FromAddress is { Length: > 0 } from)
        {
            _addresses[envelope.From] = from;
        }

        _heardAt[envelope.From] = _settings.Time.GetTimestamp();

        try
        {
            _node.Step(message);
        }
        catch (RaftLogLostException lost)
        {
            // The leader commits past this member's log: its raft.db lost what it acknowledged
            // (emptied, truncated or replaced while the node was stopped). Stepping on would throw
            // at every message, the actor restarting ten times a second with nothing logged.
            _logLost = true;
            _ticker?.Cancel();
            LogLogLost(_logger, _settings.RaftId, envelope.From, lost.Commit, lost.LastIndex, _settings.File.Path);
            return;
        }

        if (message.Type == MessageType.Propose && _isLeader)
        {
            // The follower answers its writer only once it applies these entries: it must learn
            // their commit at once, not with the next append or tick (SendHeldCommits).
            _forwardedUpTo[envelope.From] = _node.Status.LastIndex;
        }
    }

    private void OnChunk(RaftSnapshotChunk chunk)
    {
        if (chunk.ClusterId != _settings.ClusterId || chunk.To != _settings.RaftId || chunk.Count <= 0 || chunk.Sequence < 0 || chunk.Sequence >= chunk.Count)
        {
            LogForeignMessage(_logger, chunk.From, chunk.ClusterId, chunk.To);
            return;
        }

        if (!_incoming.TryGetValue(chunk.TransferId, out var assembly))
        {
            // One transfer at a time per sender: a new one replaces an abandoned one.
            foreach (var stale in _incoming.Where(p => p.Value.From == chunk.From).Select(p => p.Key).ToList())
            {
                _incoming.Remove(stale);
            }

            assembly = new SnapshotAssembly(chunk.From, new byte[chunk.Count][]);
            _incoming[chunk.TransferId] = assembly;
        }

        assembly.Parts[chunk.Sequence] = chunk.Bytes;
        if (assembly.Parts.Any(p => p is null))
        {
            return;
        }

        _incoming.Remove(chunk.TransferId);
        var whole = assembly.Parts.SelectMany(p => p!).ToArray();
        OnEnvelope(new RaftEnvelope(chunk.ClusterId, chunk.From, chunk.To, whole, chunk.FromAddress));
    }

    private void ProposeQueued()
    {
        _queued.Clear();
        _settings.Pending.TakeQueued(_queued);
        if (_queued.Count == 0)
        {
            return;
        }

        _queuedData.Clear();
        foreach (var proposal in _queued)
        {
            _queuedData.Add(proposal.Data);
        }

        if (!_node.Propose(_queuedData))
        {
            foreach (var proposal in _queued)
            {
                _settings.Pending.Fail(proposal.ProposalId, new NoLeaderException());
            }
        }

        _queued.Clear();
        _queuedData.Clear();
    }

    private void OnProposeMembership(IContext context, ProposeMembership request)
    {
        var change = request.Change;
        if (!_node.ProposeConfChange(change))
        {
            context.Respond(new MembershipAnswer(false, _node.Status.Role == StateRole.Leader
                ? "another membership change is still being applied; try again in a few seconds"
                : "this manager is not the Raft leader"));
            return;
        }

        _membership[Key(change)] = (context.Sender!, request.RequestId);
    }

    private void OnRead(IContext context, RequestRead read)
    {
        _reads[read.RequestId] = context.Sender!;
        _node.ReadIndex(System.Text.Encoding.UTF8.GetBytes(read.RequestId));
    }

    private void ScheduleReady(IContext context)
    {
        if (!_readyScheduled && _node.HasReady())
        {
            _readyScheduled = true;
            context.Send(context.Self, ProcessReady.Instance);
        }
    }

    private async Task ProcessReadiesAsync(IContext context)
    {
        while (_node.HasReady())
        {
            var ready = _node.GetReady();
            if (ready.SoftState is { } role)
            {
                _isLeader = role.Role == StateRole.Leader;
                if (!_isLeader)
                {
                    _heldCommits.Clear();
                    _forwardedUpTo.Clear();
                }
            }

            // A leader may write its log while followers write theirs (Raft thesis 10.2.1, etcd's
            // raft node): its appends count towards the majority at once, but nothing it commits
            // is applied before the Persist below has returned, since a commit needs an answer
            // that is handled only after this Ready. A new term or vote, or a snapshot, is still
            // written before anything is sent.
            var sendFirst = _isLeader
                && ready.Snapshot is null
                && (ready.HardState is not { } hard || (hard.Term == _persistedHard.Term && hard.Vote == _persistedHard.Vote));
            if (sendFirst)
            {
                Send(context, ready.Messages);
            }

            if (sendFirst && !ready.Messages.IsDefaultOrEmpty && ready.MustSync)
            {
                await PersistOffThreadAsync(ready);
            }
            else
            {
                Persist(ready);
            }

            if (!sendFirst)
            {
                Send(context, ready.Messages);
            }

            if (ready.Snapshot is { IsEmpty: false } snapshot)
            {
                _settings.Store.Reset(StoreCodec.DecodeState(snapshot.Data));
                _applied = snapshot.Metadata.Index;
                _snapshotIndex = snapshot.Metadata.Index;
                _snapshotBytes = snapshot.Data.Length;
                _bytesSinceSnapshot = 0;
                LogInstalledSnapshot(_logger, _settings.RaftId, snapshot.Metadata.Index);
            }

            Apply(context, ready.CommittedEntries);
            foreach (var read in ready.ReadStates)
            {
                var id = System.Text.Encoding.UTF8.GetString(read.RequestContext);
                if (_reads.Remove(id, out var sender))
                {
                    _readsWaitingForApply.Add((read.Index, sender, id));
                }
            }

            AnswerReads(context);
            if (ready.SoftState is { } soft && soft.Lead != _leader)
            {
                LogLeaderChanged(_logger, _settings.RaftId, _leader, soft.Lead, soft.Role);
                _leader = soft.Lead;
            }

            _node.Advance(ready);
            MaybeSnapshot(context);
        }

        UpdateView();
    }

    private void UpdateView()
    {
        var (lead, term, conf, commit) = _node.Summary;
        _settings.View.Update(lead, term, conf.Voters, conf.Learners, commit, _applied, _snapshotIndex);
    }

    private string? AddressOf(ulong raftId) =>
        _settings.AddressOf(raftId) is { Length: > 0 } known ? known : _addresses.GetValueOrDefault(raftId);

    /// <summary>
    /// A manager joins as a learner; once it has the log up to the commit index of the previous tick,
    /// it votes. A refused proposal (another change pending) is tried again at the next tick, and a
    /// new leader does the same for the learners it finds.
    /// </summary>
    private void PromoteCaughtUpLearners()
    {
        var status = _node.Status;
        var target = _commitAtLastTick;
        _commitAtLastTick = status.Role == StateRole.Leader ? status.Commit : ulong.MaxValue;
        if (CaughtUpLearner(status, target) is var learner && learner != 0
            && _node.ProposeConfChange(new ConfChange(ConfChangeType.AddVoter, learner, string.Empty)))
        {
            LogPromotingLearner(_logger, learner, status.Progress[learner].Match);
        }
    }

    /// <summary>
    /// The first learner that has answered lately and holds every entry committed by the previous
    /// tick (<paramref name="commitAtLastTick"/>; ulong.MaxValue when this peer did not lead then:
    /// the commit index now), or 0. Not the commit index now: under a steady write load the leader
    /// commits the entries in flight as soon as a majority of voters has them, so a learner that
    /// answers a moment later than they do is always a batch behind and would never be promoted.
    /// </summary>
    internal static ulong CaughtUpLearner(RaftStatus status, ulong commitAtLastTick)
    {
        if (status.Role != StateRole.Leader || status.ConfState.Learners.IsDefaultOrEmpty)
        {
            return 0;
        }

        var target = Math.Min(status.Commit, commitAtLastTick);
        return status.ConfState.Learners.FirstOrDefault(learner =>
            status.Progress.TryGetValue(learner, out var progress) && progress.RecentActive && progress.Match >= target);
    }

    /// <summary>
    /// A leader's write of the entries it has just sent, on another pool thread, while this actor
    /// waits for it (the mailbox takes no other message until the task completes, so nothing is
    /// answered, applied or stepped before the write has returned). Written on this thread, the
    /// write held it through the fsync while Proto.Remote's endpoint waited for another pool thread
    /// to wake and serialize the appends it was just given: 0.15 ms of a 0.9 ms single write
    /// (docs/benchmarks.md, issue 3). Queued behind that work (PreferFairness: the global queue,
    /// not this thread's own), so this thread sends first and the write follows.
    /// </summary>
    private Task PersistOffThreadAsync(Ready ready) =>
        Task.Factory.StartNew(
            static state =>
            {
                var (actor, ready) = ((RaftActor, Ready))state!;
                actor.Persist(ready);
            },
            (this, ready),
            CancellationToken.None,
            TaskCreationOptions.PreferFairness | TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default);

    /// <summary>ONE durable write per Ready: the snapshot, the new entries and the hard state together.</summary>
    private void Persist(Ready ready)
    {
        if (!ready.MustSync)
        {
            return;
        }

        var entries = ready.Entries.IsDefault ? [] : ready.Entries;

        // etcd's rule: new entries, a snapshot, a new term or vote must be on disk before anything
        // is sent or applied. A commit index alone is written without its own fsync (the next
        // durable write carries it): lost only with the machine, it is learned again from the
        // leader, and every manager already fsyncs the entries it commits.
        var durable = entries.Length > 0
            || ready.Snapshot is { IsEmpty: false }
            || ready.HardState is not { } next
            || next.Term != _persistedHard.Term
            || next.Vote != _persistedHard.Vote;
        _settings.File.Save(ready.Snapshot, entries, ready.HardState, durable);
        if (ready.Snapshot is { IsEmpty: false } snapshot)
        {
            _log.ApplySnapshot(snapshot);
        }

        if (entries.Length > 0)
        {
            _log.Append(entries);
        }

        if (ready.HardState is { } hard)
        {
            _log.SetHardState(hard);
            _persistedHard = hard;
        }
    }

    private void Send(IContext context, ImmutableArray<Message> messages)
    {
        if (messages.IsDefaultOrEmpty)
        {
            return;
        }

        foreach (var coalesced in Coalesce(messages))
        {
            var message = coalesced;
            if (_heldCommits.Remove(message.To, out var held))
            {
                if (message.Type == MessageType.Append && message.Term == held.Term && Merge(held, message) is { } merged)
                {
                    message = merged;
                }
                else
                {
                    SendNow(context, held);
                }
            }

            if (_isLeader && message.Type == MessageType.Append && message.Entries.IsDefaultOrEmpty && !_forwardedUpTo.ContainsKey(message.To))
            {
                _heldCommits[message.To] = message;
                continue;
            }

            SendNow(context, message);
        }
    }

    /// <summary>
    /// A leader's appends without entries, which mostly only tell a follower a new commit index, wait
    /// for the next append to that follower (the next proposals', which then carries the commit) or
    /// for the next tick, whichever is first; only their delivery is delayed, never their order.
    /// Writes through the leader wait only for its commit and linearizable reads are served by the
    /// leader (and a read's heartbeats carry the commit), so a follower learning a commit up to one
    /// tick later costs those nothing; a follower that forwarded proposals waits for their commit,
    /// so it is not held back from it. Sending at once cost an append, a follower's Ready and an
    /// answer per follower and commit: under load half of all Raft messages (docs/benchmarks.md,
    /// issue 3).
    /// </summary>
    private void SendHeldCommits(IContext context)
    {
        if (_heldCommits.Count == 0)
        {
            return;
        }

        foreach (var held in _heldCommits.Values)
        {
            if (_isLeader && held.Term == _node.Summary.Term)
            {
                SendNow(context, held);
            }
        }

        _heldCommits.Clear();
    }

    private void SendNow(IContext context, Message message)
    {
        if (message.Type == MessageType.Append && _forwardedUpTo.TryGetValue(message.To, out var upTo) && message.Commit >= upTo)
        {
            _forwardedUpTo.Remove(message.To);
        }

        if (AddressOf(message.To) is not { Length: > 0 } address)
        {
            _node.ReportUnreachable(message.To);
            return;
        }

        var target = new PID(address, "raft");
        var bytes = MessagePackSerializer.Serialize(message, ContractRegistry.Options);
        if (message.Type == MessageType.Snapshot && bytes.Length > _settings.SnapshotChunkBytes)
        {
            var transfer = SwarmIds.NewRequestId();
            var count = (bytes.Length + _settings.SnapshotChunkBytes - 1) / _settings.SnapshotChunkBytes;
            for (var i = 0; i < count; i++)
            {
                var part = bytes.AsSpan(i * _settings.SnapshotChunkBytes, Math.Min(_settings.SnapshotChunkBytes, bytes.Length - (i * _settings.SnapshotChunkBytes))).ToArray();
                context.Send(target, new RaftSnapshotChunk(_settings.ClusterId, _settings.RaftId, message.To, transfer, i, count, part, _settings.SelfAddress));
            }

            LogSentSnapshot(_logger, message.To, message.Snapshot?.Metadata.Index ?? 0, count);
            _node.ReportSnapshot(message.To, true);
        }
        else
        {
            context.Send(target, new RaftEnvelope(_settings.ClusterId, _settings.RaftId, message.To, bytes, _settings.SelfAddress));
        }
    }

    /// <summary>
    /// The core sends one append per proposal and follower, and an append without entries to every
    /// follower whenever the commit index moves. Within one Ready, appends to the same follower that
    /// follow each other in the log (no other message to it in between, the second starting where
    /// the first leaves off) travel as one: the follower receives the same entries in the same order
    /// and the later commit index, and answers once. A commit-only append held back from an earlier
    /// Ready (<see cref="SendHeldCommits"/>) joins the next append to its follower the same way.
    /// </summary>
    internal static List<Message> Coalesce(ImmutableArray<Message> messages, int maxBytes = MaxCoalescedBytes)
    {
        var output = new List<Message>(messages.Length);
        var bytes = new List<int>(messages.Length);
        var lastTo = new Dictionary<ulong, int>();
        foreach (var message in messages)
        {
            var size = message.Type == MessageType.Append ? EntryBytes(message) : 0;
            if (message.Type == MessageType.Append && lastTo.TryGetValue(message.To, out var at)
                && output[at] is { Type: MessageType.Append } previous
                && previous.Term == message.Term
                && bytes[at] + size <= maxBytes
                && Merge(previous, message) is { } merged)
            {
                output[at] = merged;
                bytes[at] += size;
                continue;
            }

            lastTo[message.To] = output.Count;
            output.Add(message);
            bytes.Add(size);
        }

        return output;
    }

    /// <summary>One append that does what <paramref name="first"/> then <paramref name="second"/> do, or null when the second does not start where the first ends.</summary>
    private static Message? Merge(Message first, Message second)
    {
        var (endIndex, endTerm) = first.Entries.IsDefaultOrEmpty
            ? (first.Index, first.LogTerm)
            : (first.Entries[^1].Index, first.Entries[^1].Term);
        if (second.Index != endIndex || second.LogTerm != endTerm)
        {
            return null;
        }

        // Either commit index was the leader's when it was sent; the follower commits no further
        // than the entries it then holds from this leader, so the later one is safe to carry.
        var commit = Math.Max(first.Commit, second.Commit);
        if (second.Entries.IsDefaultOrEmpty)
        {
            return first with { Commit = commit };
        }

        return first.Entries.IsDefaultOrEmpty
            ? second with { Commit = commit }
            : first with { Entries = first.Entries.AddRange(second.Entries), Commit = commit };
    }

    private static int EntryBytes(Message append)
    {
        var total = 0;
        foreach (var entry in append.Entries.IsDefault ? [] : append.Entries)
        {
            total += entry.Data.Length;
        }

        return total;
    }

    /// <summary>
    /// Applies a Ready's committed entries to the store in one batch and publishes the new state
    /// once; only then are the proposers answered, so a write's caller reads its own write. Each
    /// proposal is stamped with the time it carries; this manager's clock serves only entries
    /// written before the time travelled in them.
    /// </summary>
    private void Apply(IContext context, ImmutableArray<Entry> entries)
    {
        if (entries.IsDefaultOrEmpty)
        {
            return;
        }

        var now = _settings.Time.GetUtcNow();
        StoreState.Batch? batch = null;
        foreach (var entry in entries)
        {
            if (entry.Index <= _applied)
            {
                continue;
            }

            _bytesSinceSnapshot += entry.Data.Length;
            switch (entry.Type)
            {
                case EntryType.Normal when entry.Data.Length > 0:
                    ApplyProposal(entry, now, batch ??= _settings.Store.Current.BeginBatch());
                    break;
                case EntryType.ConfChange:
                    ApplyMembership(context, entry);
                    break;
            }

            _applied = entry.Index;
        }

        if (batch is null || _applyEvents.Count == 0 && _completed.Count == 0)
        {
            return;
        }

        if (batch.Index > _settings.Store.Current.Index)
        {
            _settings.Store.Publish(batch.ToState(), _applyEvents);
        }

        foreach (var (proposalId, index) in _completed)
        {
            _settings.Pending.Complete(proposalId, index);
        }

        _applyEvents.Clear();
        _completed.Clear();
    }

    private void ApplyProposal(Entry entry, DateTimeOffset now, StoreState.Batch batch)
    {
        string proposalId;
        IReadOnlyList<StoreChange> changes;
        DateTimeOffset? proposedAt;
        try
        {
            (proposalId, changes, proposedAt) = StoreCodec.DecodeProposal(entry.Data);
        }
        catch (MessagePackSerializationException e)
        {
            LogBadEntry(_logger, entry.Index, e.Message);
            return;
        }

        try
        {
            // The proposer's time, the same on every replica and at every replay of this entry
            // after a restart; this manager's clock only for an entry written before it travelled.
            batch.Apply(entry.Index, changes, proposedAt ?? now, _applyEvents);
            _completed.Add((proposalId, entry.Index));
        }
        catch (StoreConflictException e)
        {
            // Every manager refuses the same stale write at the same index: the replicas stay equal.
            _settings.Pending.Fail(proposalId, e);
        }
    }

    private void ApplyMembership(IContext context, Entry entry)
    {
        ConfChange change;
        try
        {
            change = ConfChange.FromBytes(entry.Data); // the core's own encoding of the entry
        }
        catch (MessagePackSerializationException e)
        {
            LogBadEntry(_logger, entry.Index, e.Message);
            return;
        }

        var state = _node.ApplyConfChange(change);
        LogMembership(_logger, change.Type, change.NodeId, string.Join(",", state.Voters), string.Join(",", state.Learners));
        if (_membership.Remove(Key(change), out var waiting))
        {
            context.Send(waiting.Sender, new MembershipAnswer(true, string.Empty));
        }
    }

    private void AnswerReads(IContext context)
    {
        for (var i = _readsWaitingForApply.Count - 1; i >= 0; i--)
        {
            var (index, sender, _) = _readsWaitingForApply[i];
            if (_applied >= index)
            {
                context.Send(sender, new ReadAnswer(true, index, string.Empty));
                _readsWaitingForApply.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// A snapshot once SnapshotInterval entries have been applied since the last one AND those
    /// entries hold at least as many bytes as the last snapshot: a store that grows with every
    /// write (each snapshot bigger than the last) is then snapshotted at doubling intervals, so the
    /// work of snapshotting stays proportional to the writes, while the log kept on disk and in
    /// memory stays below the size of one more snapshot. Nothing of it stalls this actor: the
    /// immutable store is encoded and sealed on a dedicated thread (0.5 s and more at 50,000
    /// objects), then written in parts between Readies; the log is compacted once all are written.
    /// </summary>
    private void MaybeSnapshot(IContext context)
    {
        var interval = _settings.Store.Current.Get<ClusterObject>(ClusterObject.DefaultId)?.SnapshotInterval is > 0 and var configured
            ? configured
            : _settings.SnapshotInterval;
        var voters = _node.Summary.ConfState.Voters;
        if (_snapshotInProgress || !SnapshotDue(_applied - _snapshotIndex, interval, _bytesSinceSnapshot, _snapshotBytes, _tookSnapshot ? 0 : voters.IndexOf(_settings.RaftId), voters.Length))
        {
            return;
        }

        // The last snapshot plus what was logged since: a store that only grew is about that size
        // now, one whose objects were rewritten is smaller (an unused tail is never touched).
        var sizeHint = (int)Math.Clamp(_snapshotBytes + _bytesSinceSnapshot + (64 * 1024), 256, 1L << 30);
        _snapshotInProgress = true;
        _tookSnapshot = true;
        _bytesSinceSnapshot = 0;
        var state = _settings.Store.Current;
        var metadata = new SnapshotMetadata(_applied, _log.Term(_applied), _node.Summary.ConfState);
        var file = _settings.File;
        var self = context.Self;
        var root = context.System.Root;
        // On a thread of its own (LongRunning), not a pool worker: while Task.Run's encode held a
        // pool worker for a second at 144,000 objects, the leader's actor took no message at all
        // (no tick, no append sent for up to 1 s; no long handler, no GC pause, the process not
        // frozen) and the followers pre-voted (docs/benchmarks.md, issue 3).
        _ = Task.Factory.StartNew(
            () =>
            {
                try
                {
                    var (snapshot, sealedSnapshot) = file.EncodeSnapshot(metadata, output => StoreCodec.EncodeState(state, output), sizeHint);
                    // Stored from this thread too, in the snapshots file: the actor only points raft.db at it.
                    file.StoreSnapshot(sealedSnapshot);
                    root.Send(self, new SnapshotSealed(snapshot, sealedSnapshot));
                }
                catch (Exception e)
                {
                    root.Send(self, new SnapshotFailed(metadata.Index, e.Message));
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Whether a member takes a snapshot now: <paramref name="interval"/> entries applied since its
    /// last one AND as many bytes as that snapshot (the byte rule above). The members would
    /// otherwise all reach it at the same index and encode, seal and write the same 40 MB at the
    /// same moment; on 2 cores that starved the leader's heartbeats and moved the leadership
    /// (docs/benchmarks.md, issue 3). So a member's FIRST snapshot after it starts waits a share of
    /// the interval and of the bytes that grows with its place among the voters (0 for the first,
    /// a third more for the second of three, two thirds more for the third): from then on each
    /// counts from its own last snapshot, so the members stay apart by that share (the same
    /// number of entries apart at a fixed store size, the same ratio apart in a growing one).
    /// <paramref name="rank"/> is -1 for a learner, or 0 once the member has taken a snapshot.
    /// </summary>
    internal static bool SnapshotDue(ulong appliedSince, ulong interval, long bytesSince, long snapshotBytes, int rank, int voters)
    {
        var (extraEntries, extraBytes) = rank > 0 && voters > 1
            ? (interval * (ulong)rank / (ulong)voters, snapshotBytes * rank / voters)
            : (0UL, 0L);
        return appliedSince >= interval + extraEntries && bytesSince >= snapshotBytes + extraBytes;
    }

    private void OnSnapshotStored(IContext context, SnapshotSealed snapshot)
    {
        var index = snapshot.Snapshot.Metadata.Index;
        if (index <= _snapshotIndex)
        {
            _snapshotInProgress = false; // a newer snapshot was installed from the leader meanwhile
            return;
        }

        if (index > _persistedHard.Commit)
        {
            // A restart must find the commit index at or after its snapshot's (the core refuses a
            // commit index behind its snapshot). It always is, since a Ready's commit index is
            // written before it is applied and snapshots are taken only of applied entries;
            // checked here so that it stays so.
            _snapshotInProgress = false;
            LogSnapshotFailed(_logger, _settings.RaftId, index, $"the commit index written so far ({_persistedHard.Commit}) is behind it");
            return;
        }

        try
        {
            _settings.File.CommitSnapshot(snapshot.Sealed);
        }
        catch (PersistenceException e)
        {
            _snapshotInProgress = false;
            LogSnapshotFailed(_logger, _settings.RaftId, index, e.Message);
            return;
        }

        _log.CreateSnapshot(index, snapshot.Snapshot.Metadata.ConfState, snapshot.Snapshot.Data);
        var compactTo = index > _settings.KeepAfterSnapshot ? index - _settings.KeepAfterSnapshot : 0;
        if (compactTo > _log.FirstIndex())
        {
            _log.Compact(compactTo);
        }

        _snapshotIndex = index;
        _snapshotBytes = snapshot.Snapshot.Data.Length;
        LogSnapshotTaken(_logger, _settings.RaftId, index, snapshot.Snapshot.Data.Length);
        UpdateView();
        OnCompactLog(context, compactTo);
    }

    /// <summary>The entries a committed snapshot covers leave the file a slice at a time, between Readies.</summary>
    private void OnCompactLog(IContext context, ulong compactTo)
    {
        if (_settings.File.CompactSome(compactTo, CompactSlice))
        {
            _snapshotInProgress = false;
            return;
        }

        context.Send(context.Self, new CompactLog(compactTo));
    }

    private static string Key(ConfChange change) => $"{change.Type}:{change.NodeId}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft member {RaftId} started: term {Term}, commit {Commit}, snapshot {SnapshotIndex}, {Entries} entries, in {Elapsed} ms")]
    private static partial void LogStarted(ILogger logger, ulong raftId, ulong term, ulong commit, ulong snapshotIndex, int entries, long elapsed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Raft message from member {From} refused: it is for swarm {ClusterId}, member {To}")]
    private static partial void LogForeignMessage(ILogger logger, ulong from, string clusterId, ulong to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Raft message from member {From} refused: {Reason}")]
    private static partial void LogBadMessage(ILogger logger, ulong from, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Raft member {RaftId} has lost log entries it had acknowledged: leader {Leader} commits index {Commit}, but {Path} ends at {LastIndex}; the file was emptied, truncated or replaced while the node was stopped. This manager takes no further part in Raft (no vote, no acknowledgement). Restore the file from a backup and restart protoswarmd, or demote this node from another manager (`protoswarm node demote`), then `protoswarm swarm leave --force` here and join again.")]
    private static partial void LogLogLost(ILogger logger, ulong raftId, ulong leader, ulong commit, ulong lastIndex, string path);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Raft member {RaftId} stopped: {Reason}. Its memory may be ahead of its log, so it takes no further part in Raft; the node restarts the member from the log on disk.")]
    private static partial void LogFailed(ILogger logger, ulong raftId, string reason, Exception? exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Raft entry {Index} cannot be decoded, skipped: {Reason}")]
    private static partial void LogBadEntry(ILogger logger, ulong index, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft member {RaftId}: leader {From} -> {To} ({Role})")]
    private static partial void LogLeaderChanged(ILogger logger, ulong raftId, ulong from, ulong to, StateRole role);

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft membership {Change} {Member}: voters [{Voters}], learners [{Learners}]")]
    private static partial void LogMembership(ILogger logger, ConfChangeType change, ulong member, string voters, string learners);

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft learner {RaftId} has caught up (match {Match}); making it a voter")]
    private static partial void LogPromotingLearner(ILogger logger, ulong raftId, ulong match);

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft member {RaftId} took a snapshot at {Index} ({Bytes} bytes)")]
    private static partial void LogSnapshotTaken(ILogger logger, ulong raftId, ulong index, int bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Raft member {RaftId} could not take a snapshot at {Index}, keeping its log: {Reason}")]
    private static partial void LogSnapshotFailed(ILogger logger, ulong raftId, ulong index, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft member {RaftId} installed a snapshot at {Index}")]
    private static partial void LogInstalledSnapshot(ILogger logger, ulong raftId, ulong index);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent a snapshot at {Index} to member {To} in {Chunks} chunks")]
    private static partial void LogSentSnapshot(ILogger logger, ulong to, ulong index, int chunks);

    private sealed record SnapshotAssembly(ulong From, byte[]?[] Parts);

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record SnapshotSealed(Snapshot Snapshot, SealedSnapshot Sealed);

    private sealed record SnapshotFailed(ulong Index, string Reason);

    private sealed record CompactLog(ulong Before);

    private sealed record ProcessReady
    {
        public static readonly ProcessReady Instance = new();
    }
}
