using System.Collections.Immutable;
using MessagePack;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Persistence;

/// <summary>
/// What a node keeps about itself between restarts (node.db): which swarm it is in, its id, its
/// role, its Raft member id while a manager, and where the managers are. A node with no record is
/// not in a swarm. (Key 5 held a field of the single-manager store; not reused.)
/// </summary>
[MessagePackObject]
public sealed record NodeLocalState(
    [property: Key(0)] string NodeId,
    [property: Key(1)] string ClusterId,
    [property: Key(2)] NodeRole Role,
    [property: Key(3)] string AdvertiseAddr,
    [property: Key(4)] ImmutableArray<ManagerAddress> Managers,
    [property: Key(6)] ulong RaftId = 0);

/// <summary>The node-local state file: one row, replaced atomically.</summary>
public sealed class NodeStateFile : IDisposable
{
    private readonly Microsoft.Data.Sqlite.SqliteConnection _connection;

    public NodeStateFile(string path)
    {
        _connection = SqliteDatabase.Open(path);
        SqliteDatabase.Execute(_connection, "CREATE TABLE IF NOT EXISTS node_state (id INTEGER PRIMARY KEY CHECK (id = 1), payload BLOB NOT NULL);");
    }

    public NodeLocalState? Load()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT payload FROM node_state WHERE id = 1";
        if (command.ExecuteScalar() is not byte[] payload)
        {
            return null;
        }

        try
        {
            return MessagePackSerializer.Deserialize<NodeLocalState>(payload, ContractRegistry.Options);
        }
        catch (MessagePackSerializationException e)
        {
            throw new PersistenceException($"The node state in {_connection.DataSource} cannot be read ({e.Message}); remove the state directory and join the swarm again", e);
        }
    }

    public void Save(NodeLocalState? state)
    {
        using var command = _connection.CreateCommand();
        if (state is null)
        {
            command.CommandText = "DELETE FROM node_state";
        }
        else
        {
            command.CommandText = "INSERT INTO node_state (id, payload) VALUES (1, $payload) ON CONFLICT (id) DO UPDATE SET payload = excluded.payload";
            command.Parameters.AddWithValue("$payload", MessagePackSerializer.Serialize(state, ContractRegistry.Options));
        }

        command.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
