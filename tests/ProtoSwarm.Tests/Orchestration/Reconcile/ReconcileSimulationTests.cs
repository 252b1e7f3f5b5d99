using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.Reconcile.Rc;

namespace ProtoSwarm.Tests.Orchestration.Reconcile;

/// <summary>
/// The step driven as the managers will drive it, against stand-ins for the rest of the swarm:
/// each tick of a fake clock the step runs and its changes are applied, a scheduler assigns pending
/// tasks round-robin to ready, active nodes, and nodes move their tasks on at once (an image named
/// "app:bad" fails as soon as it starts).
/// </summary>
public class ReconcileSimulationTests
{
    private static readonly UpdateConfig Careful = new(1, TimeSpan.FromSeconds(1), FailureAction.Rollback, TimeSpan.FromSeconds(3), 0, UpdateOrder.StopFirst);

    private static ServiceSpec Version(string image, long replicas = 3) =>
        Spec(ServiceMode.ReplicatedMode(replicas), image, new RestartPolicy(RestartCondition.Any, TimeSpan.FromSeconds(2)), update: Careful, rollback: Careful);

    private sealed class Cluster(ServiceSpec spec, params string[] nodes)
    {
        private int _next;

        public FakeStore Store { get; } = new(Service(spec), [], NodeList(nodes));

        public DateTimeOffset Now { get; private set; } = At(0);

        public List<string> Log { get; } = [];

        /// <summary>What the API does on `service update`: the new spec, the old one kept for rollback, the update started.</summary>
        public void UpdateService(ServiceSpec spec)
        {
            var service = Store.Service!;
            Store.Service = service with
            {
                Spec = spec,
                PreviousSpec = service.Spec,
                SpecVersion = service.SpecVersion + 1,
                UpdateStatus = new UpdateStatus(UpdateState.Updating, Now, null, "update in progress"),
            };
        }

        public void Run(int seconds, Func<bool>? until = null)
        {
            for (var i = 0; i < seconds && until?.Invoke() != true; i++)
            {
                Tick();
            }
        }

        private void Tick()
        {
            var outcome = Store.Step(Now);
            Log.AddRange(outcome.Events.Select(e => $"{(Now - At(0)).TotalSeconds,4}s {e}"));
            Schedule();
            RunNodes();
            Now += TimeSpan.FromSeconds(1);
        }

        private void Schedule()
        {
            var ready = Store.Nodes.Where(n => n.Status.State == NodeState.Ready && n.Spec.Availability == NodeAvailability.Active).Select(n => n.Id).ToList();
            foreach (var task in Store.Tasks.Values.Where(t => t.Status.State == TaskState.Pending && t.NodeId.Length == 0 && t.DesiredState <= TaskState.Running).ToList())
            {
                if (ready.Count > 0)
                {
                    Store.Assign(task.Id, ready[_next++ % ready.Count], Now);
                }
            }
        }

        private void RunNodes()
        {
            var up = Store.Nodes.Where(n => n.Status.State == NodeState.Ready).Select(n => n.Id).ToHashSet();
            foreach (var task in Store.Tasks.Values.Where(t => up.Contains(t.NodeId) && !TaskStates.IsTerminal(t.Status.State)).ToList())
            {
                if (task.DesiredState >= TaskState.Shutdown)
                {
                    Store.Report(task.Id, TaskState.Shutdown, Now);
                }
                else if (task.DesiredState == TaskState.Ready && task.Status.State < TaskState.Ready)
                {
                    Store.Report(task.Id, TaskState.Ready, Now);
                }
                else if (task.DesiredState == TaskState.Running && task.Status.State < TaskState.Running)
                {
                    var fails = task.Spec.Container.Image == "app:bad";
                    Store.Report(task.Id, fails ? TaskState.Failed : TaskState.Running, Now, fails ? 1 : null);
                }
            }
        }

        public void NodeDown(string id) =>
            Store.Nodes = [.. Store.Nodes.Select(n => n.Id == id ? n with { Status = n.Status with { State = NodeState.Down } } : n)];

