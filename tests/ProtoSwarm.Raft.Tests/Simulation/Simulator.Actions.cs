using System.Globalization;

namespace ProtoSwarm.Raft.Tests.Simulation;

public sealed partial class Simulator
{
    private enum SimAction
    {
        TickAll,
        TickOne,
        Deliver,
        DeliverAny,
        Drop,
        Duplicate,
        Delay,
        ReadyOne,
        ReadyAll,
        CompleteWrite,
        CompleteWrites,
        Partition,
        Heal,
        Crash,
        Restart,
        Write,
        Read,
        Membership,
        Snapshot,
        Transfer,
    }

    private (SimAction Action, int Weight)[]? _weights;
    private int _totalWeight;

    private (SimAction Action, int Weight)[] Weights()
    {
        if (_weights is null)
        {
            var o = _options;
            // Tenths: tuned so a seed of a few hundred steps sees several election timeouts, a
            // crash or a partition about every other seed, and a steady stream of client operations.
            _weights =
            [
                (SimAction.TickAll, 120),
                (SimAction.TickOne, 10),
                (SimAction.Deliver, 300),
                (SimAction.DeliverAny, o.MessageFaults ? 30 : 0),
                (SimAction.Drop, o.MessageFaults ? 10 : 0),
                (SimAction.Duplicate, o.MessageFaults ? 10 : 0),
                (SimAction.Delay, o.MessageFaults ? 10 : 0),
                (SimAction.ReadyOne, 80),
                (SimAction.ReadyAll, 140),
                (SimAction.CompleteWrite, _async ? 80 : 0),
                (SimAction.CompleteWrites, _async ? 100 : 0),
                (SimAction.Partition, o.Partitions ? 4 : 0),
                (SimAction.Heal, o.Partitions ? 10 : 0),
                (SimAction.Crash, o.Crashes ? 3 : 0),
                (SimAction.Restart, o.Crashes ? 15 : 0),
                (SimAction.Write, o.ClientOps ? 80 : 0),
                (SimAction.Read, o.ClientOps ? 50 : 0),
                (SimAction.Membership, o.Membership ? 3 : 0),
                (SimAction.Snapshot, o.Snapshots ? 10 : 0),
                (SimAction.Transfer, o.Transfers ? 3 : 0),
            ];
            _totalWeight = _weights.Sum(w => w.Weight);
        }

        return _weights;
    }

    /// <summary>One random action, then the after-step checks.</summary>
    public void RandomStep()
    {
        var weights = Weights();
        var pick = _rng.Next(_totalWeight);
        var action = SimAction.TickAll;
        foreach (var (a, w) in weights)
        {
            if (pick < w)
            {
                action = a;
                break;
            }

            pick -= w;
        }

        GuardStep(action.ToString(), () =>
        {
            Do(action);
            return true;
        });
    }

    private T GuardStep<T>(string what, Func<T> action)
    {
        var result = default(T)!;
        Guard(what, () =>
        {
            _step++;
            result = action();
            AfterStep();
        });
        return result;
    }

