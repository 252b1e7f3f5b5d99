using System.Collections.Immutable;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Managers;

public sealed class ServiceCommandsTests
{
    private static readonly DateTimeOffset T0 = new(2025, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly IReadOnlySet<string> NoNetworks = ImmutableHashSet<string>.Empty;

    [Fact]
    public void Create_Makes_Version_One_Of_The_Spec()
    {
        var (created, rejected) = ServiceCommands.Create(Spec("web"), [], NoNetworks, "svc1", T0);

        Assert.Null(rejected);
        Assert.Equal("svc1", created!.Id);
        Assert.Equal(1UL, created.SpecVersion);
        Assert.Null(created.PreviousSpec);
        Assert.Null(created.UpdateStatus);
    }

    [Fact]
    public void Create_Refuses_A_Name_In_Use()
    {
        var existing = Stored(Spec("web"));

        var (_, rejected) = ServiceCommands.Create(Spec("web"), [existing], NoNetworks, "svc2", T0);

        Assert.Equal(RejectCode.Conflict, rejected!.Code);
        Assert.Contains("web", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_Refuses_A_Name_That_Differs_From_One_In_Use_Only_By_Case()
    {
        var existing = Stored(Spec("web"));

        var (created, rejected) = ServiceCommands.Create(Spec("WEB"), [existing], NoNetworks, "svc2", T0);

        Assert.Null(created);
        Assert.Equal(RejectCode.Conflict, rejected!.Code);
        Assert.Contains("The name WEB conflicts with the service web", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_Refuses_An_Unknown_Network_Naming_The_Field()
    {
        var spec = Spec("web") with { TaskTemplate = Spec("web").TaskTemplate with { Networks = [new NetworkAttachment("backend")] } };

        var (_, rejected) = ServiceCommands.Create(spec, [], NoNetworks, "svc1", T0);

        Assert.Equal(RejectCode.InvalidArgument, rejected!.Code);
        Assert.Contains("Spec.TaskTemplate.Networks", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_Image_Change_Starts_A_Rolling_Update_And_Keeps_The_Old_Spec()
    {
        var service = Stored(Spec("web"));
        var next = Spec("web", image: "nginx:2");

        var (updated, rejected) = ServiceCommands.Update(service, service.Meta.Version, next, NoNetworks, T0);

        Assert.Null(rejected);
        Assert.Equal(next, updated!.Spec);
        Assert.Equal(service.Spec, updated.PreviousSpec);
        Assert.Equal(2UL, updated.SpecVersion);
        Assert.Equal(UpdateState.Updating, updated.UpdateStatus!.State);
    }

    [Fact]
    public void Scaling_Alone_Starts_No_Rolling_Update_And_Clears_The_Last_Ones_Status()
    {
        var service = Stored(Spec("web")) with { UpdateStatus = new UpdateStatus(UpdateState.RollbackCompleted, T0, T0, "rollback completed") };

        var (updated, _) = ServiceCommands.Update(service, service.Meta.Version, Spec("web", replicas: 5), NoNetworks, T0);

        Assert.Null(updated!.UpdateStatus);
    }

    [Theory]
    [InlineData(UpdateState.Updating, UpdateState.Updating, false)]
    [InlineData(UpdateState.RollbackStarted, UpdateState.RollbackStarted, false)]
    [InlineData(UpdateState.Paused, UpdateState.Updating, true)]
    [InlineData(UpdateState.RollbackPaused, UpdateState.Updating, true)]
    public void An_Update_That_Changes_No_Task_Keeps_A_Rollout_Going_And_Resumes_A_Paused_One(UpdateState before, UpdateState after, bool restarted)
    {
        // A scale mid-rollout cleared the status: half the tasks stayed on the old spec and the CLI waited forever.
        var status = new UpdateStatus(before, T0, null, "update paused due to failure or early termination of task t1");
        var service = Stored(Spec("web")) with { UpdateStatus = status };
        var now = T0.AddMinutes(1);

        var (updated, _) = ServiceCommands.Update(service, service.Meta.Version, Spec("web", replicas: 5), NoNetworks, now);

        Assert.Equal(after, updated!.UpdateStatus!.State);
        Assert.Equal(restarted ? now : T0, updated.UpdateStatus.StartedAt);
    }

    [Fact]
    public void Updating_A_Job_Runs_It_Again_Without_A_Rolling_Update()
    {
        static ServiceSpec Job(string image) => Spec("once", image) with
        {
            Mode = ServiceMode.ReplicatedJobMode(2, 4),
            TaskTemplate = new TaskSpec(new ContainerSpec(image), Restart: RestartPolicy.JobDefault),
        };
        var service = Stored(Job("busybox:1"));

        var (updated, rejected) = ServiceCommands.Update(service, service.Meta.Version, Job("busybox:2"), NoNetworks, T0);

        Assert.Null(rejected);
        Assert.Equal(service.JobIteration + 1, updated!.JobIteration);
        Assert.Null(updated.UpdateStatus);
    }

    [Fact]
    public void Force_Counts_As_A_Change_Of_The_Tasks()
    {
        var service = Stored(Spec("web"));
        var forced = service.Spec with { TaskTemplate = service.Spec.TaskTemplate with { ForceUpdate = 1 } };

        var (updated, _) = ServiceCommands.Update(service, service.Meta.Version, forced, NoNetworks, T0);

        Assert.Equal(UpdateState.Updating, updated!.UpdateStatus!.State);
    }

    [Theory]
    [InlineData("stale")]
    [InlineData("rename")]
    [InlineData("mode")]
    public void Update_Refuses_A_Stale_Version_A_Rename_And_A_Mode_Change(string change)
    {
        var service = Stored(Spec("web"));
        var (version, spec, code) = change switch
        {
            "stale" => (service.Meta.Version - 1, Spec("web", image: "nginx:2"), RejectCode.Conflict),
            "rename" => (service.Meta.Version, Spec("api"), RejectCode.InvalidArgument),
            _ => (service.Meta.Version, Spec("web") with { Mode = ServiceMode.GlobalMode }, RejectCode.InvalidArgument),
        };

        var (updated, rejected) = ServiceCommands.Update(service, version, spec, NoNetworks, T0);

        Assert.Null(updated);
        Assert.Equal(code, rejected!.Code);
    }

    [Fact]
    public void Rollback_Returns_To_The_Previous_Spec_And_A_Second_Undoes_The_First()
    {
        var service = Stored(Spec("web"));
        var (updated, _) = ServiceCommands.Update(service, service.Meta.Version, Spec("web", image: "nginx:2"), NoNetworks, T0);
        updated = updated! with { Meta = updated.Meta with { Version = 9 } };

        var (back, rejected) = ServiceCommands.Rollback(updated, 9, T0);

        Assert.Null(rejected);
        Assert.Equal("nginx:1", back!.Spec.TaskTemplate.Container.Image);
        Assert.Equal("nginx:2", back.PreviousSpec!.TaskTemplate.Container.Image);
        Assert.Equal(UpdateState.RollbackStarted, back.UpdateStatus!.State);
        var (again, _) = ServiceCommands.Rollback(back, 0, T0);
        Assert.Equal("nginx:2", again!.Spec.TaskTemplate.Container.Image);
    }

    [Fact]
    public void Rollback_Of_A_Service_Never_Updated_Is_Refused()
    {
        var (_, rejected) = ServiceCommands.Rollback(Stored(Spec("web")), 0, T0);

        Assert.Equal(RejectCode.InvalidArgument, rejected!.Code);
        Assert.Contains("never updated", rejected.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abcdef0123456789abcdef012", "abcdef0123456789abcdef012")]
    [InlineData("web", "abcdef0123456789abcdef012")]
    [InlineData("abc", "abcdef0123456789abcdef012")]
    public void Resolve_Takes_An_Id_A_Name_Or_A_Unique_Prefix(string reference, string expected)
    {
        var services = new[] { Stored(Spec("web"), "abcdef0123456789abcdef012"), Stored(Spec("api"), "zzz000") };

        var (found, _) = ServiceCommands.Resolve(services, reference);

        Assert.Equal(expected, found!.Id);
    }

    [Fact]
    public void Resolve_Names_An_Ambiguous_Prefix_And_A_Missing_Service()
    {
        var services = new[] { Stored(Spec("web"), "abc1"), Stored(Spec("api"), "abc2") };

        Assert.Equal(RejectCode.Conflict, ServiceCommands.Resolve(services, "abc").Rejected!.Code);
        Assert.Equal(RejectCode.NotFound, ServiceCommands.Resolve(services, "db").Rejected!.Code);
    }

    private static ServiceSpec Spec(string name, string image = "nginx:1", long replicas = 3) =>
        new(name, ImmutableSortedDictionary<string, string>.Empty, ServiceMode.ReplicatedMode(replicas), new TaskSpec(new ContainerSpec(image)));

    [Fact]
    public void Tasks_By_Whole_Service_Id_Include_A_Removed_Services_And_Refs_Are_Still_Resolved()
    {
        var web = Stored(Spec("web"), "svc0000000000000000000web");
        var tasks = new[] { Task("t1", web.Id), Task("t2", "svc000000000000000removed"), Task("t3", "svc0000000000000000000api") };

        var (byId, rejected) = ServiceCommands.SelectTasks([web], [], tasks, new ListTasks("r", ServiceIds: ["svc000000000000000removed"]));
        var (both, _) = ServiceCommands.SelectTasks([web], [], tasks, new ListTasks("r", ["web"], ServiceIds: ["svc000000000000000removed"]));
        var (_, unknown) = ServiceCommands.SelectTasks([web], [], tasks, new ListTasks("r", ["svc000000000000000removed"]));

        Assert.Null(rejected);
        Assert.Equal(["t2"], byId.Select(t => t.Id));
        Assert.Equal(["t1", "t2"], both.Select(t => t.Id));
        Assert.Equal(RejectCode.NotFound, unknown!.Code);
    }

    private static TaskObject Task(string id, string serviceId) =>
        new(id, new ObjectMeta(1, T0, T0), serviceId, 1, "node1", new TaskSpec(new ContainerSpec("nginx:1")), 1, TaskState.Running,
            new TaskObservedStatus(TaskState.Running, T0));

    private static ServiceObject Stored(ServiceSpec spec, string id = "svc0") =>
        new(id, new ObjectMeta(5, T0, T0), spec, SpecVersion: 1);
}
