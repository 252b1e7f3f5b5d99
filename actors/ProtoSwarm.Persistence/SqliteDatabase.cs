using Microsoft.Data.Sqlite;

namespace ProtoSwarm.Persistence;

/// <summary>
/// Opens a ProtoSwarm SQLite file with the settings every one of them needs: WAL, synchronous=FULL
/// (a committed transaction survives power loss), and an integrity check so a corrupt file is
/// refused with a clear message instead of being half-read.
/// </summary>
public static class SqliteDatabase
{
    public static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
            using var check = connection.CreateCommand();
            check.CommandText = "PRAGMA quick_check;";
            var result = check.ExecuteScalar() as string;
            if (!string.Equals(result, "ok", StringComparison.Ordinal))
            {
                throw new PersistenceException($"{path} is corrupt ({result}); restore it from a backup, or remove the state directory and join the swarm again");
            }

            return connection;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new PersistenceException($"{path} cannot be opened as a ProtoSwarm database ({e.Message}); restore it from a backup, or remove the state directory and join the swarm again", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>A state file that cannot be used; the message says which and what to do.</summary>
public class PersistenceException : Exception
{
    public PersistenceException(string message)
        : base(message)
    {
    }

    public PersistenceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public PersistenceException()
    {
    }
}
