using System.Globalization;
using ProtoSwarm.Raft.Tests.Simulation.Linearizability;

namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>
/// A deterministic simulation of a Raft cluster: N RaftNodes over their own logs, one seeded
/// <see cref="Random"/> choosing every action (ticks, deliveries, message faults, partitions,
/// crashes and restarts from disk, client writes and linearizable reads, membership changes,
/// snapshots and compaction, leadership transfers). Single-threaded, no clock: a seed replays exactly.
/// Each Ready is handled as the manager's Raft actor will: persist snapshot, entries and hard state
/// in one durable write, then send the messages, then apply the committed entries, then Advance.
/// Invariants are checked as it goes and after every step; a violation throws
/// <see cref="SimulationViolationException"/> with the seed, the step and the last actions.
/// </summary>
public sealed partial class Simulator
{
    private const int TraceLength = 40;

    private readonly SimulationOptions _options;
    private readonly Random _rng;
    private readonly SimNetwork _net = new();
    private readonly RaftInvariants _inv = new();
    private readonly SortedDictionary<ulong, SimPeer> _peers = [];
    private readonly Queue<string> _trace = new();
    private readonly ulong _maxSizePerMessage;
    private readonly int _maxInflight;
    private readonly bool _async;
    private ulong _nextId;
    private int _step;
    private int _ticks;
    private int _crashes;
    private int _snapshotsInstalled;
    private int _membershipChanges;
    private bool _proposalsForwarded;
    private int _duplicateApplies;

    public Simulator(SimulationOptions options, int seed)
    {
        _options = options;
        Seed = seed;
        _rng = new Random(seed);

        // Per-seed variety in batching and flow control, so small messages and a window of 1 are covered too.
        _maxSizePerMessage = _rng.Next(3) switch { 0 => 64UL, 1 => 1024UL, _ => 1024UL * 1024 };
        _maxInflight = _rng.Next(3) switch { 0 => 1, 1 => 4, _ => 256 };
        _async = options.AsyncWrites ?? _rng.Next(4) != 0;

        var founders = new ConfState([.. Enumerable.Range(1, options.Peers).Select(i => (ulong)i)], []);
        foreach (var id in founders.Voters)
        {
            var peer = new SimPeer(id, MemoryRaftLog.Bootstrap(founders));
            _peers.Add(id, peer);
            Guard("start", () => StartNode(peer));
        }

        _nextId = (ulong)options.Peers + 1;
        _clients = new ClientOp?[options.Clients];
    }

    public int Seed { get; }

    /// <summary>Sees every action as it happens (a replayed seed prints its whole run through it).</summary>
    public Action<string>? Log { get; set; }

    public int StepNumber => _step;

    public int Ticks => _ticks;

    /// <summary>The one up peer that believes it leads in the highest term, if any.</summary>
    public ulong? Leader => _peers.Values.Where(p => p.IsLeader).OrderByDescending(p => p.LastStatus!.Term).Select(p => (ulong?)p.Id).FirstOrDefault();

    public IReadOnlyList<ulong> PeerIds => [.. _peers.Values.Where(p => !p.Retired).Select(p => p.Id)];

    public IReadOnlyList<ulong> Voters(ulong asSeenBy) => [.. _peers[asSeenBy].ConfState.Voters];

    public RaftStatus? StatusOf(ulong id) => _peers[id].IsUp ? _peers[id].LastStatus : null;

    public bool IsUp(ulong id) => _peers[id].IsUp;

    public ulong AppliedOf(ulong id) => _peers[id].Sm.Applied;

    public ulong FirstIndexOf(ulong id) => _peers[id].Log.FirstIndex();

    public ulong HighestCommitted => _inv.HighestCommitted;

    public SimulationReport Report() => new(
        Seed,
        _options.Peers,
        _step,
        _ticks,
        _inv.HighestCommitted,
        _inv.LeadersSeen,
        _inv.AckedWrites,
        _completedReads,
        _history.Count(h => h.IsPending),
        _crashes,
        _snapshotsInstalled,
        _membershipChanges,
        _duplicateApplies);

