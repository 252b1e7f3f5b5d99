using System.Collections.Immutable;

namespace ProtoSwarm.Registry.Client;

/// <summary>
/// Work done once per key however many callers ask for it at once: the first starts it, the others join,
/// and all get its result or its error; every joined caller's progress observer hears it. A caller that
/// gives up stops waiting, and the work itself is cancelled only when every caller has given up, so one
/// impatient client does not fail a pull that a task is waiting for; the last caller to give up returns once
/// the cancelled work has stopped. The key is free again once the work ends, so a failed attempt is not remembered.
/// </summary>
internal sealed class SingleFlight<TResult, TProgress>
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Flight> _flights = new(StringComparer.Ordinal);

    public async Task<TResult> RunAsync(string key, Func<IProgress<TProgress>, CancellationToken, Task<TResult>> work, IProgress<TProgress>? observer, CancellationToken ct)
    {
        Flight flight;
        lock (_lock)
        {
            if (!_flights.TryGetValue(key, out flight!) || flight.Cancel.IsCancellationRequested)
            {
                flight = new Flight();
                _flights[key] = flight;
                flight.Work = StartAsync(key, flight, work);
            }

            flight.Join(observer);
        }

        try
        {
            return await flight.Work.WaitAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            bool last;
            lock (_lock)
            {
                last = flight.Leave(observer);
            }

            if (last)
            {
                // Nobody waits for the work any more: cancel it, and return only once it has stopped, so
                // nothing it does (a download writing its file) goes on after every caller has given up.
                await flight.Cancel.CancelAsync();
                await ((Task)flight.Work).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            throw;
        }
    }

    private async Task<TResult> StartAsync(string key, Flight flight, Func<IProgress<TProgress>, CancellationToken, Task<TResult>> work)
    {
        await Task.Yield(); // the work runs outside the caller's lock
        try
        {
            return await work(flight, flight.Cancel.Token);
        }
        finally
        {
            lock (_lock)
            {
                if (_flights.TryGetValue(key, out var current) && current == flight)
                {
                    _flights.Remove(key);
                }
            }
        }
    }

    private sealed class Flight : IProgress<TProgress>
    {
        private ImmutableList<IProgress<TProgress>> _observers = [];
        private int _waiters;

        public CancellationTokenSource Cancel { get; } = new();

        public Task<TResult> Work { get; set; } = null!;

        public void Join(IProgress<TProgress>? observer)
        {
            _waiters++;
            if (observer is not null)
            {
                ImmutableInterlocked.Update(ref _observers, o => o.Add(observer));
            }
        }

        /// <summary>True when the last waiter left.</summary>
        public bool Leave(IProgress<TProgress>? observer)
        {
            if (observer is not null)
            {
                ImmutableInterlocked.Update(ref _observers, o => o.Remove(observer));
            }

            return --_waiters == 0;
        }

        public void Report(TProgress value)
        {
            foreach (var observer in Volatile.Read(ref _observers))
            {
                observer.Report(value);
            }
        }
    }
}
