using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Store;

/// <summary>
/// One write in a proposal. A create fails if the object exists; an update or delete must name
/// the version it read (<see cref="ObjectMeta.Version"/>), or it is refused as stale. An
/// <see cref="ExpectObject"/> writes nothing: it makes its proposal conditional on another object
/// being as it was read (the service whose tasks a decision writes, say).
/// </summary>
public abstract record StoreChange(string Kind, string Id)
{
    public static StoreChange Create<T>(T obj)
        where T : IStoreObject, IStoreKind => new CreateObject(T.StoreKind, obj.Id, obj);

    public static StoreChange Update<T>(T obj)
        where T : IStoreObject, IStoreKind => new UpdateObject(T.StoreKind, obj.Id, obj, obj.Meta.Version);

    public static StoreChange Delete<T>(T obj)
        where T : IStoreObject, IStoreKind => new DeleteObject(T.StoreKind, obj.Id, obj.Meta.Version);

    public static StoreChange Expect<T>(T obj)
        where T : IStoreObject, IStoreKind => new ExpectObject(T.StoreKind, obj.Id, obj.Meta.Version);
}

public sealed record CreateObject(string Kind, string Id, IStoreObject Object) : StoreChange(Kind, Id);

public sealed record UpdateObject(string Kind, string Id, IStoreObject Object, ulong ExpectedVersion) : StoreChange(Kind, Id);

public sealed record DeleteObject(string Kind, string Id, ulong ExpectedVersion) : StoreChange(Kind, Id);

/// <summary>No write: the proposal is refused as stale unless the object exists at this version.</summary>
public sealed record ExpectObject(string Kind, string Id, ulong ExpectedVersion) : StoreChange(Kind, Id);

/// <summary>What a committed change did, in commit order; watchers receive these.</summary>
public sealed record StoreEvent(ulong Index, StoreEventKind Action, string Kind, string Id, IStoreObject? Object);

public enum StoreEventKind
{
    Created,
    Updated,
    Deleted,
}

/// <summary>A write refused because what it read is no longer current; nothing of its proposal was applied.</summary>
public sealed class StoreConflictException : Exception
{
    public StoreConflictException(string message)
        : base(message)
    {
    }

    public StoreConflictException()
    {
    }

    public StoreConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