    private void Do(SimAction action)
    {
        switch (action)
        {
            case SimAction.TickAll:
                TickAllNodes();
                break;
            case SimAction.TickOne:
                if (RandomUpPeer() is { } ticked)
                {
                    Record($"tick {ticked.Id}");
                    ticked.Node!.Tick();
                }

                break;
            case SimAction.Deliver:
                DeliverFront(_rng.Next(1, 9));
                break;
            case SimAction.DeliverAny:
                if (RandomEligible() is { } any)
                {
                    Record($"deliver out of order {Show(any.Message)}");
                    Deliver(any);
                }

                break;
            case SimAction.Drop:
                if (RandomEligible() is { } dropped)
                {
                    Record($"drop {Show(dropped.Message)}");
                    Drop(dropped);
                }

                break;
            case SimAction.Duplicate:
                if (RandomEligible() is { } copied)
                {
                    Record($"duplicate {Show(copied.Message)}");
                    _net.Duplicate(copied);
                }

                break;
            case SimAction.Delay:
                if (RandomEligible() is { } delayed)
                {
                    delayed.NotBefore = _step + _rng.Next(5, 60);
                    Record($"delay {Show(delayed.Message)} until step {delayed.NotBefore}");
                }

                break;
            case SimAction.ReadyOne:
                if (RandomUpPeer() is { } readied)
                {
                    Record($"ready {readied.Id}");
                    ProcessReady(readied);
                }

                break;
            case SimAction.CompleteWrite:
                if (RandomUpPeer() is { Writes.Count: > 0 } writer)
                {
                    Record($"write done {writer.Id}");
                    CompleteWrite(writer);
                }

                break;
            case SimAction.CompleteWrites:
                Record("writes done");
                foreach (var p in UpPeers())
                {
                    CompleteAllWrites(p);
                }

                break;
            case SimAction.ReadyAll:
                Record("ready all");
                foreach (var p in UpPeers())
                {
                    if (p.IsUp)
                    {
                        ProcessReady(p);
                    }
                }

                break;
            case SimAction.Partition:
                RandomPartition();
                break;
            case SimAction.Heal:
                Record("heal");
                _net.Heal();
                break;
            case SimAction.Crash:
                // Mostly a minority down at once; now and then the whole quorum.
                var downCount = _peers.Values.Count(p => !p.Retired && p.Node is null);
                if ((downCount < (_options.Peers - 1) / 2 || _rng.Next(5) == 0) && RandomUpPeer() is { } crashed)
                {
                    Record($"crash {crashed.Id}");
                    CrashPeer(crashed);
                }

                break;
            case SimAction.Restart:
                var down = _peers.Values.Where(p => !p.Retired && p.Node is null).ToList();
                if (down.Count > 0)
                {
                    var restarted = down[_rng.Next(down.Count)];
                    Record($"restart {restarted.Id}");
                    StartNode(restarted);
                }

                break;
            case SimAction.Write:
                RandomClientOp(read: false);
                break;
            case SimAction.Read:
                RandomClientOp(read: true);
                break;
            case SimAction.Membership:
                RandomMembershipChange();
                break;
            case SimAction.Snapshot:
                if (RandomUpPeer() is { } snapped)
                {
                    TakeSnapshot(snapped, _rng.Next(0, 6));
                }

                break;
            case SimAction.Transfer:
                if (LeaderPeer() is { } leader)
                {
                    var others = leader.ConfState.Voters.Where(v => v != leader.Id).ToList();
                    if (others.Count > 0)
                    {
                        var to = others[_rng.Next(others.Count)];
                        Record($"transfer leadership {leader.Id} -> {to}");
                        leader.Node!.TransferLeadership(to);
                    }
                }

                break;
            default:
                throw new InvalidOperationException(action.ToString());
        }
    }

    private List<SimPeer> UpPeers() => [.. _peers.Values.Where(p => p.IsUp)];

    private SimPeer? RandomUpPeer()
    {
        var up = UpPeers();
        return up.Count == 0 ? null : up[_rng.Next(up.Count)];
    }

    private SimPeer? LeaderPeer() => Leader is { } id ? _peers[id] : null;

    private Envelope? RandomEligible()
    {
        var eligible = _net.InFlight.Where(e => e.NotBefore <= _step).ToList();
        return eligible.Count == 0 ? null : eligible[_rng.Next(eligible.Count)];
    }

    private void TickAllNodes()
    {
        _ticks++;
        Record("tick all");
        foreach (var p in UpPeers())
        {
            p.Node!.Tick();
        }
    }

    private void DeliverFront(int count)
    {
        var batch = new List<Envelope>(count);
        foreach (var e in _net.InFlight)
        {
            if (e.NotBefore <= _step)
            {
                batch.Add(e);
                if (batch.Count == count)
                {
                    break;
                }
            }
        }

        foreach (var e in batch)
        {
            Record($"deliver {Show(e.Message)}");
            Deliver(e);
        }
    }

    private void RandomPartition()
    {
        var ids = _peers.Values.Where(p => !p.Retired).Select(p => p.Id).ToList();
        var groups = new SortedDictionary<ulong, int>();
        if (LeaderPeer() is { } leader && _rng.Next(3) == 0)
        {
            // The classic: the leader alone on one side.
            foreach (var id in ids)
            {
                groups[id] = id == leader.Id ? 1 : 0;
            }
        }
        else
        {
            var count = _rng.Next(4) == 0 ? 3 : 2;
            foreach (var id in ids)
            {
                groups[id] = _rng.Next(count);
            }
        }

        _net.Partition(groups);
        Record($"partition {_net.Describe()}");
    }

    private void RandomMembershipChange()
    {
        if (LeaderPeer() is not { } leader)
        {
            return;
        }

        var voters = leader.ConfState.Voters;
        var canAdd = voters.Length < _options.Peers + 1 && _nextId <= (ulong)_options.Peers + 6;
        var canRemove = voters.Length > 3;
        if (canAdd && (!canRemove || _rng.Next(2) == 0))
        {
            AddPeer(leader);
        }
        else if (canRemove)
        {
            var others = voters.Where(v => v != leader.Id).ToList();
            RemovePeer(leader, others[_rng.Next(others.Count)]);
        }
    }

