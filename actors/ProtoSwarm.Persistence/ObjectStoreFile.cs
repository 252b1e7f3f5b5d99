using Microsoft.Data.Sqlite;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Persistence;

/// <summary>
/// The single-manager store on disk (store.db): one row per object, plus the store index. A batch
/// of proposals is written in ONE transaction, so many writes share one fsync.
/// </summary>
public sealed class ObjectStoreFile : IDisposable
{
    private readonly SqliteConnection _connection;

    public ObjectStoreFile(string path)
    {
        _connection = SqliteDatabase.Open(path);
        SqliteDatabase.Execute(_connection, """
            CREATE TABLE IF NOT EXISTS objects (
                kind TEXT NOT NULL,
                id TEXT NOT NULL,
                type TEXT NOT NULL,
                payload BLOB NOT NULL,
                PRIMARY KEY (kind, id)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
            """);
    }

    /// <summary>Reads every object and the index they are current at.</summary>
    public (ulong Index, List<IStoreObject> Objects) Load()
    {
        using var indexCommand = _connection.CreateCommand();
        indexCommand.CommandText = "SELECT value FROM meta WHERE key = 'index'";
        var index = indexCommand.ExecuteScalar() is long l ? (ulong)l : 0UL;

        var objects = new List<IStoreObject>();
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT kind, id, type, payload FROM objects";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var type = reader.GetString(2);
            var payload = (byte[])reader.GetValue(3);
            object decoded;
            try
            {
                decoded = ContractRegistry.Deserialize(type, payload);
            }
            catch (Exception e) when (e is MessagePack.MessagePackSerializationException)
            {
                throw new PersistenceException($"Object {reader.GetString(0)}/{reader.GetString(1)} in the store cannot be read ({e.Message}); the file is damaged or from a newer version", e);
            }

            objects.Add(decoded as IStoreObject
                        ?? throw new PersistenceException($"Object {reader.GetString(0)}/{reader.GetString(1)} has type {type}, which is not a store object"));
        }

        return (index, objects);
    }

    /// <summary>Writes the final state of every object a batch touched (null: deleted), and the new index.</summary>
    public void WriteBatch(ulong index, IEnumerable<(string Kind, string Id, IStoreObject? Object)> writes)
    {
        using var transaction = _connection.BeginTransaction();
        using var upsert = _connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = "INSERT INTO objects (kind, id, type, payload) VALUES ($kind, $id, $type, $payload) ON CONFLICT (kind, id) DO UPDATE SET type = excluded.type, payload = excluded.payload";
        var uKind = upsert.Parameters.Add("$kind", SqliteType.Text);
        var uId = upsert.Parameters.Add("$id", SqliteType.Text);
        var uType = upsert.Parameters.Add("$type", SqliteType.Text);
        var uPayload = upsert.Parameters.Add("$payload", SqliteType.Blob);

        using var delete = _connection.CreateCommand();
        delete.Transaction = transaction;
        delete.CommandText = "DELETE FROM objects WHERE kind = $kind AND id = $id";
        var dKind = delete.Parameters.Add("$kind", SqliteType.Text);
        var dId = delete.Parameters.Add("$id", SqliteType.Text);

        foreach (var (kind, id, obj) in writes)
        {
            if (obj is null)
            {
                dKind.Value = kind;
                dId.Value = id;
                delete.ExecuteNonQuery();
            }
            else
            {
                uKind.Value = kind;
                uId.Value = id;
                uType.Value = ContractRegistry.NameOf(obj.GetType());
                uPayload.Value = ContractRegistry.Serialize(obj);
                upsert.ExecuteNonQuery();
            }
        }

        using var setIndex = _connection.CreateCommand();
        setIndex.Transaction = transaction;
        setIndex.CommandText = "INSERT INTO meta (key, value) VALUES ('index', $index) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        setIndex.Parameters.AddWithValue("$index", (long)index);
        setIndex.ExecuteNonQuery();
        transaction.Commit();
    }

    public void Dispose() => _connection.Dispose();
}