    /// <summary>The whole randomized run: random steps, then heal and check liveness, then check the clients' history.</summary>
    public SimulationReport Run()
    {
        for (var i = 0; i < _options.Steps; i++)
        {
            RandomStep();
        }

        AssertLiveness();
        CheckLinearizability();
        return Report();
    }

    private RaftConfig NodeConfig(ulong id, ulong applied) => new()
    {
        Id = id,
        ElectionTick = _options.ElectionTick,
        HeartbeatTick = _options.HeartbeatTick,
        Applied = applied,
        MaxSizePerMessage = _maxSizePerMessage,
        MaxInflightMessages = _maxInflight,
        PreVote = _options.PreVote,
        CheckQuorum = true,
        RandomSeed = _rng.Next(),
        AsyncStorageWrites = _async,
    };

    /// <summary>Starts (or restarts) a peer from what its disk holds, and nothing else.</summary>
    private void StartNode(SimPeer peer)
    {
        var snapshot = peer.Log.Snapshot();
        peer.Sm = KvStateMachine.Restore(snapshot);
        peer.ConfState = snapshot.Metadata.ConfState;
        peer.Incarnation++;
        peer.PendingReads.Clear();
        peer.CommitSeen = 0;
        peer.Led = (0, 0);
        peer.Writes.Clear();
        peer.Node = new RaftNode(NodeConfig(peer.Id, snapshot.Metadata.Index), peer.Log);
        if (!snapshot.IsEmpty)
        {
            _inv.AfterRestore(peer, snapshot);
        }

        ObserveStatus(peer);
    }

    private void ObserveStatus(SimPeer peer)
    {
        var status = peer.Node!.Status;
        if (_async)
        {
            CheckDurableMajority(peer, status);
        }

        peer.LastStatus = status;
        _inv.ObserveStatus(peer, status);
    }

    /// <summary>
    /// With asynchronous writes the leader's own entries count only once written: whenever a
    /// leader moves its commit index within its term, the entry there (of its term, as every entry
    /// a leader commits by counting) must already be on the disks of a majority of its voters.
    /// </summary>
    private void CheckDurableMajority(SimPeer peer, RaftStatus status)
    {
        if (status.Role != StateRole.Leader)
        {
            return;
        }

        if (peer.Led.Term == status.Term && status.Commit > peer.Led.Commit)
        {
            var index = status.Commit;
            var holding = status.ConfState.Voters.Count(v => _peers.TryGetValue(v, out var p) && Holds(p.Log, index, status.Term));
            if (holding < (status.ConfState.Voters.Length / 2) + 1)
            {
                throw new InvariantException($"durable majority: leader {peer.Id} of term {status.Term} commits {index}, which only {holding} of its {status.ConfState.Voters.Length} voters have on disk");
            }
        }

        peer.Led = (status.Term, status.Commit);

        static bool Holds(MemoryRaftLog log, ulong index, ulong term) =>
            index < log.FirstIndex() ? log.Snapshot().Metadata.Index >= index : index <= log.LastIndex() && log.Term(index) == term;
    }

    /// <summary>After every step: statuses (one leader per term, monotonic commit), client timeouts.</summary>
    private void AfterStep()
    {
        foreach (var peer in _peers.Values)
        {
            if (peer.IsUp)
            {
                ObserveStatus(peer);
            }
        }

        ExpireClientOps();
    }

    private void Record(string action)
    {
        if (_trace.Count == TraceLength)
        {
            _trace.Dequeue();
        }

        var line = string.Create(CultureInfo.InvariantCulture, $"#{_step} t{_ticks}: {action}");
        _trace.Enqueue(line);
        Log?.Invoke(line);
    }

