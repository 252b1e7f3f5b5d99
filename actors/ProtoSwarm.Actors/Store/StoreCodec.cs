using System.Buffers;
using System.Collections.Immutable;
using MessagePack;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Store;

/// <summary>A proposal as it travels in the Raft log: who proposed it (to answer them) and the changes.</summary>
[MessagePackObject]
public sealed record StoreProposal(
    [property: Key(0)] string ProposalId,
    [property: Key(1)] ImmutableArray<WireChange> Changes);

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
    public static byte[] EncodeProposal(string proposalId, IReadOnlyList<StoreChange> changes) =>
        ContractRegistry.SerializeTyped(new StoreProposal(proposalId, [.. changes.Select(ToWire)]));

    public static (string ProposalId, IReadOnlyList<StoreChange> Changes) DecodeProposal(byte[] data)
    {
        var proposal = ContractRegistry.Deserialize<StoreProposal>(data);
        return (proposal.ProposalId, proposal.Changes.Select(FromWire).ToList());
    }

    /// <summary>
    /// The same bytes as serializing a <see cref="StoreSnapshotData"/> of one create per object,
    /// written straight to one buffer: a large store's snapshot (130,000 objects) no longer builds
    /// a <see cref="WireChange"/> and a payload array per object first.
    /// </summary>
    public static byte[] EncodeState(StoreState state)
    {
        var output = new ArrayBufferWriter<byte>(Math.Max(256, state.Count * 320));
        var payload = new ArrayBufferWriter<byte>(1024);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(2);
        writer.Write(state.Index);
        writer.WriteArrayHeader(state.Count);
        foreach (var o in state.All())
        {
            payload.ResetWrittenCount();
            MessagePackSerializer.Serialize(o.GetType(), payload, o, ContractRegistry.Options);

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
        return output.WrittenSpan.ToArray();
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
    /// snapshot's state, then every committed proposal after it. A proposal refused as stale was
    /// refused on every replica when it was first applied, so it is skipped here too. Returns the
    /// index and term of the last committed entry.
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
                state = state.Apply(entry.Index, DecodeProposal(entry.Data).Changes, now, out _);
            }
            catch (StoreConflictException)
            {
            }
        }

        return (state, index, term);
    }

    private static WireChange ToWire(StoreChange change) => change switch
    {
        CreateObject c => new WireChange(0, c.Kind, c.Id, 0, ContractRegistry.NameOf(c.Object.GetType()), ContractRegistry.Serialize(c.Object)),
        UpdateObject u => new WireChange(1, u.Kind, u.Id, u.ExpectedVersion, ContractRegistry.NameOf(u.Object.GetType()), ContractRegistry.Serialize(u.Object)),
        DeleteObject d => new WireChange(2, d.Kind, d.Id, d.ExpectedVersion, null, null),
        _ => throw new ArgumentException($"Unknown store change {change.GetType().Name}", nameof(change)),
    };

    private static StoreChange FromWire(WireChange w) => w.Action switch
    {
        0 => new CreateObject(w.Kind, w.Id, Object(w)),
        1 => new UpdateObject(w.Kind, w.Id, Object(w), w.ExpectedVersion),
        2 => new DeleteObject(w.Kind, w.Id, w.ExpectedVersion),
        _ => throw new MessagePackSerializationException($"Unknown store change action {w.Action}"),
    };

    private static IStoreObject Object(WireChange w) =>
        ContractRegistry.Deserialize(w.Type ?? string.Empty, w.Payload ?? []) as IStoreObject
        ?? throw new MessagePackSerializationException($"{w.Type} is not a store object");
}
