using Google.Protobuf.WellKnownTypes;
using Proto;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Benchmarks.Raft;

/// <summary>
/// The leader-side end of the client hop: writes the node object it is sent as a put would (created
/// when new, else updated over the version it has now; a write that lost a race to the same key reads
/// again and retries, as a client would) and answers with the committed index once applied.
/// </summary>
internal sealed class BenchWriterActor(IProposer proposer, SwarmStore store) : IActor
{
    public Task ReceiveAsync(IContext context)
    {
        if (context.Message is NodeObject node && context.Sender is { } sender)
        {
            // Answered from the write's own continuation, not through this actor's mailbox
            // (ReenterAfter): the managers' API answers its caller from its continuation too
            // (ManagerApiActor awaits the write and responds), so the benchmark's write path costs
            // the hand-offs a real client's does, not one more (docs/benchmarks.md, issue 3).
            // The actor keeps no state, so nothing here needs its mailbox's ordering.
            _ = PutAsync(node).ContinueWith(
                static (done, state) =>
                {
                    var (root, sender) = ((IRootContext, PID))state!;
                    root.Send(sender, done.IsCompletedSuccessfully
                        ? new UInt64Value { Value = done.Result }
                        : new CommandRejected(RejectCode.Unavailable, done.Exception?.GetBaseException().Message ?? "cancelled"));
                },
                (context.System.Root, sender),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        return Task.CompletedTask;
    }

    private async Task<ulong> PutAsync(NodeObject node)
    {
        for (var attempt = 0; ; attempt++)
        {
            var current = store.Current.Get<NodeObject>(node.Id);
            try
            {
                return await proposer.ProposeAsync([current is null ? StoreChange.Create(node) : StoreChange.Update(node with { Meta = current.Meta })]);
            }
            catch (StoreConflictException) when (attempt < 10)
            {
            }
        }
    }
}
