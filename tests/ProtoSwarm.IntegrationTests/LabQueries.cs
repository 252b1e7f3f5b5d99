using System.Diagnostics;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.IntegrationTests;

/// <summary>What the lab tests ask a lab swarm: the CLI on m1 as an operator types it, and tasks and nodes read from m1's control socket.</summary>
internal static class LabQueries
{
    internal static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(10);

    internal sealed record LabTask(TaskObject Task, string Node, string Service);

    internal sealed record Polled(bool Met, IReadOnlyList<LabTask> Tasks, string Last);

    /// <summary>
    /// Runs a command again every <paramref name="interval"/> until its result is <paramref name="done"/> or
    /// <paramref name="limit"/> has passed (each result not done is shown to <paramref name="notYet"/>); the last
    /// result either way, for the test to assert on and print.
    /// </summary>
    internal static async Task<RunResult> RepeatUntilAsync(Func<Task<RunResult>> run, Func<RunResult, bool> done, TimeSpan limit, TimeSpan interval, Action<RunResult>? notYet = null)
    {
        var clock = Stopwatch.StartNew();
        var result = await run();
        while (!done(result) && clock.Elapsed < limit)
        {
            notYet?.Invoke(result);
            await Task.Delay(interval);
            result = await run();
        }

        return result;
    }

    /// <summary>`protoswarm service ARGS` on m1, as an operator types it.</summary>
    internal static Task<RunResult> ServiceAsync(LabFixture lab, params string[] arguments) =>
        lab.ExecAsync("m1", ["protoswarm", "service", .. arguments]);

    internal static async Task<ControlClient> ManagerAsync(LabFixture lab) =>
        new(Path.Combine((await lab.NodeAsync("m1")).GetProperty("StateDir").GetString()!, ControlClient.SocketFileName));

    internal static async Task<IReadOnlyList<LabTask>> TasksAsync(LabFixture lab, string? service)
    {
        var client = await ManagerAsync(lab);
        var list = await client.RequestAsync<TaskList>(new ListTasks(NewId(), service is null ? [] : [service]), QueryTimeout);
        return [.. list.Tasks.Select(t => new LabTask(t, list.NodeNames.GetValueOrDefault(t.NodeId, t.NodeId), list.ServiceNames.GetValueOrDefault(t.ServiceId, t.ServiceId)))];
    }

    internal static async Task<ServiceObject> InspectAsync(LabFixture lab, string service) =>
        (await (await ManagerAsync(lab)).RequestAsync<ServiceDetails>(new InspectService(NewId(), service), QueryTimeout)).Service;

    internal static async Task<IReadOnlyList<LabTask>> RunningAsync(LabFixture lab, string service) =>
        [.. (await TasksAsync(lab, service)).Where(t => t.Task.DesiredState == TaskState.Running && t.Task.Status.State == TaskState.Running)];

    internal static async Task<Polled> PollAsync(LabFixture lab, TimeSpan limit, string? service, Func<IReadOnlyList<LabTask>, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        var last = "(none)";
        while (true)
        {
            try
            {
                var tasks = await TasksAsync(lab, service);
                last = Describe(tasks);
                if (condition(tasks))
                {
                    return new Polled(true, tasks, last);
                }
            }
            catch (Exception e) when (e is ProtoSwarm.Client.SwarmCommandException or IOException or TimeoutException)
            {
                last = e.Message;
            }

            if (clock.Elapsed > limit)
            {
                return new Polled(false, [], last);
            }

            await Task.Delay(PollInterval);
        }
    }

    internal static string Describe(IEnumerable<LabTask> tasks) =>
        string.Join("; ", tasks.OrderBy(t => t.Service, StringComparer.Ordinal).ThenBy(t => t.Task.Slot)
            .Select(t => $"{t.Service}.{t.Task.Slot} {t.Task.Id[..6]} on {t.Node}: desired {t.Task.DesiredState}, {t.Task.Status.State} {t.Task.Status.Err}"));

    internal static async Task<bool> PollNodesReadyAsync(LabFixture lab, int count, TimeSpan limit) =>
        await PollNodesAsync(lab, limit, nodes => nodes.Count(n => n.Status.State == NodeState.Ready) == count);

    internal static async Task<bool> PollNodesDownAsync(LabFixture lab, string hostname, TimeSpan limit) =>
        await PollNodesAsync(lab, limit, nodes => nodes.Any(n => n.Description.Hostname == hostname && n.Status.State == NodeState.Down));

    internal static async Task<bool> PollNodesAsync(LabFixture lab, TimeSpan limit, Func<IReadOnlyList<NodeObject>, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            try
            {
                var list = await (await ManagerAsync(lab)).RequestAsync<NodeList>(new ListNodes(NewId()), QueryTimeout);
                if (condition(list.Nodes))
                {
                    return true;
                }
            }
            catch (Exception e) when (e is ProtoSwarm.Client.SwarmCommandException or IOException or TimeoutException)
            {
            }

            await Task.Delay(PollInterval);
        }

        return false;
    }

    internal static string NewId() => Guid.NewGuid().ToString("N");
}
