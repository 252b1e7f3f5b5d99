using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Tasks;

/// <summary>
/// A TEST executor: it runs no process and touches nothing on the host. It pretends, for the tests
/// and for lab runs until real containers land, and is driven only by the task's
/// <c>ContainerSpec.Env</c> ("KEY=VALUE"; the last of a key wins):
/// <list type="bullet">
/// <item><c>FAKE_START_DELAY_MS</c>: the start takes that long.</item>
/// <item><c>FAKE_RUN_MS</c>: the container runs that long after its start, then exits.</item>
/// <item><c>FAKE_EXIT_CODE</c>: its exit code when it exits (default 0); without FAKE_RUN_MS it exits at once after its start.</item>
/// <item><c>FAKE_PREPARE_ERROR</c>: prepare fails with that text (an image not found, say).</item>
/// <item><c>FAKE_HEALTH</c>: healthy | unhealthy | starting, its health once started (default healthy); only read with a health check.</item>
/// <item><c>FAKE_IGNORE_STOP=1</c>: the stop signal is ignored, so a shutdown waits the grace period, then kills.</item>
/// <item><c>FAKE_OUTPUT</c>: lines written to stdout when the container starts, separated by <c>|</c> or by
/// <c>\n</c> written as its two characters (a backslash and n); <c>FAKE_STDERR</c> likewise to stderr.</item>
/// <item><c>FAKE_LOG_EVERY_MS</c>: one more stdout line, "tick 1", "tick 2"..., that often while it runs.</item>
/// </list>
/// Without any of them a task runs until it is stopped. A stopped container exits 143, a killed one
/// 137. Time comes from the injected TimeProvider, so tests drive it with a fake clock. Each container
/// keeps its last <see cref="MaxLogEntries"/> log lines until it is removed. The last
/// <see cref="MaxCalls"/> calls are recorded (<see cref="Calls"/>). It knows only the containers it prepared in this process, so after
/// a node host restart its controllers report the earlier tasks' containers gone, as a real executor
/// whose containers died with the host would.
/// </summary>
public sealed class FakeExecutor : ITaskExecutor
{
    public const int StoppedExitCode = 143;
    public const int KilledExitCode = 137;

    /// <summary>Log lines kept per container; older ones are dropped, as a rotated log file would lose them.</summary>
    public const int MaxLogEntries = 1_000;

    /// <summary>Calls kept in <see cref="Calls"/>: a lab node polled for logs for hours must not grow without bound.</summary>
    public const int MaxCalls = 10_000;

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly Dictionary<string, FakeContainer> _containers = new(StringComparer.Ordinal);
    private readonly Queue<FakeExecutorCall> _calls = new();

    public FakeExecutor(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>The last <see cref="MaxCalls"/> controller calls, in the order they were made.</summary>
    public IReadOnlyList<FakeExecutorCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>The calls made for one task, in order.</summary>
    public IReadOnlyList<ControllerOperation> CallsOf(string taskId) =>
        [.. Calls.Where(c => c.TaskId == taskId).Select(c => c.Operation)];

    /// <summary>How the task's container ended, if it did (null also once it was removed).</summary>
    public ContainerExit? ExitOf(string taskId)
    {
        lock (_gate)
        {
            return _containers.TryGetValue(taskId, out var container) && container.Exit.Task.IsCompleted ? container.Exit.Task.Result : null;
        }
    }

    /// <summary>The secret and config files the task's container was prepared with, as a real executor would mount them; null once it is removed.</summary>
    public TaskFiles? FilesOf(string taskId)
    {
        lock (_gate)
        {
            return _containers.TryGetValue(taskId, out var container) ? container.Files : null;
        }
    }

    /// <summary>Whether the task's container was prepared with a terminal (its spec's TTY), as the Linux executor would give
    /// its main process one; null when this executor holds no container for the task (not prepared, or removed).</summary>
    public bool? TtyOf(string taskId)
    {
        lock (_gate)
        {
            return _containers.TryGetValue(taskId, out var container) ? container.Tty : null;
        }
    }

    /// <summary>Every container is killed and forgotten, as the Linux executor removes them when the node leaves.</summary>
    public Task RemoveAllAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            foreach (var (taskId, container) in _containers)
            {
                Record(taskId, ControllerOperation.Remove);
                FakeController.ExitLocked(container, new ContainerExit(KilledExitCode));
            }

            _containers.Clear();
        }

