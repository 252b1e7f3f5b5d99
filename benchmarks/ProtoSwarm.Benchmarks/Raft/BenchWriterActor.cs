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
            context.ReenterAfter(PutAsync(node), done =>
            {
                context.Send(sender, done.IsCompletedSuccessfully
                    ? new UInt64Value { Value = done.Result }
                    : new CommandRejected(RejectCode.Unavailable, done.Exception?.GetBaseException().Message ?? "cancelled"));
                return Task.CompletedTask;
            });
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
