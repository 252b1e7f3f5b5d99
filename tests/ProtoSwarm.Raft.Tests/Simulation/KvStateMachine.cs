using ProtoSwarm.Raft.Tests.Simulation.Linearizability;

namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>A client command as it travels in an entry: which operation, on which key, with which value.</summary>
internal readonly record struct KvCommand(long OpId, KvOpKind Kind, string Key, string Value)
{
    /// <summary>An operation id no client uses: the liveness probe's commands.</summary>
    public const KvOpKind Probe = (KvOpKind)99;

    public byte[] Encode()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write((byte)Kind);
            writer.Write(OpId);
            writer.Write(Key);
            writer.Write(Value);
        }

        return stream.ToArray();
    }

    public static KvCommand Decode(byte[] data)
    {
        using var reader = new BinaryReader(new MemoryStream(data));
        var kind = (KvOpKind)reader.ReadByte();
        var opId = reader.ReadInt64();
        return new KvCommand(opId, kind, reader.ReadString(), reader.ReadString());
    }
}

/// <summary>
/// A peer's replicated key/value state machine. It is volatile, as the manager's store is: a restart
/// rebuilds it from the durable snapshot and replays the log. Its digest chains every applied entry,
/// so two peers that applied the same entries at the same indices have the same digest.
/// </summary>
internal sealed class KvStateMachine
{
    private readonly SortedDictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<long> _appliedOps = [];

    public ulong Applied { get; private set; }

    public ulong Digest { get; private set; }

    public string Get(string key) => _values.TryGetValue(key, out var v) ? v : "";

    public bool HasApplied(long opId) => _appliedOps.Contains(opId);

    /// <summary>Applies entry <paramref name="entry"/>; returns the command, and whether its operation was already applied (a duplicate).</summary>
    public (KvCommand? Command, bool Duplicate) Apply(Entry entry)
    {
        Applied = entry.Index;
        Digest = Chain(Digest, entry);
        if (entry.Type != EntryType.Normal || entry.Data.Length == 0)
        {
            return (null, false);
        }

        var command = KvCommand.Decode(entry.Data);
        if (!_appliedOps.Add(command.OpId))
        {
            return (command, true);
        }

        switch (command.Kind)
        {
            case KvOpKind.Put:
                _values[command.Key] = command.Value;
                break;
            case KvOpKind.Append:
                _values[command.Key] = Get(command.Key) + command.Value;
                break;
            default:
                break;
        }

        return (command, false);
    }

    public byte[] Serialize()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(Applied);
            writer.Write(Digest);
            writer.Write(_values.Count);
            foreach (var (k, v) in _values)
            {
                writer.Write(k);
                writer.Write(v);
            }

            var ops = _appliedOps.Order().ToList();
            writer.Write(ops.Count);
            foreach (var op in ops)
            {
                writer.Write(op);
            }
        }

        return stream.ToArray();
    }

    /// <summary>The state machine a snapshot holds; an empty snapshot (bootstrap) is the empty machine at its index.</summary>
    public static KvStateMachine Restore(Snapshot snapshot)
    {
        var sm = new KvStateMachine();
        if (snapshot.Data.Length == 0)
        {
            sm.Applied = snapshot.Metadata.Index;
            return sm;
        }

        using var reader = new BinaryReader(new MemoryStream(snapshot.Data));
        sm.Applied = reader.ReadUInt64();
        sm.Digest = reader.ReadUInt64();
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var k = reader.ReadString();
            sm._values[k] = reader.ReadString();
        }

        var ops = reader.ReadInt32();
        for (var i = 0; i < ops; i++)
        {
            sm._appliedOps.Add(reader.ReadInt64());
        }

        if (sm.Applied != snapshot.Metadata.Index)
        {
            throw new InvalidOperationException($"snapshot data is of index {sm.Applied} but its metadata says {snapshot.Metadata.Index}");
        }

        return sm;
    }

    private static ulong Chain(ulong digest, Entry entry)
    {
        // FNV-1a over (previous digest, index, term, type, data): cheap, deterministic, good enough to tell entries apart.
        const ulong Prime = 1099511628211;
        var h = 14695981039346656037 ^ digest;
        h = (h ^ entry.Index) * Prime;
        h = (h ^ entry.Term) * Prime;
        h = (h ^ (ulong)entry.Type) * Prime;
        foreach (var b in entry.Data)
        {
            h = (h ^ b) * Prime;
        }

        return h;
    }
}
