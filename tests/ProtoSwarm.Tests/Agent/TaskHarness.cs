using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Proto;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Agent;

/// <summary>
/// One node's task supervisor in an in-process actor system, under a stand-in agent that passes
/// assignments down and collects every status that comes up. The executor is the fake, on a fake
/// clock the test moves; a new harness is a node host that restarted (its executor knows nothing).
/// </summary>
internal sealed class TaskHarness : IAsyncDisposable
{
    private readonly ActorSystem _system = new(new ActorSystemConfig().WithDeveloperSupervisionLogging(false));
    private readonly Channel<TaskStatusChanged> _incoming = Channel.CreateUnbounded<TaskStatusChanged>();
    private readonly List<TaskStatusChanged> _seen = [];
    private readonly PID _agent;
    private PID? _supervisor;

    /// <param name="maxConcurrentStarts">The node's start gate (<see cref="StartGate"/>); 0: none.</param>
    public TaskHarness(int maxConcurrentStarts = 0)
    {
        Executor = new FakeExecutor(Time);
        _agent = _system.Root.Spawn(Props.FromFunc(context =>
        {
            switch (context.Message)
            {
                case Started:
                    _supervisor = context.SpawnNamed(TaskSupervisor.PropsFor(Executor, Time, NullLoggerFactory.Instance, maxConcurrentStarts), "tasks");
                    break;
                case TaskStatusChanged changed:
                    _incoming.Writer.TryWrite(changed);
                    break;
                case TaskAssignments or ResendTaskStatuses:
                    context.Send(_supervisor!, context.Message);
                    break;
            }

            return Task.CompletedTask;
        }));
    }

    public FakeTimeProvider Time { get; } = new(TestNodes.T0);

    public FakeExecutor Executor { get; }

    public void Send(object message) => _system.Root.Send(_agent, message);

    /// <summary>Asks the supervisor for the lines of these tasks, as the agent passes a manager's request down.</summary>
    public Task<TaskLogs> ReadLogsAsync(int? tail = null, params TaskLogCursor[] tasks) => ReadLogsAsync(new ReadTaskLogs([.. tasks], tail));

    /// <summary>Passes a manager's request to the supervisor as it came.</summary>
    public async Task<TaskLogs> ReadLogsAsync(ReadTaskLogs read)
    {
        while (_supervisor is null)
        {
            await Task.Delay(5);
        }

        return await _system.Root.RequestAsync<TaskLogs>(_supervisor, read, TestTimeout.Token);
    }

    /// <summary>The lines of one task as the supervisor answers them.</summary>
    public async Task<IReadOnlyList<string>> LinesOfAsync(string taskId, long after = 0, int? tail = null) =>
        [.. (await ReadLogsAsync(tail, new TaskLogCursor(taskId, after))).Tasks.Single(t => t.TaskId == taskId).Entries.Select(e => e.Line)];

    /// <summary>The statuses received so far (read up to the last wait).</summary>
    public IReadOnlyList<TaskStatusChanged> Seen => _seen;

    public IEnumerable<TaskState> StatesOf(string taskId) => _seen.Where(s => s.TaskId == taskId).Select(s => s.Status.State);

    /// <summary>Forgets the statuses received so far, so the next wait sees only new ones.</summary>
    public void Forget()
    {
        while (_incoming.Reader.TryRead(out _))
        {
        }

        _seen.Clear();
    }

    /// <summary>The <paramref name="nth"/> status of the task in that state, received already or waited for.</summary>
    public async Task<TaskObservedStatus> WaitForAsync(string taskId, TaskState state, int nth = 1)
    {
        var ct = TestTimeout.Token;
        while (true)
        {
            if (_seen.Where(s => s.TaskId == taskId && s.Status.State == state).Skip(nth - 1).FirstOrDefault() is { } seen)
            {
                return seen.Status;
            }

            try
            {
                _seen.Add(await _incoming.Reader.ReadAsync(ct));
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"Task {taskId} never reported {state}; it reported {string.Join(", ", StatesOf(taskId))}");
            }
        }
    }

    /// <summary>The next status received, of any task.</summary>
    public async Task<TaskStatusChanged> NextAsync()
    {
        var next = await _incoming.Reader.ReadAsync(TestTimeout.Token);
        _seen.Add(next);
        return next;
    }

    /// <summary>Waits until the executor received that call for the task.</summary>
    public async Task WaitForCallAsync(string taskId, ControllerOperation operation)
    {
        var until = DateTime.UtcNow + TestTimeout.Span;
        while (!Executor.CallsOf(taskId).Contains(operation))
        {
            Assert.True(DateTime.UtcNow < until, $"Task {taskId} never got {operation}; it got {string.Join(", ", Executor.CallsOf(taskId))}");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync() => await _system.ShutdownAsync();
}
