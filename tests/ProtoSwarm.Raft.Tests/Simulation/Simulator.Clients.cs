using System.Buffers.Binary;
using System.Globalization;
using ProtoSwarm.Raft.Tests.Simulation.Linearizability;

namespace ProtoSwarm.Raft.Tests.Simulation;

public sealed partial class Simulator
{
    private readonly ClientOp?[] _clients;
    private readonly Dictionary<long, ClientOp> _outstanding = [];
    private readonly HashSet<long> _refusedProposals = [];
    private readonly List<TimedOperation<KvOperation>> _history = [];
    private long _nextOpId;
    private long _clock;
    private int _completedReads;

    /// <summary>A client's one outstanding operation, sent to one peer in one of its lives.</summary>
    private sealed record ClientOp(long OpId, int Client, KvOpKind Kind, string Key, string Value, long Call, ulong Peer, int Incarnation, int DeadlineTick);

    public IReadOnlyList<TimedOperation<KvOperation>> History => _history;

    /// <summary>A client writes (put or append) through <paramref name="peer"/>; false if the peer refused the proposal.</summary>
    public bool ClientWrite(int client, ulong peer, KvOpKind kind, string key) => GuardStep($"client {client} {kind} {key} via {peer}", () => StartWrite(client, peer, kind, key));

    /// <summary>A client reads through <paramref name="peer"/> with ReadIndex.</summary>
    public void ClientRead(int client, ulong peer, string key) => GuardStep($"client {client} get {key} via {peer}", () =>
    {
        StartRead(client, peer, key);
        return true;
    });

    public bool ClientIdle(int client) => _clients[client] is null;

    private bool StartWrite(int client, ulong peerId, KvOpKind kind, string key)
    {
        var peer = _peers[peerId];
        if (_clients[client] is not null || !peer.IsUp)
        {
            return false;
        }

        var opId = ++_nextOpId;
        var value = string.Create(CultureInfo.InvariantCulture, $"{(kind == KvOpKind.Append ? "a" : "p")}{opId};");
        var command = new KvCommand(opId, kind, key, value);
        if (!peer.Node!.Propose(command.Encode()))
        {
            // Refused outright: it never happened, so it is not part of the history (and must never be applied).
            _refusedProposals.Add(opId);
            Record($"client {client} {kind}({key}, {value}) op {opId} via {peerId}: refused");
            return false;
        }

        Record($"client {client} {kind}({key}, {value}) op {opId} via {peerId}");
        Begin(new ClientOp(opId, client, kind, key, value, ++_clock, peerId, peer.Incarnation, _ticks + _options.ClientTimeoutTicks));
        return true;
    }

    private void StartRead(int client, ulong peerId, string key)
    {
        var peer = _peers[peerId];
        if (_clients[client] is not null || !peer.IsUp)
        {
            return;
        }

        var opId = ++_nextOpId;
        var context = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(context, opId);
        Record($"client {client} get({key}) op {opId} via {peerId}");
        Begin(new ClientOp(opId, client, KvOpKind.Get, key, "", ++_clock, peerId, peer.Incarnation, _ticks + _options.ClientTimeoutTicks));
        if (_options.Fault == HarnessFault.StaleReads)
        {
            peer.PendingReads.Add(new ReadState(0, context));
            ServeReads(peer);
            return;
        }

        peer.Node!.ReadIndex(context);
    }

    private void Begin(ClientOp op)
    {
        _clients[op.Client] = op;
        _outstanding[op.OpId] = op;
    }

    private void Finish(ClientOp op, long returned, string? output, bool unknown)
    {
        _clients[op.Client] = null;
        _outstanding.Remove(op.OpId);
        _history.Add(new TimedOperation<KvOperation>(new KvOperation(op.Client, op.Kind, op.Key, op.Value, output, unknown), op.Call, returned));
    }

    /// <summary>The write was applied by the peer its client is talking to: the client hears "done".</summary>
    private void CompleteWrite(SimPeer peer, KvCommand command, ulong index)
    {
        if (!_outstanding.TryGetValue(command.OpId, out var op) || op.Peer != peer.Id || op.Incarnation != peer.Incarnation)
        {
            return;
        }

        Record($"client {op.Client} op {op.OpId} acknowledged at {index} by {peer.Id}");
        Finish(op, ++_clock, null, unknown: false);
        _inv.Acknowledged(op.OpId, index, _peers.Values);
    }

    /// <summary>Reads whose ReadState index the state machine has reached are answered from it.</summary>
    private void ServeReads(SimPeer peer)
    {
        for (var i = 0; i < peer.PendingReads.Count; i++)
        {
            var rs = peer.PendingReads[i];
            if (rs.Index > peer.Sm.Applied)
            {
                continue;
            }

            peer.PendingReads.RemoveAt(i--);
            if (rs.RequestContext is not { Length: 8 })
            {
                throw new InvariantException($"read index: peer {peer.Id} returned a read state with a context of {rs.RequestContext?.Length} bytes, not the 8 it was given");
            }

            var opId = BinaryPrimitives.ReadInt64LittleEndian(rs.RequestContext);
            if (_outstanding.TryGetValue(opId, out var op) && op.Kind == KvOpKind.Get && op.Peer == peer.Id && op.Incarnation == peer.Incarnation)
            {
                var value = peer.Sm.Get(op.Key);
                Record($"client {op.Client} get({op.Key}) op {opId} = '{value}' at read index {rs.Index} on {peer.Id}");
                _completedReads++;
                Finish(op, ++_clock, value, unknown: false);
            }
        }
    }

    private void ExpireClientOps()
    {
        foreach (var op in _clients)
        {
            if (op is not null && _ticks > op.DeadlineTick)
            {
                Record($"client {op.Client} op {op.OpId} timed out");
                Finish(op, long.MaxValue, null, unknown: true);
            }
        }
    }

    private void AbandonClientOpsOn(ulong peerId)
    {
        foreach (var op in _clients)
        {
            if (op is not null && op.Peer == peerId)
            {
                Finish(op, long.MaxValue, null, unknown: true);
            }
        }
    }

    /// <summary>Ends every outstanding operation as pending and checks the history against a sequential key/value store.</summary>
    public void CheckLinearizability() => Guard("linearizability check", () =>
    {
        foreach (var op in _clients)
        {
            if (op is not null)
            {
                Finish(op, long.MaxValue, null, unknown: true);
            }
        }

        var result = KvModel.Check(_history);
        if (!result.IsLinearizable)
        {
            throw new InvariantException($"linearizability: {KvModel.Describe(result)}");
        }
    });

    private void RandomClientOp(bool read)
    {
        var client = _rng.Next(_clients.Length);
        if (_clients[client] is not null)
        {
            Record($"client {client} busy");
            return;
        }

        var up = _peers.Values.Where(p => p.IsUp).ToList();
        if (up.Count == 0)
        {
            return;
        }

        var leaders = up.Where(p => p.IsLeader).ToList();
        var target = leaders.Count > 0 && _rng.Next(5) > 0 ? leaders[_rng.Next(leaders.Count)] : up[_rng.Next(up.Count)];
        var key = string.Create(CultureInfo.InvariantCulture, $"k{_rng.Next(_options.Keys)}");
        if (read)
        {
            StartRead(client, target.Id, key);
        }
        else
        {
            StartWrite(client, target.Id, _rng.Next(2) == 0 ? KvOpKind.Put : KvOpKind.Append, key);
        }
    }
}
