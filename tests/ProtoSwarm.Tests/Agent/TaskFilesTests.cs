using System.Text;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using Op = ProtoSwarm.Actors.Agent.Tasks.ControllerOperation;

namespace ProtoSwarm.Tests.Agent;

/// <summary>The agent's side of secrets and configs: what it holds from its assignments, and what each task's executor is handed.</summary>
public sealed class TaskFilesTests : IAsyncLifetime
{
    private static readonly SecretPayload DbPassword = new("sec-db", "db_password", Encoding.UTF8.GetBytes("hunter2"));
    private static readonly SecretPayload ApiKey = new("sec-api", "api_key", Encoding.UTF8.GetBytes("k-123"));
    private static readonly SecretPayload AppConf = new("cfg-app", "app_conf", Encoding.UTF8.GetBytes("port=80\n"));

    private readonly TaskHarness _node = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public void A_Full_Set_Replaces_What_Is_Held_And_A_Delta_Adds_And_Removes()
    {
        var payloads = new TaskPayloads();

        payloads.Apply(Assignments(full: true, secrets: [DbPassword, ApiKey], configs: [AppConf]));
        Assert.Equal(["sec-api", "sec-db"], payloads.SecretIds.Order());
        Assert.Equal(["cfg-app"], payloads.ConfigIds);

        payloads.Apply(Assignments(full: false, secretsRemoved: ["sec-api"], configsRemoved: ["cfg-app"]));
        Assert.Equal(["sec-db"], payloads.SecretIds);
        Assert.Empty(payloads.ConfigIds);

        payloads.Apply(Assignments(full: false, secrets: [ApiKey]));
        Assert.Equal(["sec-api", "sec-db"], payloads.SecretIds.Order());

        payloads.Apply(Assignments(full: true, configs: [AppConf]));
        Assert.Empty(payloads.SecretIds);
        Assert.Equal(["cfg-app"], payloads.ConfigIds);
    }

    [Fact]
    public void A_Tasks_Files_Carry_Their_Targets_Owners_Modes_And_Data()
    {
        var payloads = new TaskPayloads();
        payloads.Apply(Assignments(full: true, secrets: [DbPassword], configs: [AppConf]));
        var task = WithFiles(TestTasks.Task("t1"),
            [new SecretReference("sec-db", "db_password", new FileTarget("db", "1000", "2000", 0x100 /* 0400 */))],
            [new ConfigReference("cfg-app", "app_conf", new FileTarget("/etc/app/app.conf"))]);

        var files = payloads.FilesOf(task);

        Assert.Empty(files.Missing);
        Assert.Equal(
            [("/run/secrets/db", "1000", "2000", 0x100, "hunter2"), ("/etc/app/app.conf", "0", "0", FileTarget.DefaultMode, "port=80\n")],
            files.Files.Select(f => (f.ContainerPath, f.Target.Uid, f.Target.Gid, f.Target.Mode, Encoding.UTF8.GetString(f.Data))));
        Assert.Equal([TaskFileKind.Secret, TaskFileKind.Config], files.Files.Select(f => f.Kind));
    }

    [Fact]
    public void A_Task_Without_Secrets_Or_Configs_Has_No_Files()
    {
        Assert.Same(TaskFiles.None, new TaskPayloads().FilesOf(TestTasks.Task("t1")));
    }

    [Fact]
    public async Task A_Task_Is_Prepared_With_Its_Secrets_And_Configs_And_They_Go_With_Its_Container()
    {
        var task = WithFiles(TestTasks.Task("t1"),
            [new SecretReference("sec-db", "db_password", new FileTarget("db_password"))],
            [new ConfigReference("cfg-app", "app_conf", new FileTarget("/app.conf"))]);
        _node.Send(Assignments(full: true, tasks: [task], secrets: [DbPassword, ApiKey], configs: [AppConf]));

        await _node.WaitForAsync("t1", TaskState.Running);

        var files = _node.Executor.FilesOf("t1");
        Assert.NotNull(files);
        Assert.Equal([("/run/secrets/db_password", "hunter2"), ("/app.conf", "port=80\n")],
            files.Files.Select(f => (f.ContainerPath, Encoding.UTF8.GetString(f.Data))));

        // Only what the task references: api_key is held for no task here and reaches no container.
        Assert.DoesNotContain(files.Files, f => f.SourceId == "sec-api");

        _node.Send(Assignments(full: false, sequence: 2, removed: ["t1"], secretsRemoved: ["sec-db"], configsRemoved: ["cfg-app"]));
        await _node.WaitForCallAsync("t1", Op.Remove);
        Assert.Null(_node.Executor.FilesOf("t1"));
    }

    [Fact]
    public async Task A_Task_Whose_Secret_The_Node_Was_Not_Given_Is_Rejected_Before_Anything_Is_Prepared()
    {
        var task = WithFiles(TestTasks.Task("t1"), [new SecretReference("sec-gone", "old_password", new FileTarget("old_password"))], []);
        _node.Send(Assignments(full: true, tasks: [task], secrets: [DbPassword]));

        var rejected = await _node.WaitForAsync("t1", TaskState.Rejected);

        Assert.Contains("secret old_password not found", rejected.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(Op.Prepare, _node.Executor.CallsOf("t1"));
    }

    [Fact]
    public async Task A_Removed_Secret_Is_Forgotten_So_A_Later_Task_Using_It_Is_Rejected()
    {
        _node.Send(Assignments(full: true, secrets: [DbPassword]));
        _node.Send(Assignments(full: false, sequence: 2, secretsRemoved: ["sec-db"]));
        var task = WithFiles(TestTasks.Task("t2"), [new SecretReference("sec-db", "db_password", new FileTarget("db_password"))], []);
        _node.Send(Assignments(full: false, sequence: 3, tasks: [task]));

        var rejected = await _node.WaitForAsync("t2", TaskState.Rejected);

        Assert.Contains("secret db_password not found", rejected.Err, StringComparison.Ordinal);
    }

    private static TaskObject WithFiles(TaskObject task, SecretReference[] secrets, ConfigReference[] configs) =>
        task with { Spec = task.Spec with { Container = task.Spec.Container with { Secrets = [.. secrets], Configs = [.. configs] } } };

    private static TaskAssignments Assignments(bool full, long sequence = 1, TaskObject[]? tasks = null, string[]? removed = null,
        SecretPayload[]? secrets = null, string[]? secretsRemoved = null, SecretPayload[]? configs = null, string[]? configsRemoved = null) =>
        new("n1", "e1", sequence, full, [.. tasks ?? []], [.. removed ?? []],
            Secrets: [.. secrets ?? []], SecretsRemoved: [.. secretsRemoved ?? []], Configs: [.. configs ?? []], ConfigsRemoved: [.. configsRemoved ?? []]);
}
