namespace ProtoSwarm.Registry.Client;

/// <summary>
/// How a pull or push retries a request that may pass (<see cref="RegistryClientException.IsTransient"/>:
/// no answer, a broken connection, a failing registry): a few attempts, the wait doubling from
/// <see cref="FirstDelay"/>. A blob download resumes where the broken attempt stopped. A 404 or a digest
/// mismatch is not retried: another attempt would get the same answer.
/// </summary>
public sealed record RetryPolicy(int Attempts, TimeSpan FirstDelay)
{
    public static RetryPolicy Default { get; } = new(4, TimeSpan.FromMilliseconds(500));

    /// <summary>One attempt: a failure is final.</summary>
    public static RetryPolicy None { get; } = new(1, TimeSpan.Zero);

    /// <summary>Runs <paramref name="attempt"/> (given its number, 1 for the first) until it passes, fails for good, or the attempts run out.</summary>
    internal async Task<T> RunAsync<T>(Func<int, CancellationToken, Task<T>> attempt, TimeProvider time, Action<int, TimeSpan, RegistryClientException> retrying, CancellationToken ct)
    {
        for (var i = 1; ; i++)
        {
            try
            {
                return await attempt(i, ct);
            }
            catch (RegistryClientException e) when (e.IsTransient && i < Attempts && !ct.IsCancellationRequested)
            {
                var delay = FirstDelay * Math.Pow(2, i - 1);
                retrying(i, delay, e);
                await Task.Delay(delay, time, ct);
            }
        }
    }
}