        public List<TaskObject> Running => [.. Store.Tasks.Values.Where(t => t.DesiredState == TaskState.Running && t.Status.State == TaskState.Running)];

        public ServiceReplicas Replicas => ServiceReconciler.Replicas(Store.Service!, [.. Store.Tasks.Values], Store.Nodes);

        public bool Settled => Store.Reconcile(Now) is { Changes.IsEmpty: true };
    }

    [Fact]
    public void Three_Replicas_Converge_One_Per_Node()
    {
        var cluster = new Cluster(Version("app:1"), "a", "b", "c");

        cluster.Run(10);

        Assert.Equal(new ServiceReplicas(3, 3), cluster.Replicas);
        Assert.Equal(["a", "b", "c"], cluster.Running.Select(t => t.NodeId).Order());
        Assert.Equal([1L, 2L, 3L], cluster.Running.Select(t => t.Slot).Order());
        Assert.True(cluster.Settled);
    }

    [Fact]
    public void A_Down_Nodes_Task_Runs_Elsewhere_Within_A_Tick()
    {
        var cluster = new Cluster(Version("app:1"), "a", "b", "c");
        cluster.Run(5);

        cluster.NodeDown("b");
        cluster.Run(2);

        Assert.Equal(new ServiceReplicas(3, 3), cluster.Replicas);
        Assert.DoesNotContain(cluster.Running, t => t.NodeId == "b");
    }

    [Fact]
    public void A_Rolling_Update_Replaces_Every_Task_One_At_A_Time_And_Completes()
    {
        var cluster = new Cluster(Version("app:1"), "a", "b", "c");
        cluster.Run(5);

        cluster.UpdateService(Version("app:2"));
        var most = 0;
        cluster.Run(60, () =>
        {
            most = Math.Max(most, cluster.Store.Tasks.Values.Count(t => t.Spec.Container.Image == "app:2" && TaskFacts.IsLive(t, false) && t.Status.State < TaskState.Running));
            return cluster.Store.Service!.UpdateStatus!.State == UpdateState.Completed;
        });

        Assert.Equal(UpdateState.Completed, cluster.Store.Service!.UpdateStatus!.State);
        Assert.Equal(1, most);
        Assert.Equal(3, cluster.Running.Count);
        Assert.All(cluster.Running, t => Assert.Equal("app:2", t.Spec.Container.Image));
        Assert.Equal(3, cluster.Store.Tasks.Values.Count(t => t.Spec.Container.Image == "app:1" && t.DesiredState == TaskState.Shutdown && t.Status.State == TaskState.Shutdown));
        Assert.True(cluster.Settled);
    }

    [Fact]
    public void A_Failing_Update_Rolls_Back_To_The_Previous_Spec()
    {
        var cluster = new Cluster(Version("app:1"), "a", "b", "c");
        cluster.Run(5);

        cluster.UpdateService(Version("app:bad"));
        cluster.Run(60, () => cluster.Store.Service!.UpdateStatus!.State == UpdateState.RollbackCompleted);

        var service = cluster.Store.Service!;
        Assert.True(service.UpdateStatus!.State == UpdateState.RollbackCompleted, string.Join('\n', cluster.Log));
        Assert.Equal("app:1", service.Spec.TaskTemplate.Container.Image);
        Assert.Equal("app:bad", service.PreviousSpec!.TaskTemplate.Container.Image);
        Assert.True(cluster.Running.Count == 3, string.Join('\n', cluster.Log.Concat(cluster.Store.Tasks.Values.Select(t => $"{t.Id} slot {t.Slot} {t.NodeId} {t.Spec.Container.Image} {t.DesiredState} {t.Status.State} created {t.Meta.CreatedAt:mm:ss} at {t.Status.Timestamp:mm:ss}"))));
        Assert.All(cluster.Running, t => Assert.Equal("app:1", t.Spec.Container.Image));
        Assert.Contains(cluster.Log, e => e.Contains("update rolled back due to failure or early termination of task", StringComparison.Ordinal));
        Assert.True(cluster.Settled);
    }
}