    private ulong? AddPeer(SimPeer leader)
    {
        var id = _nextId++;
        var joiner = new SimPeer(id, new MemoryRaftLog());
        _peers.Add(id, joiner);
        StartNode(joiner);
        if (!leader.Node!.ProposeConfChange(new ConfChange(ConfChangeType.AddVoter, id, string.Create(CultureInfo.InvariantCulture, $"peer-{id}"))))
        {
            Record($"add {id} via {leader.Id}: refused");
            _peers.Remove(id);
            return null;
        }

        _membershipChanges++;
        Record($"add {id} via {leader.Id}");
        return id;
    }

    private bool RemovePeer(SimPeer leader, ulong id)
    {
        var ok = leader.Node!.ProposeConfChange(new ConfChange(ConfChangeType.RemoveVoter, id, ""));
        Record($"remove {id} via {leader.Id}{(ok ? "" : ": refused")}");
        if (ok)
        {
            _membershipChanges++;
        }

        return ok;
    }

    /// <summary>The application's own snapshot at its applied index, then compaction keeping <paramref name="keep"/> entries before it.</summary>
    private void TakeSnapshot(SimPeer peer, int keep)
    {
        var applied = peer.Sm.Applied;
        if (applied <= peer.Log.Snapshot().Metadata.Index)
        {
            return;
        }

        peer.Log.CreateSnapshot(applied, peer.ConfState, peer.Sm.Serialize());
        var compactTo = applied > (ulong)keep ? applied - (ulong)keep : 0;
        var placeholder = peer.Log.FirstIndex() - 1;
        if (compactTo > placeholder)
        {
            peer.Log.Compact(compactTo);
        }

        Record($"snapshot {peer.Id} at {applied}, log now [{peer.Log.FirstIndex()}..{peer.Log.LastIndex()}]");
    }

    // ---- Scripted primitives for targeted scenarios (each is one checked step) ----

