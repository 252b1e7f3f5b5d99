using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;
using static ProtoSwarm.Tests.Managers.ImagePinningTests;

namespace ProtoSwarm.Tests.Managers;

/// <summary>
/// The managers' API on the registry's side: images pinned on service create and update, the registry
/// tokens and `registry ls`; a real actor system over a store in a temp file.
/// </summary>
public sealed class ManagerApiRegistryTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new();
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync(
        [
            // A swarm made before the registry: no registry tokens yet.
            StoreChange.Create(TestNodes.Cluster("cluster-1")),
            StoreChange.Create(TestNodes.Manager("leader0000", "mgr", leader: true)),
            StoreChange.Create(Repository("library/busybox", ("latest", A))),
        ]);
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "leader0000");
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiRouter(() => Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)))));
    }

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    private ServiceObject Web => _store.Current.List<ServiceObject>().Single(s => s.Spec.Name == "web");

    [Fact]
    public async Task Create_Pins_The_Image_To_The_Registrys_Digest_By_Default()
    {
        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService("c1", Spec(new ContainerSpec("busybox")))));

        Assert.Empty(created.Warnings);
        Assert.Equal($"busybox:latest@{A}", Web.Spec.TaskTemplate.Container.Image);
    }

    [Fact]
    public async Task Create_Of_An_Image_The_Registry_Lacks_Keeps_The_Name_And_Returns_The_Warning()
    {
        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService("c1", Spec(new ContainerSpec("nginx:1.27")))));

        Assert.Equal("nginx:1.27", Web.Spec.TaskTemplate.Container.Image);
        Assert.Contains("image nginx:1.27 could not be accessed on the swarm's registry", Assert.Single(created.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_With_Never_Stores_The_Image_As_Given()
    {
        Assert.IsType<ServiceCreated>(await Ask(new CreateService("c1", Spec(new ContainerSpec("busybox")), ResolveImageModes.Never)));

        Assert.Equal("busybox", Web.Spec.TaskTemplate.Container.Image);
    }

    [Fact]
    public async Task An_Unknown_Mode_Is_Refused_Naming_The_Modes_And_Nothing_Is_Stored()
    {
        var index = _store.Current.Index;

        var onCreate = Assert.IsType<CommandRejected>(await Ask(new CreateService("c1", Spec(new ContainerSpec("busybox")), "sometimes")));
        await Ask(new CreateService("c2", Spec(new ContainerSpec("busybox")), ResolveImageModes.Never));
        var onUpdate = Assert.IsType<CommandRejected>(await Ask(new UpdateService("u1", "web", Web.Meta.Version, Web.Spec, ResolveImage: "maybe")));

        Assert.All(new[] { onCreate, onUpdate }, r => Assert.Equal(RejectCode.InvalidArgument, r.Code));
        Assert.Contains("'sometimes' is not a mode; use always, changed or never", onCreate.Reason, StringComparison.Ordinal);
        Assert.Equal(index + 1, _store.Current.Index); // only the second create
    }

    [Fact]
    public async Task A_Redeploy_With_The_Same_Digest_Starts_No_Rolling_Update_And_A_Moved_Tag_Does()
    {
        var spec = Spec(new ContainerSpec("busybox"));
        await Ask(new CreateService("c1", spec));

        var same = Assert.IsType<ServiceUpdated>(await Ask(new UpdateService("u1", "web", Web.Meta.Version, spec, ResolveImage: ResolveImageModes.Always)));
        Assert.Null(Web.UpdateStatus);
        Assert.Empty(same.Warnings);

        await MoveTag("latest", B);
        Assert.IsType<ServiceUpdated>(await Ask(new UpdateService("u2", "web", Web.Meta.Version, spec, ResolveImage: ResolveImageModes.Always)));

        Assert.Equal($"busybox:latest@{B}", Web.Spec.TaskTemplate.Container.Image);
        Assert.Equal(UpdateState.Updating, Web.UpdateStatus!.State);
    }

    [Fact]
    public async Task An_Update_Keeps_The_Pinned_Image_By_Default_When_The_Image_Did_Not_Change()
    {
        await Ask(new CreateService("c1", Spec(new ContainerSpec("busybox"))));
        await MoveTag("latest", B);

        // What the CLI sends for `service update --replicas 5 web`: the spec as read, pinned digest included.
        var scaled = Web.Spec with { Mode = ServiceMode.ReplicatedMode(5) };
        Assert.IsType<ServiceUpdated>(await Ask(new UpdateService("u1", "web", Web.Meta.Version, scaled)));
        // `service update --image busybox:latest web`: the same name, so still the pinned digest.
        Assert.IsType<ServiceUpdated>(await Ask(new UpdateService("u2", "web", Web.Meta.Version, Web.Spec with { TaskTemplate = new TaskSpec(new ContainerSpec("busybox:latest")) })));

        Assert.Equal($"busybox:latest@{A}", Web.Spec.TaskTemplate.Container.Image);
        Assert.Null(Web.UpdateStatus);
    }

    [Theory]
    [InlineData("busybox:latest")] // the tag busybox:latest is at A: B is kept, not swapped for A
    [InlineData("busybox:latest@")] // made-up digest: kept too, the node's pull judges it
    [InlineData("nginx:1.27")]     // a tag the registry lacks: the digest stays, with no warning
    public async Task Create_Keeps_A_Digest_Written_With_The_Tag_As_Written(string name)
    {
        var image = name.EndsWith('@') ? name + "sha256:" + new string('e', 64) : $"{name}@{B}";

        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService("c1", Spec(new ContainerSpec(image)))));

        Assert.Equal(image, Web.Spec.TaskTemplate.Container.Image);
        Assert.Empty(created.Warnings);
    }

    [Theory]
    [InlineData(ResolveImageModes.Always)]
    [InlineData(ResolveImageModes.Changed)]
    public async Task An_Update_Keeps_A_Digest_The_User_Gives_Or_The_Pin_It_Leaves_Alone_And_Resolves_A_Tag_Given_Without_One(string mode)
    {
        await Ask(new CreateService("c1", Spec(new ContainerSpec($"busybox:latest@{B}"))));
        await MoveTag("latest", C);

        // `service update --resolve-image MODE --replicas 5 web`: the spec as read, digest included.
        Assert.IsType<ServiceUpdated>(await Ask(new UpdateService("u1", "web", Web.Meta.Version, Web.Spec with { Mode = ServiceMode.ReplicatedMode(5) }, ResolveImage: mode)));
        Assert.Equal($"busybox:latest@{B}", Web.Spec.TaskTemplate.Container.Image);
        Assert.Null(Web.UpdateStatus);

        // `service update --image busybox:latest@D`: the user's new digest, as written.
        Assert.IsType<ServiceUpdated>(await Ask(new UpdateService("u2", "web", Web.Meta.Version, Web.Spec with { TaskTemplate = new TaskSpec(new ContainerSpec($"busybox:latest@{D}")) }, ResolveImage: mode)));
        Assert.Equal($"busybox:latest@{D}", Web.Spec.TaskTemplate.Container.Image);

        // `service update --image busybox:1.36`: a new tag, without a digest, is resolved.
        await MoveTag("1.36", A);
        Assert.IsType<ServiceUpdated>(await Ask(new UpdateService("u3", "web", Web.Meta.Version, Web.Spec with { TaskTemplate = new TaskSpec(new ContainerSpec("busybox:1.36")) }, ResolveImage: mode)));
        Assert.Equal($"busybox:1.36@{A}", Web.Spec.TaskTemplate.Container.Image);
    }

    [Fact]
    public async Task A_Rollback_Restores_The_Previous_Pinned_Image_As_Is()
    {
        await Ask(new CreateService("c1", Spec(new ContainerSpec("busybox"))));
        await MoveTag("latest", B);
        await Ask(new UpdateService("u1", "web", Web.Meta.Version, Spec(new ContainerSpec("busybox")), ResolveImage: ResolveImageModes.Always));
        await MoveTag("latest", C);

        var rolledBack = Assert.IsType<ServiceUpdated>(await Ask(new UpdateService("r1", "web", Web.Meta.Version, null, Rollback: true, ResolveImage: ResolveImageModes.Always)));

        Assert.Empty(rolledBack.Warnings);
        Assert.Equal($"busybox:latest@{A}", Web.Spec.TaskTemplate.Container.Image);
        Assert.Equal($"busybox:latest@{B}", Web.PreviousSpec!.TaskTemplate.Container.Image);
    }

    [Theory]
    [InlineData("pull")]
    [InlineData("push")]
    public async Task A_Swarm_Without_Registry_Tokens_Gets_One_On_The_First_Read_And_The_Same_One_After(string role)
    {
        var first = Assert.IsType<RegistryToken>(await Ask(new GetRegistryToken("t1", role, Rotate: false)));
        var index = _store.Current.Index;
        var second = Assert.IsType<RegistryToken>(await Ask(new GetRegistryToken("t2", role, Rotate: false)));

        Assert.Equal(role, first.Role);
        Assert.Matches("^[0-9a-f]{64}$", first.Token);
        Assert.Equal(first.Token, RegistryTokens.Of(_store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!, role));
        Assert.Equal(first, second);
        Assert.Equal(index, _store.Current.Index);
    }

    [Fact]
    public async Task Rotate_Replaces_Only_That_Roles_Token()
    {
        var pull = Assert.IsType<RegistryToken>(await Ask(new GetRegistryToken("t1", "pull", Rotate: false)));
        var push = Assert.IsType<RegistryToken>(await Ask(new GetRegistryToken("t2", "push", Rotate: false)));

        var rotated = Assert.IsType<RegistryToken>(await Ask(new GetRegistryToken("t3", "push", Rotate: true)));

        var cluster = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.NotEqual(push.Token, rotated.Token);
        Assert.Equal((pull.Token, rotated.Token), (cluster.RegistryPullToken, cluster.RegistryPushToken));
        Assert.True(RegistryTokens.Admits(cluster, "push", rotated.Token));
        Assert.False(RegistryTokens.Admits(cluster, "push", push.Token));
        Assert.False(RegistryTokens.Admits(cluster, "pull", rotated.Token));
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("")]
    [InlineData("PUSH")]
    public async Task A_Role_Other_Than_Pull_Or_Push_Is_Refused(string role)
    {
        var index = _store.Current.Index;

        var refused = Assert.IsType<CommandRejected>(await Ask(new GetRegistryToken("t1", role, Rotate: true)));

        Assert.Equal(RejectCode.InvalidArgument, refused.Code);
        Assert.Contains("use pull (read only) or push (read and write)", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(index, _store.Current.Index);
    }

    [Fact]
    public async Task List_Repositories_Answers_Each_Repository_Sorted_With_Its_Tags_Manifests_And_Size()
    {
        var manifest = new RegistryManifest("application/vnd.oci.image.manifest.v1+json", [1, 2, 3], [B, C], [], TestNodes.T0);
        var app = Repository("me/app", ("v1", A), ("v2", A)) with
        {
            Manifests = ImmutableSortedDictionary<string, RegistryManifest>.Empty.WithComparers(StringComparer.Ordinal).Add(A, manifest),
            Blobs = ImmutableSortedDictionary<string, long>.Empty.WithComparers(StringComparer.Ordinal).Add(B, 1000).Add(C, 234),
        };
        await _proposer.ProposeAsync([StoreChange.Create(app)]);

        var list = Assert.IsType<RepositoryList>(await Ask(new ListRepositories("l1")));

        Assert.Equal(["library/busybox", "me/app"], list.Repositories.Select(r => r.Name).ToArray());
        var summary = list.Repositories[1];
        Assert.Equal(["v1", "v2"], summary.Tags.Keys.ToArray());
        Assert.Equal((1, 1234L), (summary.Manifests, summary.Size));
    }

    [Fact]
    public void Swarm_Init_Makes_Both_Registry_Tokens_Where_It_Makes_The_Join_Tokens()
    {
        var cluster = SwarmCa.NewCluster(TestNodes.T0, snapshotInterval: 0);

        Assert.Matches("^[0-9a-f]{64}$", cluster.RegistryPullToken);
        Assert.Matches("^[0-9a-f]{64}$", cluster.RegistryPushToken);
        Assert.NotEqual(cluster.RegistryPullToken, cluster.RegistryPushToken);
    }

    [Fact]
    public void Token_Reads_And_Listings_Are_Queries_And_A_Rotation_Is_A_Command()
    {
        Assert.True(ManagerApiRouter.IsQuery(new GetRegistryToken("t", "pull", Rotate: false)));
        Assert.True(ManagerApiRouter.IsQuery(new ListRepositories("l")));
        Assert.False(ManagerApiRouter.IsQuery(new GetRegistryToken("t", "pull", Rotate: true)));
    }

    private async Task MoveTag(string tag, string digest)
    {
        var repository = _store.Current.Get<RepositoryObject>("library/busybox")!;
        await _proposer.ProposeAsync([StoreChange.Update(repository with { Tags = repository.Tags.SetItem(tag, digest) })]);
    }

    private Task<object> Ask(object message) => _system.Root.RequestAsync<object>(_api, message, TestTimeout.Token);
}
