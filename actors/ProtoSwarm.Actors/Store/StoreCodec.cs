using System.Buffers;
using System.Collections.Immutable;
using MessagePack;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Store;

/// <summary>
/// A proposal as it travels in the Raft log: who proposed it (to answer them), the changes, and the
/// time its objects are stamped with (UTC ticks), chosen once by the proposer so that every replica,
/// and every replay of the log after a restart, gives an object the same CreatedAt and UpdatedAt.
/// 0 (an entry written before the time travelled in it): the applier's clock, as then.
/// </summary>
[MessagePackObject]
public sealed record StoreProposal(
    [property: Key(0)] string ProposalId,
    [property: Key(1)] ImmutableArray<WireChange> Changes,
    [property: Key(2)] long ProposedAtTicks = 0);

/// <summary>One <see cref="StoreChange"/> on the wire: 0 create, 1 update, 2 delete; the object as contract name + bytes.</summary>
[MessagePackObject]
public sealed record WireChange(
    [property: Key(0)] int Action,
    [property: Key(1)] string Kind,
    [property: Key(2)] string Id,
    [property: Key(3)] ulong ExpectedVersion,
    [property: Key(4)] string? Type,
    [property: Key(5)] byte[]? Payload);

/// <summary>The whole store at an index, as a Raft snapshot's data.</summary>
[MessagePackObject]
public sealed record StoreSnapshotData(
    [property: Key(0)] ulong Index,
    [property: Key(1)] ImmutableArray<WireChange> Objects);

/// <summary>Turns store changes and states into bytes for the Raft log and snapshots, and back.</summary>
public static class StoreCodec
{
    // Buffers a thread reuses for the proposals it encodes; dropped when one was unusually large.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_proposal;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_payload;

    // Kinds and contract names, read again and again from entries: one string each, not one per entry.
    private static volatile (byte[] Utf8, string Value)[] s_names = [];

    /// <summary>
    /// The same bytes as serializing a <see cref="StoreProposal"/>, written straight to a reused
    /// buffer: no <see cref="WireChange"/>, payload array or list per change. <paramref name="proposedAt"/>
    /// is the time the applied objects get as CreatedAt/UpdatedAt on every replica (9 bytes more).
    /// </summary>
    public static byte[] EncodeProposal(string proposalId, IReadOnlyList<StoreChange> changes, DateTimeOffset proposedAt)
    {
        var output = t_proposal ??= new ArrayBufferWriter<byte>(1024);
        var payload = t_payload ??= new ArrayBufferWriter<byte>(1024);
        output.ResetWrittenCount();
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(3);
        writer.Write(proposalId);
        writer.WriteArrayHeader(changes.Count);
        for (var i = 0; i < changes.Count; i++)
        {
            var (action, expected, obj) = changes[i] switch
            {
                CreateObject c => (0, 0UL, c.Object),
                UpdateObject u => (1, u.ExpectedVersion, u.Object),
                DeleteObject d => (2, d.ExpectedVersion, (IStoreObject?)null),
                ExpectObject e => (3, e.ExpectedVersion, (IStoreObject?)null),
                var other => throw new ArgumentException($"Unknown store change {other.GetType().Name}", nameof(changes)),
            };

            // WireChange(Action, Kind, Id, ExpectedVersion, Type, Payload), as its formatter writes it.
            writer.WriteArrayHeader(6);
            writer.Write(action);
            writer.Write(changes[i].Kind);
            writer.Write(changes[i].Id);
            writer.Write(expected);
            if (obj is null)
            {
                writer.WriteNil();
                writer.WriteNil();
            }
            else
            {
                payload.ResetWrittenCount();
                ContractRegistry.Serialize(payload, obj);
                writer.Write(ContractRegistry.NameOf(obj.GetType()));
                writer.Write(payload.WrittenSpan);
            }
        }

        writer.Write(proposedAt.UtcTicks);
        writer.Flush();
        var bytes = output.WrittenSpan.ToArray();
        if (output.Capacity > 1024 * 1024 || payload.Capacity > 1024 * 1024)
        {
            (t_proposal, t_payload) = (null, null);
        }

        return bytes;
    }