        return Task.CompletedTask;
    }

    public ITaskController CreateController(TaskObject task) => CreateController(task, TaskFiles.None);

    public ITaskController CreateController(TaskObject task, TaskFiles files) =>
        new FakeController(this, task.Id, FakeBehaviour.Parse(task.Spec.Container.Env), TaskStep.HasHealthCheck(task.Spec.Container),
            TaskStep.StopGracePeriodOf(task.Spec.Container), files, task.Spec.Container.TTY);

    private void Record(string taskId, ControllerOperation operation)
    {
        lock (_gate)
        {
            _calls.Enqueue(new FakeExecutorCall(taskId, operation));
            if (_calls.Count > MaxCalls)
            {
                _calls.Dequeue();
            }
        }
    }

    /// <summary>What a task's environment asks of the fake; Problem is a variable that could not be read.</summary>
    private sealed record FakeBehaviour(
        TimeSpan StartDelay,
        TimeSpan? RunFor,
        int? ExitCode,
        string? PrepareError,
        ContainerHealth Health,
        bool IgnoreStop,
        ImmutableArray<string> Output,
        ImmutableArray<string> Stderr,
        TimeSpan? LogEvery,
        string? Problem)
    {
        public static FakeBehaviour Parse(ImmutableArray<string> env)
        {
            var vars = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in env)
            {
                var eq = entry.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    vars[entry[..eq]] = entry[(eq + 1)..];
                }
            }

            string? problem = null;
            var startDelay = Milliseconds(vars, "FAKE_START_DELAY_MS", ref problem) ?? TimeSpan.Zero;
            var runFor = Milliseconds(vars, "FAKE_RUN_MS", ref problem);
            int? exitCode = null;
            if (vars.TryGetValue("FAKE_EXIT_CODE", out var code))
            {
                if (int.TryParse(code, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
                {
                    exitCode = parsed;
                }
                else
                {
                    problem ??= $"FAKE_EXIT_CODE={code} is not an exit code; give a whole number such as 3";
                }
            }

            var health = ContainerHealth.Healthy;
            if (vars.TryGetValue("FAKE_HEALTH", out var wantedHealth))
            {
                switch (wantedHealth.ToUpperInvariant())
                {
                    case "HEALTHY":
                        break;
                    case "UNHEALTHY":
                        health = ContainerHealth.Unhealthy;
                        break;
                    case "STARTING":
                        health = ContainerHealth.Starting;
                        break;
                    default:
                        problem ??= $"FAKE_HEALTH={wantedHealth} is not a health; give healthy, unhealthy or starting";
                        break;
                }
            }

            var prepareError = vars.TryGetValue("FAKE_PREPARE_ERROR", out var error) && error.Length > 0 ? error : null;
            var ignoreStop = vars.TryGetValue("FAKE_IGNORE_STOP", out var ignore) && ignore == "1";
            var logEvery = Milliseconds(vars, "FAKE_LOG_EVERY_MS", ref problem);
            if (logEvery == TimeSpan.Zero)
            {
                problem ??= "FAKE_LOG_EVERY_MS=0 would write without pause; give a whole number of milliseconds of at least 1, such as 500";
                logEvery = null;
            }

            return new FakeBehaviour(startDelay, runFor, exitCode, prepareError, health, ignoreStop,
                Lines(vars, "FAKE_OUTPUT"), Lines(vars, "FAKE_STDERR"), logEvery, problem);
        }

        /// <summary>A variable's lines: `|` or a literal backslash-n separates them, since an env value given on a command line rarely holds a newline.</summary>
        private static ImmutableArray<string> Lines(Dictionary<string, string> vars, string name) =>
            vars.TryGetValue(name, out var value) && value.Length > 0
                ? [.. value.Split(["\\n", "|", "\n"], StringSplitOptions.None)]
                : [];

        private static TimeSpan? Milliseconds(Dictionary<string, string> vars, string name, ref string? problem)
        {
            if (!vars.TryGetValue(name, out var value))
            {
                return null;
            }

            if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
            {
                return TimeSpan.FromMilliseconds(ms);
            }

            problem ??= $"{name}={value} is not a number of milliseconds; give a whole number such as 500";
            return null;
        }
    }

    /// <summary>A container that exists only in this process's memory; guarded by the executor's lock.</summary>
    private sealed class FakeContainer(TaskFiles files, bool tty)
    {
        public TaskFiles Files { get; } = files;

        public bool Tty { get; } = tty;

        public bool Started { get; set; }

        public DateTimeOffset? StartedAt { get; set; }

        public ContainerHealth Health { get; set; } = ContainerHealth.Starting;

        public TaskCompletionSource HealthChanged { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set when a shutdown or kill begins, as the real executor stops the health probes then.</summary>
        public bool HealthStopped { get; set; }

        public TaskCompletionSource<ContainerExit> Exit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ITimer? RunTimer { get; set; }

        public ITimer? LogTimer { get; set; }

        public int Ticks { get; set; }

        public Queue<TaskLogEntry> Log { get; } = new();

        public long LastSequence { get; set; }

        public void Write(DateTimeOffset at, LogStream stream, string line)
        {
            Log.Enqueue(new TaskLogEntry(++LastSequence, at, stream, line));
            if (Log.Count > MaxLogEntries)
            {
                Log.Dequeue();
            }
        }
    }

    private sealed class FakeController(FakeExecutor executor, string taskId, FakeBehaviour behaviour, bool hasHealthCheck, TimeSpan gracePeriod, TaskFiles files, bool tty)
        : ITaskController
    {
        public Task PrepareAsync(CancellationToken ct)
        {
            executor.Record(taskId, ControllerOperation.Prepare);
            if (behaviour.Problem is { } problem)
            {
                throw new InvalidOperationException(problem);
            }

            if (behaviour.PrepareError is { } error)
            {
                throw new InvalidOperationException(error);
            }

            lock (executor._gate)
            {
                executor._containers.TryAdd(taskId, new FakeContainer(files, tty));
            }

            return Task.CompletedTask;
        }

        public async Task StartAsync(CancellationToken ct)
        {
            // The delay's timer exists before the call is recorded, so a test that saw the call can move the clock past it.
            var delay = behaviour.StartDelay > TimeSpan.Zero ? Task.Delay(behaviour.StartDelay, executor._time, ct) : Task.CompletedTask;
            executor.Record(taskId, ControllerOperation.Start);
            var container = Find() ?? throw new InvalidOperationException($"task {taskId} has no container on this node; prepare it first");
            await delay;
            lock (executor._gate)
            {
                if (container.Started || container.Exit.Task.IsCompleted)
                {
                    return;
                }

                container.Started = true;
                container.StartedAt = executor._time.GetUtcNow();
                WriteStartOutput(container);
                SetHealth(container, hasHealthCheck ? behaviour.Health : ContainerHealth.Healthy);
                if (behaviour.RunFor is { } runFor && runFor > TimeSpan.Zero)
                {
                    var exit = new ContainerExit(behaviour.ExitCode ?? 0);
                    container.RunTimer = executor._time.CreateTimer(_ => Exit(container, exit), null, runFor, Timeout.InfiniteTimeSpan);
                }
                else if (behaviour.RunFor is not null || behaviour.ExitCode is not null)
                {
                    ExitLocked(container, new ContainerExit(behaviour.ExitCode ?? 0));
                }
            }
        }

        public Task<ContainerExit> WaitAsync(CancellationToken ct)
        {
            executor.Record(taskId, ControllerOperation.Wait);
            var container = Find() ?? throw new InvalidOperationException($"task {taskId} has no container on this node");
            return container.Exit.Task.WaitAsync(ct);
        }

        public async Task<ContainerHealth> WaitHealthAsync(ContainerHealth known, CancellationToken ct)
        {
            executor.Record(taskId, ControllerOperation.WatchHealth);
            var container = Find() ?? throw new InvalidOperationException($"task {taskId} has no container on this node");
            while (true)
            {
                Task changed;
                lock (executor._gate)
                {
                    ObjectDisposedException.ThrowIf(container.HealthStopped, container);
                    if (container.Health != known)
                    {
                        return container.Health;
                    }

                    changed = container.HealthChanged.Task;
                }

                await changed.WaitAsync(ct);
            }
        }

        public async Task ShutdownAsync(CancellationToken ct)
        {
            var container = Find();
            bool running;
            lock (executor._gate)
            {
                running = container is { Started: true } && !container.Exit.Task.IsCompleted;
                StopHealthLocked(container);
            }

            if (!running || !behaviour.IgnoreStop)
            {
                executor.Record(taskId, ControllerOperation.Shutdown);
                if (running)
                {
                    Exit(container!, new ContainerExit(StoppedExitCode));
                }

                return;
            }

            // The grace period's timer exists before the call is recorded (see StartAsync).
            var grace = Task.Delay(gracePeriod, executor._time, ct);
            executor.Record(taskId, ControllerOperation.Shutdown);
            await Task.WhenAny(grace, container!.Exit.Task).WaitAsync(ct);
            Exit(container, new ContainerExit(KilledExitCode));
        }

        public Task TerminateAsync(CancellationToken ct)
        {
            executor.Record(taskId, ControllerOperation.Terminate);
            if (Find() is { } container)
            {
                lock (executor._gate)
                {
                    StopHealthLocked(container);
                }

                Exit(container, new ContainerExit(KilledExitCode));
            }

            return Task.CompletedTask;
        }

        /// <summary>Nothing is held beside the fake container; recorded, so tests see that an end is released before it is reported.</summary>
        public Task ReleaseAsync(CancellationToken ct)
        {
            executor.Record(taskId, ControllerOperation.Release);
            return Task.CompletedTask;
        }

        public Task RemoveAsync(CancellationToken ct)
        {
            executor.Record(taskId, ControllerOperation.Remove);
            lock (executor._gate)
            {
                if (executor._containers.Remove(taskId, out var container))
                {
                    ExitLocked(container, new ContainerExit(KilledExitCode));
                }
            }

            return Task.CompletedTask;
        }

        public Task<ContainerInspection> InspectAsync(CancellationToken ct)
        {
            executor.Record(taskId, ControllerOperation.Inspect);
            lock (executor._gate)
            {
                return Task.FromResult(executor._containers.TryGetValue(taskId, out var container)
                    ? new ContainerInspection(true, container.StartedAt)
                    : ContainerInspection.Gone);
            }
        }

        public Task<IReadOnlyList<TaskLogEntry>> ReadLogsAsync(long after, int? tail, CancellationToken ct)
        {
            executor.Record(taskId, ControllerOperation.ReadLogs);
            lock (executor._gate)
            {
                if (!executor._containers.TryGetValue(taskId, out var container))
                {
                    return Task.FromResult<IReadOnlyList<TaskLogEntry>>([]);
                }

                var entries = container.Log.Where(e => e.Sequence > after).ToList();
                if (tail is { } last && last < entries.Count)
                {
                    entries = entries[Math.Max(0, entries.Count - last)..];
                }

                return Task.FromResult<IReadOnlyList<TaskLogEntry>>(entries);
            }
        }

        /// <summary>FAKE_OUTPUT and FAKE_STDERR at once, then FAKE_LOG_EVERY_MS's ticks until the container exits; under the executor's lock.</summary>
        private void WriteStartOutput(FakeContainer container)
        {
            var now = executor._time.GetUtcNow();
            foreach (var line in behaviour.Output)
            {
                container.Write(now, LogStream.Stdout, line);
            }

            foreach (var line in behaviour.Stderr)
            {
                container.Write(now, LogStream.Stderr, line);
            }

            if (behaviour.LogEvery is { } every)
            {
                container.LogTimer = executor._time.CreateTimer(_ => Tick(container), null, every, every);
            }
        }

        private void Tick(FakeContainer container)
        {
            lock (executor._gate)
            {
                if (container.Exit.Task.IsCompleted)
                {
                    return;
                }

                container.Ticks++;
                container.Write(executor._time.GetUtcNow(), LogStream.Stdout, string.Create(CultureInfo.InvariantCulture, $"tick {container.Ticks}"));
            }
        }

        private FakeContainer? Find()
        {
            lock (executor._gate)
            {
                return executor._containers.GetValueOrDefault(taskId);
            }
        }

        private void Exit(FakeContainer container, ContainerExit exit)
        {
            lock (executor._gate)
            {
                ExitLocked(container, exit);
            }
        }

        internal static void ExitLocked(FakeContainer container, ContainerExit exit)
        {
            container.RunTimer?.Dispose();
            container.RunTimer = null;
            container.LogTimer?.Dispose();
            container.LogTimer = null;
            container.Exit.TrySetResult(exit);
        }

        /// <summary>The real executor's StopHealthChecks: waiting and later health questions fail as disposed.</summary>
        private static void StopHealthLocked(FakeContainer? container)
        {
            if (container is null || container.HealthStopped)
            {
                return;
            }

            container.HealthStopped = true;
            container.HealthChanged.TrySetException(new ObjectDisposedException("HealthMonitor"));
        }

        private static void SetHealth(FakeContainer container, ContainerHealth health)
        {
            if (container.Health == health)
            {
                return;
            }

            container.Health = health;
            var changed = container.HealthChanged;
            container.HealthChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.TrySetResult();
        }
    }
}

/// <summary>One call the fake executor received: which task, which operation.</summary>
public sealed record FakeExecutorCall(string TaskId, ControllerOperation Operation);