    public void TickAll(int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            GuardStep("tick all", () =>
            {
                TickAllNodes();
                return true;
            });
        }
    }

    /// <summary>Ticks once, then lets every Ready and message settle (a healthy network between ticks).</summary>
    public void Round(int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            GuardStep("round", () =>
            {
                TickAllNodes();
                Settle();
                return true;
            });
        }
    }

    /// <summary>Processes Readies and delivers messages (partitions still apply) until nothing moves.</summary>
    private void Settle()
    {
        for (var iteration = 0; iteration < 200; iteration++)
        {
            var moved = false;
            foreach (var p in UpPeers())
            {
                for (var n = 0; n < 10 && p.IsUp && p.Node!.HasReady(); n++)
                {
                    ProcessReady(p);
                    moved = true;
                }

                if (p.IsUp && p.Writes.Count > 0)
                {
                    CompleteAllWrites(p);
                    moved = true;
                }
            }

            var batch = _net.InFlight.Where(e => e.NotBefore <= _step).ToList();
            foreach (var e in batch)
            {
                Record($"deliver {Show(e.Message)}");
                Deliver(e);
                moved = true;
            }

            if (!moved)
            {
                return;
            }
        }
    }

    public void Partition(params ulong[][] groups) => GuardStep("partition", () =>
    {
        var map = new SortedDictionary<ulong, int>();
        for (var g = 0; g < groups.Length; g++)
        {
            foreach (var id in groups[g])
            {
                map[id] = g;
            }
        }

        _net.Partition(map);
        Record($"partition {_net.Describe()}");
        return true;
    });

    public void Heal() => GuardStep("heal", () =>
    {
        _net.Heal();
        Record("heal");
        return true;
    });

    /// <summary>Runs rounds until a leader exists; returns it, or throws a violation after <paramref name="maxRounds"/>.</summary>
    public ulong WaitForLeader(int maxRounds = 200)
    {
        for (var i = 0; i < maxRounds; i++)
        {
            if (Leader is { } id)
            {
                return id;
            }

            Round();
        }

        throw new SimulationViolationException(Describe($"liveness: no leader after {maxRounds} rounds"));
    }

    /// <summary>Handles one Ready of peer <paramref name="id"/>, if it has one.</summary>
    public void Ready(ulong id) => GuardStep($"ready {id}", () =>
    {
        Record($"ready {id}");
        ProcessReady(_peers[id]);
        CompleteAllWrites(_peers[id]);
        return true;
    });

    /// <summary>Delivers every message now in flight (partitions and crashes still drop), and nothing sent meanwhile.</summary>
    public void DeliverAll() => GuardStep("deliver all", () =>
    {
        foreach (var e in _net.InFlight.Where(e => e.NotBefore <= _step).ToList())
        {
            Record($"deliver {Show(e.Message)}");
            Deliver(e);
        }

        return true;
    });

    /// <summary>Peer <paramref name="id"/> starts an election now.</summary>
    public void Campaign(ulong id) => GuardStep($"campaign {id}", () =>
    {
        Record($"campaign {id}");
        _peers[id].Node!.Campaign();
        return true;
    });

    public ulong? AddMember() => GuardStep("add member", () => LeaderPeer() is { } l ? AddPeer(l) : null);

    public bool RemoveMember(ulong id) => GuardStep($"remove {id}", () => LeaderPeer() is { } l && RemovePeer(l, id));

    public void Snapshot(ulong id, int keep) => GuardStep($"snapshot {id}", () =>
    {
        TakeSnapshot(_peers[id], keep);
        return true;
    });

    public void TransferLeadership(ulong to) => GuardStep($"transfer to {to}", () =>
    {
        if (LeaderPeer() is { } l)
        {
            Record($"transfer leadership {l.Id} -> {to}");
            l.Node!.TransferLeadership(to);
        }

        return true;
    });

    /// <summary>Runs rounds until <paramref name="condition"/> holds; a violation after <paramref name="maxRounds"/>.</summary>
    public void RunUntil(Func<bool> condition, int maxRounds, string what)
    {
        for (var i = 0; i < maxRounds; i++)
        {
            if (condition())
            {
                return;
            }

            Round();
        }

        if (!condition())
        {
            throw new SimulationViolationException(Describe($"liveness: {what} did not happen within {maxRounds} rounds"));
        }
    }

    // ---- Liveness ----

    /// <summary>
    /// Heals everything (network, crashed peers, delays), then requires a leader and an applied
    /// proposal within the configured number of election timeouts, and the proposal applied on
    /// every voter within as many again.
    /// </summary>
    public void AssertLiveness()
    {
        GuardStep("heal all", () =>
        {
            Record("heal all: network healed, crashed peers restarted, delays lifted");
            _net.Heal();
            foreach (var e in _net.InFlight)
            {
                e.NotBefore = 0;
            }

            foreach (var p in _peers.Values.Where(p => !p.Retired && p.Node is null))
            {
                StartNode(p);
            }

            return true;
        });

        var bound = _options.LivenessElectionTimeouts * _options.ElectionTick;
        long probe = 0;
        SimPeer? prober = null;
        ulong proberTerm = 0;
        var rounds = 0;
        for (; rounds < bound; rounds++)
        {
            if (prober is not null && prober.IsUp && prober.Sm.HasApplied(probe))
            {
                break;
            }

            // A probe taken by a leader that since lost its term may be gone: propose again to whoever leads now.
            if ((prober is null || !prober.IsLeader || prober.LastStatus!.Term != proberTerm) && LeaderPeer() is { } leader)
            {
                probe = ++_nextOpId;
                if (leader.Node!.Propose(new KvCommand(probe, KvCommand.Probe, "", "").Encode()))
                {
                    Record($"liveness probe op {probe} via {leader.Id} in term {leader.LastStatus!.Term}");
                    prober = leader;
                    proberTerm = leader.LastStatus!.Term;
                }
            }

            Round();
        }

        if (prober is null || !prober.Sm.HasApplied(probe))
        {
            throw new SimulationViolationException(Describe(prober is null
                ? $"liveness: no leader took a proposal within {bound} ticks after healing"
                : $"liveness: proposal {probe} via leader {prober.Id} not applied within {bound} ticks after healing"));
        }

        var voters = prober.ConfState.Voters;
        for (var i = 0; i < bound; i++)
        {
            if (voters.All(v => _peers.TryGetValue(v, out var p) && (!p.IsUp || p.Sm.HasApplied(probe))))
            {
                return;
            }

            Round();
        }

        var behind = voters.Where(v => _peers.TryGetValue(v, out var p) && p.IsUp && !p.Sm.HasApplied(probe));
        throw new SimulationViolationException(Describe($"liveness: voters {string.Join(",", behind)} did not apply proposal {probe} within {bound} ticks of its commit"));
    }
}
