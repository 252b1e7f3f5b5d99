using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;

namespace VotingApp;

/// <summary>
/// Moves votes from redis into PostgreSQL without losing one to a killed worker. Each worker takes an
/// item with BLMOVE from `votes` into a processing list of its own (`votes:processing:ID`, one atomic
/// step in redis), upserts it into `votes(id, vote, ts)`, and only then removes it from that list. A
/// worker keeps a heartbeat key (`worker:ID`, expiring); any worker that finds the heartbeat of another
/// gone (at its start, then every few seconds) moves what that one held back to `votes`. An item can so
/// be stored twice, never lost; storing it twice is harmless, since the upsert keeps a voter's newest
/// vote (by the time it was cast) whatever the order items arrive in.
/// </summary>
public static partial class Worker
{
    private const string Queue = "votes";
    private const string Workers = "workers";
    private static readonly TimeSpan HeartbeatTtl = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RecoverEvery = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync()
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }));
        var log = loggers.CreateLogger("worker");
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        var id = $"{Settings.Hostname}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        await using var redis = new RedisConnection(Settings.RedisHost, Settings.RedisPort);
        await using var db = NpgsqlDataSource.Create(Settings.PostgresConnectionString());
        try
        {
            await new Mover(id, redis, db, log).RunAsync(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        Stopped(log, id);
        return 0;
    }

    private sealed class Mover(string id, RedisConnection redis, NpgsqlDataSource db, ILogger log)
    {
        private readonly string _processing = $"votes:processing:{id}";
        private DateTimeOffset _lastBeat = DateTimeOffset.MinValue;
        private DateTimeOffset _lastRecovery = DateTimeOffset.MinValue;
        private long _moved;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            Starting(log, id, redis.Endpoint);
            await EnsureTableAsync(cancellationToken);
            var backoff = MinBackoff;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    await BeatAsync(cancellationToken);
                    await RecoverAsync(cancellationToken);
                    // What this worker holds already (left by a broken connection) comes before anything new.
                    var item = await redis.CommandAsync(CommandTimeout, cancellationToken, "LINDEX", _processing, "0") as string
                        ?? await redis.CommandAsync(CommandTimeout, cancellationToken, "BLMOVE", Queue, _processing, "LEFT", "RIGHT", "1") as string;
                    backoff = MinBackoff;
                    if (item is not null)
                    {
                        await StoreAsync(item, cancellationToken);
                        await redis.CommandAsync(CommandTimeout, cancellationToken, "LREM", _processing, "1", item);
                        if (++_moved % 100 == 1)
                        {
                            Moved(log, _moved);
                        }
                    }
                }
                catch (Exception e) when (e is RedisUnavailableException or RedisErrorException)
                {
                    WaitingForRedis(log, e.Message, backoff.TotalMilliseconds);
                    await Task.Delay(backoff, cancellationToken);
                    backoff = Next(backoff);
                }
            }
        }

        /// <summary>The heartbeat: this worker's key with a short expiry, and its id in the set the others look through.</summary>
        private async Task BeatAsync(CancellationToken cancellationToken)
        {
            if (DateTimeOffset.UtcNow - _lastBeat < HeartbeatEvery)
            {
                return;
            }

            await redis.CommandAsync(CommandTimeout, cancellationToken, "SET", $"worker:{id}", "alive", "PX", ((long)HeartbeatTtl.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
            await redis.CommandAsync(CommandTimeout, cancellationToken, "SADD", Workers, id);
            _lastBeat = DateTimeOffset.UtcNow;
        }

        /// <summary>Puts back on `votes` what workers whose heartbeat expired held in their processing lists; LMOVE moves each item exactly once, whoever else recovers at the same time.</summary>
        private async Task RecoverAsync(CancellationToken cancellationToken)
        {
            if (DateTimeOffset.UtcNow - _lastRecovery < RecoverEvery)
            {
                return;
            }

            var members = await redis.CommandAsync(CommandTimeout, cancellationToken, "SMEMBERS", Workers) as object?[] ?? [];
            foreach (var other in members.OfType<string>().Where(w => w != id))
            {
                if (await redis.CommandAsync(CommandTimeout, cancellationToken, "EXISTS", $"worker:{other}") is 1L)
                {
                    continue;
                }

                var requeued = 0;
                while (await redis.CommandAsync(CommandTimeout, cancellationToken, "LMOVE", $"votes:processing:{other}", Queue, "RIGHT", "LEFT") is string)
                {
                    requeued++;
                }

                await redis.CommandAsync(CommandTimeout, cancellationToken, "SREM", Workers, other);
                WorkerGone(log, other, requeued);
            }

            _lastRecovery = DateTimeOffset.UtcNow;
        }

        /// <summary>Upserts one item, retrying until the database takes it; an item that is not a vote is dropped with a log line.</summary>
        private async Task StoreAsync(string item, CancellationToken cancellationToken)
        {
            VoteItem? vote;
            try
            {
                vote = JsonSerializer.Deserialize(item, AppJson.Default.VoteItem);
            }
            catch (JsonException)
            {
                vote = null;
            }

            if (vote is not { VoterId.Length: > 0, Vote: "a" or "b" })
            {
                Dropped(log, item);
                return;
            }

            var backoff = MinBackoff;
            while (true)
            {
                try
                {
                    await using var command = db.CreateCommand("""
                        INSERT INTO votes (id, vote, ts) VALUES ($1, $2, $3)
                        ON CONFLICT (id) DO UPDATE SET vote = excluded.vote, ts = excluded.ts WHERE votes.ts <= excluded.ts
                        """);
                    command.Parameters.Add(new NpgsqlParameter { Value = vote.VoterId });
                    command.Parameters.Add(new NpgsqlParameter { Value = vote.Vote });
                    command.Parameters.Add(new NpgsqlParameter { Value = vote.Ts });
                    await command.ExecuteNonQueryAsync(cancellationToken);
                    return;
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
                {
                    // The database came back without the table: db's task moved to another node, whose volume
                    // db-data is a new, empty one (a named volume is the node's own). Made at start only, every
                    // vote from then on would wait here for good; make it again and store the vote.
                    TableMissing(log);
                    await EnsureTableAsync(cancellationToken);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    WaitingForDatabase(log, e.Message, backoff.TotalMilliseconds);
                    await Task.Delay(backoff, cancellationToken);
                    backoff = Next(backoff);
                    // A long wait for the database must not look like a dead worker to the others.
                    try
                    {
                        await BeatAsync(cancellationToken);
                    }
                    catch (Exception r) when (r is RedisUnavailableException or RedisErrorException)
                    {
                    }
                }
            }
        }

        private async Task EnsureTableAsync(CancellationToken cancellationToken)
        {
            var backoff = MinBackoff;
            while (true)
            {
                try
                {
                    await using var command = db.CreateCommand("CREATE TABLE IF NOT EXISTS votes (id text PRIMARY KEY, vote text NOT NULL, ts bigint NOT NULL DEFAULT 0)");
                    await command.ExecuteNonQueryAsync(cancellationToken);
                    return;
                }
                catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
                {
                    // Another worker created it at the same instant.
                    return;
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    WaitingForDatabase(log, e.Message, backoff.TotalMilliseconds);
                    await Task.Delay(backoff, cancellationToken);
                    backoff = Next(backoff);
                }
            }
        }
    }

    private static TimeSpan Next(TimeSpan backoff) => TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Id} starting; redis at {Redis}")]
    private static partial void Starting(ILogger logger, string id, string redis);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Id} stopped")]
    private static partial void Stopped(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database has no table votes (a new, empty database); making it again")]
    private static partial void TableMissing(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} votes stored so far")]
    private static partial void Moved(ILogger logger, long count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Waiting for redis ({Reason}); retrying in {DelayMs} ms")]
    private static partial void WaitingForRedis(ILogger logger, string reason, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Waiting for the database ({Reason}); retrying in {DelayMs} ms")]
    private static partial void WaitingForDatabase(ILogger logger, string reason, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Other} is gone: {Count} votes it held are queued again")]
    private static partial void WorkerGone(ILogger logger, string other, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped an item that is not a vote: {Item}")]
    private static partial void Dropped(ILogger logger, string item);
}
