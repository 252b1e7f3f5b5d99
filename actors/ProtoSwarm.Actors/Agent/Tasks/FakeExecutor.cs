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
/// </list>
/// Without any of them a task runs until it is stopped. A stopped container exits 143, a killed one
/// 137. Time comes from the injected TimeProvider, so tests drive it with a fake clock. Every call is
/// recorded (<see cref="Calls"/>). It knows only the containers it prepared in this process, so after
/// a node host restart its controllers report the earlier tasks' containers gone, as a real executor
/// whose containers died with the host would.
/// </summary>
public sealed class FakeExecutor : ITaskExecutor
{
    public const int StoppedExitCode = 143;
    public const int KilledExitCode = 137;

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly Dictionary<string, FakeContainer> _containers = new(StringComparer.Ordinal);
    private readonly List<FakeExecutorCall> _calls = [];

    public FakeExecutor(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>Every controller call so far, in the order they were made.</summary>
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

    public ITaskController CreateController(TaskObject task) =>
        new FakeController(this, task.Id, FakeBehaviour.Parse(task.Spec.Container.Env), TaskStep.HasHealthCheck(task.Spec.Container),
            TaskStep.StopGracePeriodOf(task.Spec.Container));

    private void Record(string taskId, ControllerOperation operation)
    {
        lock (_gate)
        {
            _calls.Add(new FakeExecutorCall(taskId, operation));
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
            return new FakeBehaviour(startDelay, runFor, exitCode, prepareError, health, ignoreStop, problem);
        }

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
    private sealed class FakeContainer
    {
        public bool Started { get; set; }

        public DateTimeOffset? StartedAt { get; set; }

        public ContainerHealth Health { get; set; } = ContainerHealth.Starting;

        public TaskCompletionSource HealthChanged { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<ContainerExit> Exit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ITimer? RunTimer { get; set; }
    }

    private sealed class FakeController(FakeExecutor executor, string taskId, FakeBehaviour behaviour, bool hasHealthCheck, TimeSpan gracePeriod)
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
                executor._containers.TryAdd(taskId, new FakeContainer());
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
                Exit(container, new ContainerExit(KilledExitCode));
            }

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

        private static void ExitLocked(FakeContainer container, ContainerExit exit)
        {
            container.RunTimer?.Dispose();
            container.RunTimer = null;
            container.Exit.TrySetResult(exit);
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
