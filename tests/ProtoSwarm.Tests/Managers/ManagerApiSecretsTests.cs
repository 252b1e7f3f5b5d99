using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Managers;

/// <summary>
/// The managers' API for secrets and configs, and the references services make to them: a real
/// router and API actors over a store in a temp file.
/// </summary>
public sealed class ManagerApiSecretsTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new();
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;
    private int _request;

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(TestNodes.Cluster("cluster-1")),
            StoreChange.Create(TestNodes.Manager("leader0000", "mgr", leader: true)),
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

    [Fact]
    public async Task A_Secret_Is_Stored_With_Its_Data_But_Ls_And_Inspect_Never_Show_It()
    {
        var created = Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("db_password", "hunter2", ("tier", "db")))));
        Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("api.key", "k"))));

        var stored = _store.Current.Get<SecretObject>(created.SecretId)!;
        Assert.Equal("hunter2", Encoding.UTF8.GetString(stored.Spec.Data));
        var listed = Assert.IsType<SecretList>(await Ask(new ListSecrets(Id())));
        Assert.Equal(["api.key", "db_password"], listed.Secrets.Select(s => s.Name));
        foreach (var reference in new[] { "db_password", created.SecretId, created.SecretId[..6] })
        {
            var details = Assert.IsType<SecretDetails>(await Ask(new InspectSecret(Id(), reference)));
            Assert.Equal((created.SecretId, "db_password", "db", stored.Meta.Version), (details.Secret.Id, details.Secret.Name, details.Secret.Labels["tier"], details.Secret.Version));
        }

        // No property of what the API answers carries the bytes.
        Assert.DoesNotContain(typeof(SecretSummary).GetProperties(), p => p.PropertyType == typeof(byte[]));
        Assert.IsType<CommandRejected>(await Ask(new InspectSecret(Id(), "nope")));
    }

    [Fact]
    public async Task A_Config_Is_Read_Back_By_Inspect_But_Not_By_Ls()
    {
        var created = Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), Config("nginx.conf", "worker_processes 2;\n"))));

        var listed = Assert.IsType<ConfigList>(await Ask(new ListConfigs(Id())));
        var details = Assert.IsType<ConfigDetails>(await Ask(new InspectConfig(Id(), "nginx.conf")));

        Assert.Null(Assert.Single(listed.Configs).Data);
        Assert.Equal((created.ConfigId, "worker_processes 2;\n"), (details.Config.Id, Encoding.UTF8.GetString(details.Config.Data!)));
    }

    [Theory]
    [InlineData("-db")]
    [InlineData("db-")]
    [InlineData("db password")]
    [InlineData("db/password")]
    [InlineData("")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task Names_Are_Checked_As_Docker_Checks_Them_And_Nothing_Is_Stored(string name)
    {
        var index = _store.Current.Index;

        var secret = Assert.IsType<CommandRejected>(await Ask(new CreateSecret(Id(), Secret(name, "x"))));
        var config = Assert.IsType<CommandRejected>(await Ask(new CreateConfig(Id(), Config(name, "x"))));

        Assert.All([secret, config], r => Assert.Equal(RejectCode.InvalidArgument, r.Code));
        Assert.Contains(name.Length == 0 ? "has no name" : "only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]", secret.Reason, StringComparison.Ordinal);
        Assert.Equal(index, _store.Current.Index);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("db.password_v2-final")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task Names_Docker_Takes_Are_Taken(string name)
    {
        Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret(name, "x"))));
    }

    [Fact]
    public async Task Data_Must_Hold_1_Byte_To_500_KiB()
    {
        var empty = Assert.IsType<CommandRejected>(await Ask(new CreateSecret(Id(), new SecretSpec("empty", null, []))));
        var tooLarge = Assert.IsType<CommandRejected>(await Ask(new CreateConfig(Id(), new ConfigSpec("large", null, new byte[SecretSpec.MaxDataBytes + 1]))));
        Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), new ConfigSpec("largest", null, new byte[SecretSpec.MaxDataBytes]))));

        Assert.Contains("secret data must be larger than 0 and less than 500 KiB", empty.Reason, StringComparison.Ordinal);
        Assert.Contains("config data must be larger than 0 and less than 500 KiB", tooLarge.Reason, StringComparison.Ordinal);
        Assert.Empty(_store.Current.List<SecretObject>());
    }

    [Fact]
    public async Task A_Name_Is_Unique_Among_Secrets_While_A_Config_May_Share_It()
    {
        Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("tls", "a"))));

        var again = Assert.IsType<CommandRejected>(await Ask(new CreateSecret(Id(), Secret("tls", "b"))));
        Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), Config("tls", "c"))));

        Assert.Equal(RejectCode.Conflict, again.Code);
        Assert.Contains("secret tls already exists", again.Reason, StringComparison.Ordinal);
        Assert.Equal("a", Encoding.UTF8.GetString(Assert.Single(_store.Current.List<SecretObject>()).Spec.Data));
    }

    [Fact]
    public async Task Reuse_If_Same_Keeps_A_Secret_Of_The_Same_Data_And_Refuses_Other_Data()
    {
        var first = Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("s_db", "hunter2"), ReuseIfSame: true)));

        var same = Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("s_db", "hunter2"), ReuseIfSame: true)));
        var other = Assert.IsType<CommandRejected>(await Ask(new CreateSecret(Id(), Secret("s_db", "hunter3"), ReuseIfSame: true)));

        Assert.Equal(first.SecretId, same.SecretId);
        Assert.Contains("secret s_db exists with other data: only updates to Labels are allowed", other.Reason, StringComparison.Ordinal);
        Assert.Equal("hunter2", Encoding.UTF8.GetString(Assert.Single(_store.Current.List<SecretObject>()).Spec.Data));
    }

    [Fact]
    public async Task A_Templated_Secret_Or_Config_Keeps_Its_Driver_Which_Ls_And_Inspect_Show()
    {
        var secret = Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("tpl", "{{.Service.Name}}") with { Templating = "golang" }))).SecretId;
        var config = Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), Config("tpl", "{{.Task.Slot}}") with { Templating = "golang" }))).ConfigId;
        var plain = Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), Config("plain", "x")))).ConfigId;

        Assert.Equal("golang", _store.Current.Get<SecretObject>(secret)!.Spec.Templating);
        Assert.Equal("golang", Assert.IsType<SecretDetails>(await Ask(new InspectSecret(Id(), "tpl"))).Secret.Templating);
        Assert.Equal("golang", Assert.IsType<ConfigDetails>(await Ask(new InspectConfig(Id(), config))).Config.Templating);
        Assert.Equal(["golang", null], Assert.IsType<ConfigList>(await Ask(new ListConfigs(Id()))).Configs.OrderBy(c => c.Id == plain).Select(c => c.Templating));
        Assert.Equal("{{.Task.Slot}}", Encoding.UTF8.GetString(_store.Current.Get<ConfigObject>(config)!.Spec.Data));
    }

    [Fact]
    public async Task A_Template_Driver_Other_Than_Golang_Is_Refused_With_The_Reason()
    {
        var secret = Assert.IsType<CommandRejected>(await Ask(new CreateSecret(Id(), Secret("tpl", "x") with { Templating = "mustache" })));
        var config = Assert.IsType<CommandRejected>(await Ask(new CreateConfig(Id(), Config("tpl", "x") with { Templating = "" })));

        Assert.Equal(RejectCode.InvalidArgument, secret.Code);
        Assert.Contains("The secret tpl cannot be created: template driver \"mustache\" is not supported for a secret: the only one is \"golang\"", secret.Reason, StringComparison.Ordinal);
        Assert.Contains("template driver \"\" is not supported for a config", config.Reason, StringComparison.Ordinal);
        Assert.Empty(_store.Current.List<SecretObject>());
    }

    [Fact]
    public async Task Reuse_If_Same_Refuses_The_Same_Data_With_Another_Template_Driver()
    {
        Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), Config("c", "{{.Task.Slot}}"), ReuseIfSame: true)));

        var templated = Assert.IsType<CommandRejected>(await Ask(new CreateConfig(Id(), Config("c", "{{.Task.Slot}}") with { Templating = "golang" }, ReuseIfSame: true)));

        Assert.Contains("config c exists with other template driver: only updates to Labels are allowed", templated.Reason, StringComparison.Ordinal);
        Assert.Null(Assert.Single(_store.Current.List<ConfigObject>()).Spec.Templating);
    }

    [Fact]
    public async Task A_Service_Names_Secrets_And_Configs_By_Name_And_The_Managers_Store_Their_Ids_And_Default_Targets()
    {
        var secret = Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("db_password", "hunter2")))).SecretId;
        var config = Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), Config("site", "x")))).ConfigId;

        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService(Id(), Service("web",
            [new SecretReference("", "db_password", new FileTarget("")), new SecretReference("", secret, new FileTarget("copy", "1000", "1000", 0x100))],
            [new ConfigReference("", "site", new FileTarget(""))]), ResolveImageModes.Never)));

        var container = _store.Current.Get<ServiceObject>(created.ServiceId)!.Spec.TaskTemplate.Container;
        Assert.Equal(
            [new SecretReference(secret, "db_password", new FileTarget("db_password")), new SecretReference(secret, "db_password", new FileTarget("copy", "1000", "1000", 0x100))],
            container.Secrets.ToArray());
        Assert.Equal([new ConfigReference(config, "site", new FileTarget("/site"))], container.Configs.ToArray());
    }

    [Fact]
    public async Task An_Update_Resolves_The_Secrets_It_Adds()
    {
        var secret = Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("db_password", "hunter2")))).SecretId;
        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService(Id(), Service("web", [], []), ResolveImageModes.Never)));
        var service = _store.Current.Get<ServiceObject>(created.ServiceId)!;

        Assert.IsType<ServiceUpdated>(await Ask(new UpdateService(Id(), "web", service.Meta.Version, Service("web", [new SecretReference("", "db_password", new FileTarget(""))], []), ResolveImage: ResolveImageModes.Never)));

        Assert.Equal(secret, Assert.Single(_store.Current.Get<ServiceObject>(created.ServiceId)!.Spec.TaskTemplate.Container.Secrets).SecretId);
    }

    [Fact]
    public async Task A_Rollback_To_A_Spec_Whose_Secret_Was_Removed_Since_Is_Refused_Naming_It()
    {
        Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("old_password", "hunter2"))));
        Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), Config("site", "x"))));
        var created = Assert.IsType<ServiceCreated>(await Ask(new CreateService(Id(),
            Service("web", [new SecretReference("", "old_password", new FileTarget(""))], [new ConfigReference("", "site", new FileTarget(""))]), ResolveImageModes.Never)));
        var service = _store.Current.Get<ServiceObject>(created.ServiceId)!;
        Assert.IsType<ServiceUpdated>(await Ask(new UpdateService(Id(), "web", service.Meta.Version, Service("web", [], []), ResolveImage: ResolveImageModes.Never)));
        Assert.IsType<SecretRemoved>(await Ask(new RemoveSecret(Id(), "old_password")));
        var before = _store.Current.Get<ServiceObject>(created.ServiceId)!;

        var refused = Assert.IsType<CommandRejected>(await Ask(new UpdateService(Id(), "web", 0, null, Rollback: true)));

        Assert.Equal(RejectCode.InvalidArgument, refused.Code);
        Assert.StartsWith("Service web cannot roll back: its previous spec uses secret 'old_password', removed since;", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(before, _store.Current.Get<ServiceObject>(created.ServiceId));

        // A secret made again under the same name is another object: the old spec's id stays gone.
        Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("old_password", "hunter2"))));
        Assert.IsType<CommandRejected>(await Ask(new UpdateService(Id(), "web", 0, null, Rollback: true)));
    }

    [Theory]
    [InlineData("secret", "nope", "", "secret not found: nope")]
    [InlineData("config", "nope", "", "config not found: nope")]
    [InlineData("secret", "db_password", "/etc/../db_password", "secret target '/etc/../db_password' is not a file path")]
    [InlineData("secret", "db_password", "../db_password", "secret target '../db_password' is not a file path")]
    [InlineData("config", "site", "conf.d/", "config target 'conf.d/' is not a file path")]
    [InlineData("config", "site", "/etc/../site.conf", "config target '/etc/../site.conf' is not a file path")]
    public async Task A_Reference_To_An_Unknown_Object_Or_A_Wrong_Target_Is_Refused_And_Nothing_Is_Stored(string kind, string name, string target, string expected)
    {
        Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("db_password", "hunter2"))));
        Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), Config("site", "x"))));

        var spec = kind == "secret"
            ? Service("web", [new SecretReference("", name, new FileTarget(target))], [])
            : Service("web", [], [new ConfigReference("", name, new FileTarget(target))]);
        var refused = Assert.IsType<CommandRejected>(await Ask(new CreateService(Id(), spec, ResolveImageModes.Never)));

        Assert.Contains(expected, refused.Reason, StringComparison.Ordinal);
        Assert.Empty(_store.Current.List<ServiceObject>());
    }

    [Fact]
    public async Task Two_References_To_One_Target_Modes_Beyond_0777_And_Names_For_Owners_Are_Refused()
    {
        Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("a", "1"))));
        Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("b", "2"))));

        var refused = Assert.IsType<CommandRejected>(await Ask(new CreateService(Id(), Service("web",
            [new SecretReference("", "a", new FileTarget("key")), new SecretReference("", "b", new FileTarget("key", "root", "0", 0x3FF))], []), ResolveImageModes.Never)));

        Assert.Contains("duplicate secret target for key not allowed", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("Spec.TaskTemplate.ContainerSpec.Secrets[1].File.UID: 'root' is not a numeric uid", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("Spec.TaskTemplate.ContainerSpec.Secrets[1].File.Mode: mode 01777 has more than the permission bits", refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rm_Is_Refused_While_A_Service_Uses_It_Naming_The_Services_And_Done_Once_They_Are_Gone()
    {
        Assert.IsType<SecretCreated>(await Ask(new CreateSecret(Id(), Secret("db_password", "hunter2"))));
        Assert.IsType<ConfigCreated>(await Ask(new CreateConfig(Id(), Config("site", "x"))));
        Assert.IsType<ServiceCreated>(await Ask(new CreateService(Id(), Service("web", [new SecretReference("", "db_password", new FileTarget(""))], [new ConfigReference("", "site", new FileTarget(""))]), ResolveImageModes.Never)));
        Assert.IsType<ServiceCreated>(await Ask(new CreateService(Id(), Service("api", [new SecretReference("", "db_password", new FileTarget(""))], []), ResolveImageModes.Never)));

        var secretRefused = Assert.IsType<CommandRejected>(await Ask(new RemoveSecret(Id(), "db_password")));
        var configRefused = Assert.IsType<CommandRejected>(await Ask(new RemoveConfig(Id(), "site")));
        Assert.IsType<ServiceRemoved>(await Ask(new RemoveService(Id(), "web")));
        var stillUsed = Assert.IsType<CommandRejected>(await Ask(new RemoveSecret(Id(), "db_password")));
        Assert.IsType<ConfigRemoved>(await Ask(new RemoveConfig(Id(), "site")));
        Assert.IsType<ServiceRemoved>(await Ask(new RemoveService(Id(), "api")));
        Assert.IsType<SecretRemoved>(await Ask(new RemoveSecret(Id(), "db_password")));

        Assert.StartsWith("secret 'db_password' is in use by the following services: api, web;", secretRefused.Reason, StringComparison.Ordinal);
        Assert.StartsWith("config 'site' is in use by the following service: web;", configRefused.Reason, StringComparison.Ordinal);
        Assert.StartsWith("secret 'db_password' is in use by the following service: api;", stillUsed.Reason, StringComparison.Ordinal);
        Assert.Empty(_store.Current.List<SecretObject>());
        Assert.Empty(_store.Current.List<ConfigObject>());
    }

    private static SecretSpec Secret(string name, string data, params (string Key, string Value)[] labels) =>
        new(name, ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels.Select(l => KeyValuePair.Create(l.Key, l.Value))), Encoding.UTF8.GetBytes(data));

    private static ConfigSpec Config(string name, string data) => new(name, null, Encoding.UTF8.GetBytes(data));

    private static ServiceSpec Service(string name, ImmutableArray<SecretReference> secrets, ImmutableArray<ConfigReference> configs) => new(
        name,
        ImmutableSortedDictionary<string, string>.Empty,
        ServiceMode.ReplicatedMode(1),
        new TaskSpec(new ContainerSpec("busybox", Secrets: secrets, Configs: configs)));

    private string Id() => $"r{++_request}";

    private Task<object> Ask(object message) => _system.Root.RequestAsync<object>(_api, message, TestTimeout.Token);
}
