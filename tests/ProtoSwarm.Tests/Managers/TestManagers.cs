using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Managers;

/// <summary>
/// A manager context for API tests: this manager is the Raft leader, and its Raft peer is a stand-in
/// that records the membership changes and leadership transfers asked of it and applies them at once,
/// and has heard from every member lately.
/// </summary>
internal static class TestManagers
{
    public static (ManagerContext Context, ConcurrentQueue<object> RaftRequests) Leader(ActorSystem system, SwarmStore store, IProposer proposer, string localNodeId)
    {
        var requests = new ConcurrentQueue<object>();
        var view = new RaftView(TestNodes.RaftIdOf(localNodeId));
        view.Update(view.RaftId, 1, [view.RaftId], []);
        var raft = system.Root.Spawn(Props.FromFunc(context =>
        {
            switch (context.Message)
            {
                case ProposeMembership m:
                    requests.Enqueue(m.Change);
                    context.Respond(new MembershipAnswer(true, string.Empty));
                    break;
                case TransferLeadershipTo t:
                    requests.Enqueue(t);
                    break;
                case RequestRead:
                    // A lone leader: every read is confirmed at once.
                    context.Respond(new ReadAnswer(true, 0, string.Empty));
                    break;
                case GetPeersHeardSince:
                    context.Respond(new PeersHeard([.. view.Voters, .. view.Learners]));
                    break;
            }

            return Task.CompletedTask;
        }));
        return (new ManagerContext(store, proposer, TimeProvider.System, NullLoggerFactory.Instance, view, raft), requests);
    }

    public static string? NoAddress(ulong raftId) => null;
}
