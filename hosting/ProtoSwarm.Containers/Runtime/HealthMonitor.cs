namespace ProtoSwarm.Containers.Runtime;

/// <summary>
/// Runs a container's health check as docker does: the first probe one interval after the start, the
/// next one interval after the previous probe ended, each cut at the timeout (a timed-out probe
/// fails); the status goes Starting -> Healthy / Unhealthy by <see cref="HealthRules"/>. The probe
/// runs through <c>exec</c> (normally <see cref="LinuxContainer.ExecAsync(ExecSpecification, CancellationToken)"/>),
/// and time through the given <see cref="TimeProvider"/>, so the logic is tested without a container.
/// </summary>
public sealed class HealthMonitor : IDisposable
{
    private readonly HealthCheck _check;
    private readonly Func<ExecSpecification, CancellationToken, Task<ExecResult>> _exec;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _startedAt;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private HealthState _state;
    private TaskCompletionSource<HealthStatus> _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="startedAt">When the container started (the start period counts from it); now by default.</param>
    public HealthMonitor(HealthCheck check, Func<ExecSpecification, CancellationToken, Task<ExecResult>> exec,
        TimeProvider? time = null, DateTimeOffset? startedAt = null)
    {
        var problems = HealthCheck.Validate(check);
        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid health check: " + string.Join("; ", problems), nameof(check));
        }
        _check = check;
        _exec = exec;
        _time = time ?? TimeProvider.System;
        _startedAt = startedAt ?? _time.GetUtcNow();
        _state = check.IsEnabled ? HealthState.Starting : new HealthState(HealthStatus.None, 0, []);
        if (check.IsEnabled)
        {
            Completion = RunAsync(_stop.Token);
        }
    }

    /// <summary>Ends when probing stops (after <see cref="Dispose"/>).</summary>
    public Task Completion { get; } = Task.CompletedTask;

    public HealthStatus Status => State.Status;

    /// <summary>The status, the failing streak and the last five probes (docker's State.Health).</summary>
    public HealthState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>Completes with the status as soon as it differs from <paramref name="known"/> (at once if it
    /// already does); throws <see cref="ObjectDisposedException"/> once the monitor is disposed, also when asked
    /// after: a stopped monitor's last status is no news (answering it to a caller that knew otherwise made the
    /// task's health flip between two answers as fast as it asked, for the whole of a stop's grace period).</summary>
    public async Task<HealthStatus> WaitChangeAsync(HealthStatus known, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task<HealthStatus> changed;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
                if (_state.Status != known)
                {
                    return _state.Status;
                }
                changed = _changed.Task;
            }
            await changed.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Stops probing; a probe under way is cancelled (its process killed).</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        _stop.Cancel();
        lock (_lock)
        {
            _changed.TrySetException(new ObjectDisposedException(nameof(HealthMonitor)));
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        // Deadlines, not bare delays: the next probe is due one interval after the last one ended,
        // however late this loop gets round to waiting for it.
        var due = _startedAt + NextInterval(_startedAt);
        try
        {
            while (true)
            {
                var wait = due - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, cancellationToken);
                }
                var probe = await ProbeAsync(cancellationToken);
                Record(probe);
                due = probe.End + NextInterval(probe.End);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Docker's: the start interval while the start period lasts and the container has not been healthy yet, else the interval.</summary>
    private TimeSpan NextInterval(DateTimeOffset now)
    {
        bool starting;
        lock (_lock)
        {
            starting = _state.Status == HealthStatus.Starting;
        }

        return starting && now - _startedAt < _check.StartPeriod ? _check.EffectiveStartInterval : _check.EffectiveInterval;
    }

    private async Task<HealthProbe> ProbeAsync(CancellationToken cancellationToken)
    {
        var timeout = _check.EffectiveTimeout;
        var start = _time.GetUtcNow();
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var spec = new ExecSpecification { Command = _check.Command, Timeout = timeout, OutputLimit = HealthRules.MaxOutputBytes };
        try
        {
            var result = await _exec(spec, probe.Token);
            return result.TimedOut
                ? TimedOut(start, timeout)
                : new HealthProbe(start, _time.GetUtcNow(), result.ExitCode, HealthRules.Output(result));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return TimedOut(start, timeout);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The probe could not run at all (the container is not running, init is missing): a failure.
            return new HealthProbe(start, _time.GetUtcNow(), -1, e.Message);
        }
    }

    private HealthProbe TimedOut(DateTimeOffset start, TimeSpan timeout) =>
        new(start, _time.GetUtcNow(), -1, $"Health check exceeded timeout ({HealthRules.GoDuration(timeout)})");

    private void Record(HealthProbe probe)
    {
        lock (_lock)
        {
            var before = _state.Status;
            _state = HealthRules.Next(_state, probe, _check, _startedAt);
            if (_state.Status != before)
            {
                var changed = _changed;
                _changed = new TaskCompletionSource<HealthStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.TrySetResult(_state.Status);
            }
        }
    }
}
