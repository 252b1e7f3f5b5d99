using System.Globalization;
using Npgsql;

namespace VotingApp;

/// <summary>What the three programs read from their environment, with the defaults the stack file relies on.</summary>
public static class Settings
{
    public static string OptionA => Env("OPTION_A", "Cats");

    public static string OptionB => Env("OPTION_B", "Dogs");

    public static int Port => int.Parse(Env("PORT", "80"), CultureInfo.InvariantCulture);

    public static string RedisHost => Env("REDIS_HOST", "redis");

    public static int RedisPort => int.Parse(Env("REDIS_PORT", "6379"), CultureInfo.InvariantCulture);

    public static string Hostname => Env("HOSTNAME", Environment.MachineName);

    /// <summary>The option's display name for a stored vote ("a" or "b").</summary>
    public static string OptionName(string vote) => vote == "a" ? OptionA : OptionB;

    /// <summary>
    /// The database's connection string: POSTGRES_HOST/PORT/USER/DB, and the password read from the file
    /// POSTGRES_PASSWORD_FILE names (a secret under /run/secrets), else POSTGRES_PASSWORD, as the db image reads it.
    /// </summary>
    public static string PostgresConnectionString()
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Env("POSTGRES_HOST", "db"),
            Port = int.Parse(Env("POSTGRES_PORT", "5432"), CultureInfo.InvariantCulture),
            Username = Env("POSTGRES_USER", "postgres"),
            Database = Env("POSTGRES_DB", "postgres"),
            Password = PostgresPassword(),
            Timeout = 5,
            CommandTimeout = 10,
            // The overlay is the stack's own network and the db image has no certificate: neither TLS
            // nor GSS is tried (the images carry no Kerberos library, whose absence Npgsql would report).
            SslMode = SslMode.Disable,
            GssEncryptionMode = GssEncryptionMode.Disable,
        };
        return builder.ConnectionString;
    }

    public static string PostgresPassword()
    {
        if (Environment.GetEnvironmentVariable("POSTGRES_PASSWORD_FILE") is { Length: > 0 } file)
        {
            try
            {
                return File.ReadAllText(file).TrimEnd('\r', '\n');
            }
            catch (IOException e)
            {
                throw new InvalidOperationException($"POSTGRES_PASSWORD_FILE={file} cannot be read ({e.Message}); mount the secret there or set POSTGRES_PASSWORD instead", e);
            }
        }

        return Env("POSTGRES_PASSWORD", "");
    }

    private static string Env(string name, string fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : fallback;
}