    /// <summary>Runs one step's work; any broken invariant or core exception becomes a replayable violation.</summary>
    private void Guard(string what, Action action)
    {
        try
        {
            action();
        }
        catch (SimulationViolationException)
        {
            throw;
        }
        catch (Exception e)
        {
            var kind = e is InvariantException ? "invariant violated" : $"the core threw {e.GetType().Name}";
            throw new SimulationViolationException(Describe($"{kind} during {what}: {e.Message}"), e);
        }
    }

    private string Describe(string problem)
    {
        var peers = string.Join(
            Environment.NewLine,
            _peers.Values.Select(p => p.Retired ? $"  peer {p.Id}: retired"
                : !p.IsUp ? $"  peer {p.Id}: down, disk {Disk(p)}"
                : $"  peer {p.Id}: {p.LastStatus?.Role} term {p.LastStatus?.Term} lead {p.LastStatus?.Lead} commit {p.LastStatus?.Commit} applied {p.Sm.Applied} voters [{string.Join(",", p.ConfState.Voters)}], disk {Disk(p)}"));
        return $"""
            Raft simulation seed {Seed} ({_options.Peers} peers), step {_step}, tick {_ticks}: {problem}
            network: {_net.Describe()}, {_net.InFlight.Count} messages in flight
            {peers}
            last actions:
              {string.Join(Environment.NewLine + "  ", _trace)}
            replay: {ReplayCommand(Seed, _options.Peers, _options.ReplayTest)}
            """;

        static string Disk(SimPeer p) =>
            $"[{p.Log.FirstIndex()}..{p.Log.LastIndex()}] snap {p.Log.Snapshot().Metadata.Index} hs {p.DurableHardState.Term}/{p.DurableHardState.Vote}/{p.DurableHardState.Commit}";
    }

    public static string ReplayCommand(int seed, int peers, string? test = null) =>
        $"RAFT_SIM_SEED={seed} RAFT_SIM_PEERS={peers} dotnet test tests/ProtoSwarm.Raft.Tests --filter \"FullyQualifiedName~{test ?? $"RaftSimulationTests.Random_Seeds_With_{peers}_Peers"}\"";

    // ---- Ready handling: persist, send, apply, advance ----

    private void ProcessReady(SimPeer peer)
    {
        var node = peer.Node!;
        if (!node.HasReady())
        {
            return;
        }

        if (_async)
        {
            ProcessReadyAsync(peer);
            return;
        }

        var ready = node.GetReady();
        _inv.BeforePersist(peer, ready, node.Status);

        if (_options.Fault == HarnessFault.SendBeforePersist && ready.MustSync && _rng.Next(4) == 0)
        {
            foreach (var m in ready.Messages)
            {
                _net.Send(m, peer.Incarnation);
            }

            Record($"planted bug: {peer.Id} sent {ready.Messages.Length} messages, then crashed before its write was durable");
            CrashPeer(peer);
            return;
        }

        Write(peer, ready);
        SendAll(peer, ready.Messages);
        InstallSnapshot(peer, ready);
        ApplyAndServe(peer, ready, node.Advance);
    }

    /// <summary>
    /// As the manager's Raft actor runs the core with asynchronous writes: send what may go now,
    /// queue the write (it completes later, in order, in <see cref="CompleteWrite"/>, or is lost in
    /// a crash), and apply what is committed and already on disk.
    /// </summary>
    private void ProcessReadyAsync(SimPeer peer)
    {
        var node = peer.Node!;
        var ready = node.GetReady();
        var status = node.Status;

        if (_options.Fault == HarnessFault.SendBeforePersist && ready.HasWrite && _rng.Next(4) == 0)
        {
            foreach (var m in ready.Messages.AddRange(ready.MessagesAfterWrite))
            {
                _net.Send(m, peer.Incarnation);
            }

            Record($"planted bug: {peer.Id} sent {ready.Messages.Length + ready.MessagesAfterWrite.Length} messages, then crashed before its write was durable");
            CrashPeer(peer);
            return;
        }

        SendAll(peer, ready.Messages);
        if (ready.HasWrite)
        {
            peer.Writes.Enqueue((ready, status));
        }

        ApplyAndServe(peer, ready, node.ReportApplied);
    }

