using System.Net.Sockets;

namespace VotingApp;

/// <summary>redis could not be reached, or the connection broke in the middle of a command.</summary>
public sealed class RedisUnavailableException(string message, Exception inner) : IOException(message, inner);

/// <summary>
/// One connection to redis shared by its callers one command at a time, made on first use and made
/// again after it broke: a command that failed on the wire throws <see cref="RedisUnavailableException"/>
/// and the next one reconnects. Whether the failed command took effect is unknown, so callers only send
/// commands that are safe to repeat or whose effect they check.
/// </summary>
public sealed class RedisConnection(string host, int port) : IAsyncDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private RespClient? _client;

    public string Endpoint => $"{host}:{port}";

    /// <param name="timeout">How long the command may take, connecting included (a blocking command's own timeout plus a margin).</param>
    public async Task<object?> CommandAsync(TimeSpan timeout, CancellationToken cancellationToken, params string[] arguments)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                _client ??= await RespClient.ConnectAsync(host, port, deadline.Token);
                return await _client.CommandAsync(deadline.Token, arguments);
            }
            catch (Exception e) when (e is IOException or SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // The reply may be half read: this connection cannot be trusted any more.
                if (_client is not null)
                {
                    await _client.DisposeAsync();
                    _client = null;
                }

                var why = e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0.#} s" : e.Message;
                throw new RedisUnavailableException($"redis at {Endpoint}: {why}", e);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        _lock.Dispose();
    }
}
