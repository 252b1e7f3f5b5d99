namespace ProtoSwarm.Actors.Agent.Tasks;

/// <summary>
/// How many of a node's containers may be between the start of their prepare and the end of their
/// start at once; the rest wait their turn in the order they asked (FIFO). A task actor enters
/// before its Prepare and leaves once its Start returned, failed or was cancelled, or once its next
/// call is neither (a stop, a removal): never for a container's whole life, and never for a stop
/// or a removal. A limit of 0 lets every start through at once (no gate). One per
/// <see cref="TaskSupervisor"/>, so one per node host.
/// </summary>
public sealed class StartGate
{
    /// <summary>No limit: every prepare and start runs at once.</summary>
    public static readonly StartGate Unlimited = new(0);

    private readonly object _lock = new();
    private readonly LinkedList<Waiter> _waiting = new();
    private int _inside;

    /// <param name="limit">At most this many tasks inside at once; 0: no limit.</param>
    public StartGate(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Limit = limit;
    }

    public int Limit { get; }

    /// <summary>Tasks between their entry and their leaving now (0 without a limit, which counts nothing).</summary>
    public int Inside
    {
        get
        {
            lock (_lock)
            {
                return _inside;
            }
        }
    }

    /// <summary>Tasks waiting for their turn now.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>
    /// Completes with a pass once it is this caller's turn. The pass is given back by disposing it
    /// (more than once is harmless) and, whatever the caller does, when <paramref name="ct"/> is
    /// cancelled: a task actor that stops gives back its pass with its token. A caller cancelled
    /// while waiting leaves the queue, and the call ends cancelled.
    /// </summary>
    public Task<IDisposable> EnterAsync(CancellationToken ct)
    {
        if (Limit == 0)
        {
            return Task.FromResult<IDisposable>(Pass.None);
        }

        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<IDisposable>(ct);
        }

        Waiter waiter;
        lock (_lock)
        {
            if (_inside < Limit && _waiting.Count == 0)
            {
                _inside++;
                return Task.FromResult<IDisposable>(NewPass(ct));
            }

            waiter = new Waiter(ct);
            waiter.Node = _waiting.AddLast(waiter);
        }

        if (ct.CanBeCanceled)
        {
            waiter.Registration = ct.Register(() => Cancel(waiter));
        }

        return waiter.Turn.Task;
    }

    private Pass NewPass(CancellationToken ct)
    {
        var pass = new Pass(this);
        if (ct.CanBeCanceled)
        {
            pass.Registration = ct.Register(pass.Dispose);
        }

        return pass;
    }

    private void Cancel(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Node?.List is null)
            {
                return;
            }

            _waiting.Remove(waiter.Node);
        }

        waiter.Turn.TrySetCanceled(waiter.Token);
    }

    private void Leave()
    {
        while (true)
        {
            Waiter next;
            lock (_lock)
            {
                var first = _waiting.First;
                if (first is null)
                {
                    _inside--;
                    return;
                }

                // The place goes straight to the first in line: _inside stays as it is.
                _waiting.RemoveFirst();
                next = first.Value;
            }

            next.Registration.Unregister();
            if (!next.Token.IsCancellationRequested)
            {
                var pass = NewPass(next.Token);
                if (next.Turn.TrySetResult(pass))
                {
                    return;
                }

                pass.Dispose();
                return;
            }

            next.Turn.TrySetCanceled(next.Token);
        }
    }

    private sealed class Waiter(CancellationToken token)
    {
        public CancellationToken Token { get; } = token;

        public TaskCompletionSource<IDisposable> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }
    }

    private sealed class Pass(StartGate? gate) : IDisposable
    {
        public static readonly Pass None = new(null);

        private int _left;

        public CancellationTokenRegistration Registration { get; set; }

        public void Dispose()
        {
            if (gate is null || Interlocked.Exchange(ref _left, 1) != 0)
            {
                return;
            }

            // Unregister, not Dispose: this may run inside the token's own callback.
            Registration.Unregister();
            gate.Leave();
        }
    }
}
