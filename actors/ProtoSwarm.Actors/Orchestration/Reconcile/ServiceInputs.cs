using System.Collections.Immutable;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>
/// Everything the reconcile step of one service reads, gathered by its actor from the store:
/// the service (null once it was removed), every task of it with history, every node, and the
/// time. Nothing else is read, so the step is a pure function of these.
/// </summary>
/// <param name="ServiceId">The service being reconciled, also when <paramref name="Service"/> is null.</param>
/// <param name="Service">Null: the service was removed from the store and its tasks must go.</param>
/// <param name="Tasks">Every task of this service in the store: all slots, history included.</param>
/// <param name="Nodes">Every node in the store.</param>
/// <param name="Now">The caller's clock; the step never reads one.</param>
/// <param name="TaskHistoryLimit">
/// Tasks kept per slot (replicated) or per node (global), the live one included, as swarmkit's
/// TaskHistoryRetentionLimit (`swarm update --task-history-limit`); negative keeps all.
/// </param>
public sealed record ServiceInputs(
    string ServiceId,
    ServiceObject? Service,
    IReadOnlyList<TaskObject> Tasks,
    IReadOnlyList<NodeObject> Nodes,
    DateTimeOffset Now,
    long TaskHistoryLimit = ClusterObject.DefaultTaskHistoryLimit);

/// <summary>
/// What one reconcile step decided. Changes are written as one all-or-nothing proposal, each
/// update and delete naming the version it read; WakeAt asks for another step at that time even
/// if nothing in the store changes (a restart delay, an update's monitor or delay, a restart
/// window that ages out); Events are sentences for the log, one per notable decision.
/// </summary>
public sealed record ReconcileOutcome(
    ImmutableArray<StoreChange> Changes,
    DateTimeOffset? WakeAt,
    ImmutableArray<string> Events);