    /// <summary>
    /// Reads what <see cref="EncodeProposal"/> wrote (any <see cref="StoreProposal"/>) straight
    /// into store changes, each object deserialized from its place in <paramref name="data"/>.
    /// ProposedAt is null for an entry that carries no time (written before it travelled in the
    /// entry): the applier stamps it with its own clock, as it did then.
    /// Throws <see cref="MessagePackSerializationException"/> for anything else.
    /// </summary>
    public static (string ProposalId, IReadOnlyList<StoreChange> Changes, DateTimeOffset? ProposedAt) DecodeProposal(byte[] data)
    {
        try
        {
            var reader = new MessagePackReader(data);
            var fields = reader.ReadArrayHeader();
            var proposalId = fields > 0 ? reader.ReadString() : null;
            var changes = fields > 1 && !reader.TryReadNil() ? new StoreChange[reader.ReadArrayHeader()] : [];
            for (var i = 0; i < changes.Length; i++)
            {
                changes[i] = ReadChange(ref reader, data);
            }

            var ticks = fields > 2 && !reader.TryReadNil() ? reader.ReadInt64() : 0;
            for (var i = 3; i < fields; i++)
            {
                reader.Skip();
            }

            return (proposalId!, changes, ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero));
        }
        catch (Exception e) when (e is not MessagePackSerializationException)
        {
            throw new MessagePackSerializationException($"Failed to deserialize a store proposal: {e.Message}", e);
        }
    }

    private static StoreChange ReadChange(ref MessagePackReader reader, byte[] data)
    {
        var fields = reader.ReadArrayHeader();
        var action = fields > 0 ? reader.ReadInt32() : 0;
        var kind = fields > 1 ? ReadName(ref reader) : null;
        var id = fields > 2 ? reader.ReadString() : null;
        var expected = fields > 3 ? reader.ReadUInt64() : 0;
        var type = fields > 4 ? ReadName(ref reader) : null;
        var payload = ReadOnlyMemory<byte>.Empty;
        if (fields > 5 && reader.ReadBytes() is { } bytes)
        {
            // A proposal is one array, so its payload is a slice of it.
            var start = (int)(reader.Consumed - bytes.Length);
            payload = data.AsMemory(start, (int)bytes.Length);
        }

        for (var i = 6; i < fields; i++)
        {
            reader.Skip();
        }

        return action switch
        {
            0 => new CreateObject(kind!, id!, Object(type, payload)),
            1 => new UpdateObject(kind!, id!, Object(type, payload), expected),
            2 => new DeleteObject(kind!, id!, expected),
            3 => new ExpectObject(kind!, id!, expected),
            _ => throw new MessagePackSerializationException($"Unknown store change action {action}"),
        };
    }

    private static string? ReadName(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        if (!reader.TryReadStringSpan(out var utf8) || utf8.Length > 64)
        {
            return reader.ReadString();
        }

        var names = s_names;
        foreach (var (known, value) in names)
        {
            if (utf8.SequenceEqual(known))
            {
                return value;
            }
        }

        var name = System.Text.Encoding.UTF8.GetString(utf8);
        if (names.Length < 64)
        {
            s_names = [.. names, (utf8.ToArray(), name)];
        }

        return name;
    }

    private static IStoreObject Object(string? type, ReadOnlyMemory<byte> payload) =>
        ContractRegistry.Deserialize(type ?? string.Empty, payload) as IStoreObject
        ?? throw new MessagePackSerializationException($"{type} is not a store object");

    /// <summary>
    /// The same bytes as serializing a <see cref="StoreSnapshotData"/> of one create per object,
    /// written straight to one buffer: a large store's snapshot (130,000 objects) no longer builds
    /// a <see cref="WireChange"/> and a payload array per object first.
    /// </summary>
    public static byte[] EncodeState(StoreState state)
    {
        using var output = new PooledBufferWriter(Math.Max(256, state.Count * 320));
        EncodeState(state, output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// <see cref="EncodeState(StoreState)"/> written to <paramref name="output"/>: a snapshot taken
    /// by a Raft member goes straight into the buffer it is sealed from (RaftLogFile.EncodeSnapshot).
    /// </summary>
    public static void EncodeState(StoreState state, IBufferWriter<byte> output)
    {
        var payload = new ArrayBufferWriter<byte>(1024);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(2);
        writer.Write(state.Index);
        writer.WriteArrayHeader(state.Count);
        foreach (var o in state.All())
        {
            payload.ResetWrittenCount();
            ContractRegistry.Serialize(payload, o);

            // WireChange(Action 0, Kind, Id, ExpectedVersion 0, Type, Payload), as its formatter writes it.
            writer.WriteArrayHeader(6);
            writer.Write(0);
            writer.Write(o.Kind);
            writer.Write(o.Id);
            writer.Write(0UL);
            writer.Write(ContractRegistry.NameOf(o.GetType()));
            writer.Write(payload.WrittenSpan);
        }

        writer.Flush();
    }

    public static StoreState DecodeState(byte[] data)
    {
        if (data.Length == 0)
        {
            return StoreState.Empty;
        }

        var snapshot = ContractRegistry.Deserialize<StoreSnapshotData>(data);
        return StoreState.Restore(snapshot.Index, snapshot.Objects.Select(w => ((CreateObject)FromWire(w)).Object));
    }

    /// <summary>
    /// The store as of the commit index, rebuilt offline as the Raft actor builds it live: the
    /// snapshot's state, then every committed proposal after it, each stamped with the time it
    /// carries (<paramref name="now"/> only for an entry that carries none), so the objects keep
    /// the times they had. A proposal refused as stale was refused on every replica when it was
    /// first applied, so it is skipped here too. Returns the index and term of the last committed entry.
    /// </summary>
    public static (StoreState State, ulong Index, ulong Term) ReplayCommitted(ProtoSwarm.Raft.Snapshot snapshot, IEnumerable<ProtoSwarm.Raft.Entry> entries, ulong commit, DateTimeOffset now)
    {
        var state = DecodeState(snapshot.Data);
        var (index, term) = (snapshot.Metadata.Index, snapshot.Metadata.Term);
        foreach (var entry in entries.Where(e => e.Index > snapshot.Metadata.Index && e.Index <= commit))
        {
            (index, term) = (entry.Index, entry.Term);
            if (entry.Type != ProtoSwarm.Raft.EntryType.Normal || entry.Data.Length == 0)
            {
                continue;
            }

            try
            {
                var (_, changes, proposedAt) = DecodeProposal(entry.Data);
                state = state.Apply(entry.Index, changes, proposedAt ?? now, out _);
            }
            catch (StoreConflictException)
            {
            }
        }

        return (state, index, term);
    }

    private static StoreChange FromWire(WireChange w) => w.Action switch
    {
        0 => new CreateObject(w.Kind, w.Id, Object(w)),
        1 => new UpdateObject(w.Kind, w.Id, Object(w), w.ExpectedVersion),
        2 => new DeleteObject(w.Kind, w.Id, w.ExpectedVersion),
        3 => new ExpectObject(w.Kind, w.Id, w.ExpectedVersion),
        _ => throw new MessagePackSerializationException($"Unknown store change action {w.Action}"),
    };

    private static IStoreObject Object(WireChange w) =>
        ContractRegistry.Deserialize(w.Type ?? string.Empty, w.Payload ?? []) as IStoreObject
        ?? throw new MessagePackSerializationException($"{w.Type} is not a store object");
}