    /// <summary>One durable write of a Ready: snapshot, entries, hard state; then the checks that follow a write.</summary>
    private void Write(SimPeer peer, Ready ready)
    {
        if (ready.Snapshot is { IsEmpty: false } snapshot)
        {
            peer.Log.ApplySnapshot(snapshot);
        }

        if (!ready.Entries.IsDefaultOrEmpty)
        {
            peer.Log.Append(ready.Entries);
        }

        if (ready.HardState is { } hardState)
        {
            peer.Log.SetHardState(hardState);
        }

        _inv.AfterPersist(peer, ready);
    }

    /// <summary>The oldest write of <paramref name="peer"/> reaches its disk; the messages waiting for it go out.</summary>
    private void CompleteWrite(SimPeer peer)
    {
        var (ready, status) = peer.Writes.Dequeue();
        _inv.BeforePersist(peer, ready, status);
        Write(peer, ready);
        InstallSnapshot(peer, ready);
        peer.Node!.ReportPersisted(ready);
        SendAll(peer, ready.MessagesAfterWrite);
    }

    private void CompleteAllWrites(SimPeer peer)
    {
        while (peer.IsUp && peer.Writes.Count > 0)
        {
            CompleteWrite(peer);
        }
    }

    private void SendAll(SimPeer peer, System.Collections.Immutable.ImmutableArray<Message> messages)
    {
        _inv.BeforeSend(peer, messages);
        foreach (var m in messages)
        {
            if (m.Type is MessageType.Propose)
            {
                _proposalsForwarded = true;
            }

            _net.Send(m, peer.Incarnation);
        }
    }

    private void InstallSnapshot(SimPeer peer, Ready ready)
    {
        if (ready.Snapshot is { IsEmpty: false } installed)
        {
            peer.Sm = KvStateMachine.Restore(installed);
            peer.ConfState = installed.Metadata.ConfState;
            _snapshotsInstalled++;
            _inv.AfterRestore(peer, installed);
        }
    }

    private void ApplyAndServe(SimPeer peer, Ready ready, Action<Ready> done)
    {
        var retire = new List<ulong>();
        foreach (var entry in ready.CommittedEntries)
        {
            Apply(peer, entry, retire);
        }

        if (!ready.ReadStates.IsDefaultOrEmpty)
        {
            peer.PendingReads.AddRange(ready.ReadStates);
        }

        ServeReads(peer);
        done(ready);

        foreach (var id in retire)
        {
            Retire(_peers[id]);
        }
    }

    private void Apply(SimPeer peer, Entry entry, List<ulong> retire)
    {
        _inv.BeforeApply(peer, entry, _async);
        var (command, duplicate) = peer.Sm.Apply(entry);
        if (entry.Type == EntryType.ConfChange && entry.Data.Length > 0)
        {
            var change = ConfChange.FromBytes(entry.Data);
            peer.ConfState = peer.Node!.ApplyConfChange(change);
            if (change.Type == ConfChangeType.RemoveVoter && _peers.TryGetValue(change.NodeId, out var removed) && !removed.Retired)
            {
                retire.Add(change.NodeId);
            }
        }
        else if (command is { } c)
        {
            if (_refusedProposals.Contains(c.OpId))
            {
                throw new InvariantException($"proposal refused: peer {peer.Id} applies operation {c.OpId} at {entry.Index}, whose Propose returned false");
            }

            if (duplicate && !_proposalsForwarded)
            {
                throw new InvariantException($"proposed once, applied twice: peer {peer.Id} applies operation {c.OpId} again at {entry.Index}");
            }

            if (duplicate)
            {
                // A forwarded proposal the network duplicated is appended twice: the application dedupes by operation id.
                _duplicateApplies++;
            }
            else
            {
                CompleteWrite(peer, c, entry.Index);
            }
        }

        _inv.AfterApply(peer, entry);
    }

