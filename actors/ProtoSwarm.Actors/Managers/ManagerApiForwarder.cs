using Proto;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// <c>manager-api</c> on a manager that does not hold the store: it asks the one that does and
/// relays the answer, so a client may talk to any manager.
/// </summary>
public sealed class ManagerApiForwarder : IActor
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly Func<string?> _leaderAddr;

    public ManagerApiForwarder(Func<string?> leaderAddr) => _leaderAddr = leaderAddr;

    public Task ReceiveAsync(IContext context)
    {
        if (context.Message is null || !ContractRegistry.IsContract(context.Message.GetType()) || context.Sender is null)
        {
            return Task.CompletedTask;
        }

        if (_leaderAddr() is not { Length: > 0 } leader)
        {
            context.Respond(new CommandRejected(RejectCode.Unavailable, "This manager does not know the leader yet; try again in a few seconds."));
            return Task.CompletedTask;
        }

        var sender = context.Sender;
        var request = context.RequestAsync<object>(new PID(leader, Kinds.ManagerApi), context.Message, Timeout);
        context.ReenterAfter(request, task =>
        {
            context.Send(sender, task.IsCompletedSuccessfully
                ? task.Result
                : new CommandRejected(RejectCode.Unavailable, $"The leader at {leader} did not answer: {task.Exception?.GetBaseException().Message ?? "timed out"}"));
            return Task.CompletedTask;
        });
        return Task.CompletedTask;
    }
}
