using System.Collections.Immutable;
using Proto;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>`service logs`: the managers ask the nodes of a service's tasks for their lines; nothing is stored.</summary>
public sealed partial class ManagerApiActor
{
    /// <summary>
    /// A node that has not answered by then is named in the answer's warnings, not waited for. Above the agent's 4.5 s:
    /// a page of a large log is parsed from the start of its files, which takes seconds on a busy node.
    /// </summary>
    private static readonly TimeSpan NodeLogTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A node that a query (logs, usage) asks about its own tasks: its name for warnings, its agent, or why it
    /// cannot be asked (gone, down, or not yet reachable).
    /// </summary>
    private (string Name, PID? Agent, string? Missing) NodeToAsk(string nodeId)
    {
        var node = State.Get<NodeObject>(nodeId);
        var name = node?.Description.Hostname ?? nodeId;
        var agent = node is null ? null : _manager.AgentPid(node);
        string? missing = node switch
        {
            null => "is no longer in the swarm",
            { Status.State: NodeState.Down } => "is down",
            _ when agent is null => "has not said where it is reachable yet",
            _ => null,
        };
        return (name, agent, missing);
    }

    /// <summary>
    /// Asks every node involved at once and answers when all have answered or timed out. The answer
    /// is sent from a continuation, so the query worker goes on answering meanwhile: null is returned
    /// unless the request is refused at once.
    /// </summary>
    private CommandRejected? OnGetServiceLogs(IContext context, GetServiceLogs m)
    {
        if (m.Tail is < 0)
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"Tail {m.Tail} is not a number of lines; give 0 or more, or none for all.");
        }

        var (serviceId, tasks, rejected) = ServiceLogGathering.ResolveTarget(Services(), State.List<TaskObject>(), m.ServiceRef);
        if (rejected is not null)
        {
            return rejected;
        }

        if (!tasks.IsEmpty && tasks.All(t => t.Spec.LogDriver?.Name == LogDriverRule.None))
        {
            // Docker's answer; nothing was kept to read.
            return new CommandRejected(RejectCode.InvalidArgument,
                $"configured logging driver does not support reading: {m.ServiceRef}'s tasks log with the {LogDriverRule.None} driver, which keeps nothing; " +
                $"`service update --log-driver {LogDriverRule.JsonFile} {m.ServiceRef}` keeps the next tasks' output");
        }

        // The nodes apply since and tail; each task gets its share of a page, so the nodes' answers, and the one
        // merged from them, stay about one page however long the logs are.
        var perTask = TaskLogPaging.PerTask(TaskLogPaging.DefaultPageBytes, tasks.Count(t => t.NodeId.Length > 0));
        var asks = new List<Task<NodeLogAnswer>>();
        foreach (var group in tasks.Where(t => t.NodeId.Length > 0).GroupBy(t => t.NodeId, StringComparer.Ordinal))
        {
            var onNode = group.ToImmutableArray();
            var (name, agent, missing) = NodeToAsk(group.Key);
            if (missing is not null)
            {
                asks.Add(Task.FromResult(new NodeLogAnswer(group.Key, name, onNode, null, missing)));
                continue;
            }

            var read = new ReadTaskLogs([.. onNode.Select(t => new TaskLogCursor(t.Id, m.After.GetValueOrDefault(t.Id)))], m.Tail, m.Since, perTask);
            asks.Add(AskNodeAsync(context, agent!, read, group.Key, name, onNode));
        }

        var sender = context.Sender;
        context.ReenterAfter(Task.WhenAll(asks), done =>
        {
            if (sender is not null)
            {
                context.Send(sender, ServiceLogGathering.Merge(serviceId!, done.Result, m.After));
            }

            return Task.CompletedTask;
        });
        return null;
    }

    /// <summary>
    /// Why a node could not be asked, for an operator: its agent is gone (the node host stopped or restarted
    /// lately, before the swarm has judged it Down) rather than Proto.Actor's message, which names an actor path.
    /// </summary>
    internal static string Unreachable(Exception e) => e is DeadLetterException
        ? "is not reachable (its node host stopped or restarted lately; `node ls` shows it Down within seconds if it is gone)"
        : $"could not be asked ({e.Message})";

    private static async Task<NodeLogAnswer> AskNodeAsync(IContext context, PID agent, ReadTaskLogs read, string nodeId, string name, ImmutableArray<TaskObject> tasks)
    {
        try
        {
            var logs = await context.RequestAsync<TaskLogs>(agent, read, NodeLogTimeout);
            return new NodeLogAnswer(nodeId, name, tasks, logs, null);
        }
        catch (TimeoutException)
        {
            return new NodeLogAnswer(nodeId, name, tasks, null, $"did not answer within {NodeLogTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is DeadLetterException or OperationCanceledException or InvalidOperationException)
        {
            return new NodeLogAnswer(nodeId, name, tasks, null, Unreachable(e));
        }
    }
}