    private void Retire(SimPeer peer)
    {
        Record($"retire {peer.Id} (removed from the membership)");
        peer.Retired = true;
        peer.Node = null;
        _inv.Forget(peer);
        AbandonClientOpsOn(peer.Id);
    }

    // ---- Network ----

    private void Deliver(Envelope envelope)
    {
        var m = envelope.Message;
        _net.InFlight.Remove(envelope);
        _peers.TryGetValue(m.From, out var from);
        var senderSameLife = from is { IsUp: true } && from.Incarnation == envelope.SenderIncarnation;
        if (!_peers.TryGetValue(m.To, out var to) || !to.IsUp || !_net.Connected(m.From, m.To))
        {
            if (senderSameLife)
            {
                if (m.Type == MessageType.Snapshot)
                {
                    from!.Node!.ReportSnapshot(m.To, false);
                }

                from!.Node!.ReportUnreachable(m.To);
            }

            return;
        }

        to.Node!.Step(m);
        if (m.Type == MessageType.Snapshot && senderSameLife)
        {
            from!.Node!.ReportSnapshot(m.To, true);
        }
    }

    private void Drop(Envelope envelope)
    {
        _net.InFlight.Remove(envelope);
        var m = envelope.Message;
        if (m.Type == MessageType.Snapshot && _peers.TryGetValue(m.From, out var from) && from.IsUp && from.Incarnation == envelope.SenderIncarnation)
        {
            from.Node!.ReportSnapshot(m.To, false);
        }
    }

    private static string Show(Message m) =>
        string.Create(CultureInfo.InvariantCulture, $"{m.Type} {m.From}->{m.To} t{m.Term} i{m.Index}/{m.LogTerm} n{(m.Entries.IsDefault ? 0 : m.Entries.Length)} c{m.Commit}{(m.Reject ? " reject" : "")}");

    // ---- Crashes ----

    public void Crash(ulong id) => Guard($"crash {id}", () =>
    {
        _step++;
        var peer = _peers[id];
        Record($"crash {id}");
        CrashPeer(peer);
        AfterStep();
    });

    public void Restart(ulong id) => Guard($"restart {id}", () =>
    {
        _step++;
        var peer = _peers[id];
        Record($"restart {id}");
        StartNode(peer);
        AfterStep();
    });

    private void CrashPeer(SimPeer peer)
    {
        // Whatever the node held in memory and had not yet handed out in a finished Ready is gone.
        peer.Node = null;
        peer.Writes.Clear();
        PlantCrashFaults(peer);
        peer.PendingReads.Clear();
        _crashes++;
        _inv.Forget(peer);
        AbandonClientOpsOn(peer.Id);
    }

    private void PlantCrashFaults(SimPeer peer)
    {
        var hs = peer.Log.HardState;
        if (_options.Fault == HarnessFault.ForgetVoteOnCrash && hs.Vote != 0)
        {
            peer.Log.SetHardState(hs with { Vote = 0 });
            Record($"planted bug: {peer.Id} forgot its vote for {hs.Vote} in term {hs.Term}");
        }

        if (_options.Fault == HarnessFault.DiskLosesTailOnCrash && peer.Log.LastIndex() > peer.Log.Snapshot().Metadata.Index + 1)
        {
            var snapshot = peer.Log.Snapshot();
            var keepTo = peer.Log.LastIndex() - 2;
            var lost = new MemoryRaftLog();
            var from = snapshot.Metadata.Index + 1;
            if (!snapshot.IsEmpty)
            {
                lost.ApplySnapshot(snapshot);
            }
            else
            {
                from = 1;
            }

            if (keepTo >= from)
            {
                lost.Append(peer.Log.Entries(from, keepTo + 1, ulong.MaxValue));
            }

            lost.SetHardState(hs with { Commit = Math.Min(hs.Commit, Math.Max(lost.LastIndex(), snapshot.Metadata.Index)) });
            peer.Log = lost;
            Record($"planted bug: {peer.Id} lost its log after {keepTo}");
        }
    }
}
