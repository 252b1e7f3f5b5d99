using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Secrets;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// A task's secrets and configs in a real container, as root: the Linux executor writes them on the
// node's tmpfs and binds them read-only; they go when the container is removed.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class SecretMountTests(ContainerFixture fixture) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-secrets-").FullName;
    private ImageStore _images = null!;
    private TaskFileStore _files = null!;
    private LinuxExecutor _executor = null!;
    private VolumeStore _volumes = null!;

    public async Task InitializeAsync()
    {
        _images = await fixture.ImageStoreWithBusyboxAsync(Path.Combine(_dir, "images"), "busybox:secrets");
        _volumes = new VolumeStore(Path.Combine(_dir, "volumes"));
        _files = new TaskFileStore(Path.Combine(_dir, "secrets"));
        _executor = NewExecutor();
    }

    public Task DisposeAsync()
    {
        _images.Dispose();
        _files.Unmount();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_Container_Reads_Its_Secret_And_Config_With_Their_Owner_And_Mode_Cannot_Write_Them_And_They_Go_With_It()
    {
        var script = string.Join("; ",
            "cat /run/secrets/db_password",
            "ls -ln /run/secrets/db_password",
            "cat /etc/app/app.conf",
            "ls -ln /etc/app/app.conf",
            "echo changed > /run/secrets/db_password",
            "echo changed > /etc/app/app.conf",
            "touch /run/secrets/new",
            "cat /run/secrets/db_password");
        var task = NewTask(script, readOnly: true);
        var files = new TaskFiles(
        [
            new TaskFile(TaskFileKind.Secret, "sec-db", "db_password", new FileTarget("db_password", "app", "extra", 0x120 /* 0440 */), Encoding.UTF8.GetBytes("hunter2\n")),
            new TaskFile(TaskFileKind.Config, "cfg-app", "app_conf", new FileTarget("/etc/app/app.conf", "0", "0"), Encoding.UTF8.GetBytes("port=80\n")),
        ], []);
        var controller = _executor.CreateController(task, files);

        await controller.PrepareAsync(default);
        var taskDir = Path.Combine(_files.Root, task.Id);
        Assert.True(_files.OnTmpfs, $"{_files.Root} is not a tmpfs");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(taskDir));
        string output, errors;
        try
        {
            await controller.StartAsync(default);
            var exit = await controller.WaitAsync(default).WaitAsync(TimeSpan.FromSeconds(20));
            var log = await controller.ReadLogsAsync(0, null, default);
            output = string.Concat(log.Where(e => e.Stream == LogStream.Stdout).Select(e => e.Line + "\n"));
            errors = string.Concat(log.Where(e => e.Stream == LogStream.Stderr).Select(e => e.Line + "\n"));
            Assert.Equal(0, exit.ExitCode);
            Assert.True(_files.Has(task.Id));
        }
        finally
        {
            await controller.RemoveAsync(default);
        }

        var lines = output.Split('\n');
        Assert.Equal("hunter2", lines[0]);
        Assert.Matches(@"^-r--r-----\s+1\s+1000\s+2000\s+8 .* /run/secrets/db_password$", lines[1]);
        Assert.Equal("port=80", lines[2]);
        Assert.Matches(@"^-r--r--r--\s+1\s+0\s+0\s+8 .* /etc/app/app.conf$", lines[3]);
        Assert.Equal("hunter2", lines[4]);
        Assert.Equal(3, errors.Split('\n').Count(l => l.Contains("Read-only file system", StringComparison.Ordinal)));

        Assert.False(_files.Has(task.Id));
        Assert.False(Directory.Exists(taskDir));
    }

    [Fact]
    public async Task A_Node_Host_Restart_Keeps_A_Running_Containers_Files_And_Drops_Those_Of_Tasks_No_Longer_Assigned()
    {
        var task = NewTask("sleep 1000");
        var controller = _executor.CreateController(task, new TaskFiles(
            [new TaskFile(TaskFileKind.Secret, "sec-db", "db_password", new FileTarget("db_password"), Encoding.UTF8.GetBytes("hunter2"))], []));
        await controller.PrepareAsync(default);
        await controller.StartAsync(default);

        // Files left by a task whose container went while the host was down.
        _files.Write("gone00000000", [new ContainerFile("/run/secrets/x", [1], 0, 0, 0x124)]);
        var restarted = NewExecutor();
        var again = restarted.CreateController(task, TaskFiles.None);
        try
        {
            Assert.True((await again.InspectAsync(default)).Exists);
            await restarted.RetainOnlyAsync(new HashSet<string>([task.Id]), new HashSet<string>(), default);

            var (_, read) = await restarted.ExecAsync(task.Id, new ExecSpecification { Command = ["cat", "/run/secrets/db_password"], Timeout = TimeSpan.FromSeconds(20) }, default);
            Assert.Equal("hunter2", read.Stdout);
            Assert.True(_files.Has(task.Id));
            Assert.False(_files.Has("gone00000000"));
        }
        finally
        {
            await again.TerminateAsync(default);
            await again.RemoveAsync(default);
        }

        Assert.False(_files.Has(task.Id));
    }

    [Fact]
    public async Task A_Tasks_Files_Go_When_Its_Container_Has_Ended_Though_The_Container_Stays()
    {
        var task = NewTask("true");
        var controller = _executor.CreateController(task, new TaskFiles(
            [new TaskFile(TaskFileKind.Secret, "sec-db", "db_password", new FileTarget("db_password"), Encoding.UTF8.GetBytes("hunter2"))], []));
        await controller.PrepareAsync(default);
        try
        {
            await controller.StartAsync(default);
            await controller.WaitAsync(default).WaitAsync(TimeSpan.FromSeconds(20));

            await controller.ReleaseAsync(default);

            Assert.False(_files.Has(task.Id), "the secret stayed on the node after its task's container ended");
            Assert.True((await controller.InspectAsync(default)).Exists);
        }
        finally
        {
            await controller.RemoveAsync(default);
        }
    }

    [Fact]
    public async Task A_Container_This_Process_Started_Goes_When_No_Task_Owns_It_Any_More()
    {
        // The node's member was restarted while the task was removed: its new task supervisor never knew the task,
        // so only the executor's retain pass can end the container; it kept it for good because this process started it.
        var task = NewTask("sleep 1000");
        var controller = _executor.CreateController(task, new TaskFiles(
            [new TaskFile(TaskFileKind.Secret, "sec-db", "db_password", new FileTarget("db_password"), Encoding.UTF8.GetBytes("hunter2"))], []));
        await controller.PrepareAsync(default);
        await controller.StartAsync(default);
        try
        {
            await _executor.RetainOnlyAsync(new HashSet<string>(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal), default);

            Assert.DoesNotContain(task.Id, LinuxContainer.List(fixture.Options));
            Assert.False(_files.Has(task.Id));
        }
        finally
        {
            await controller.RemoveAsync(default);
        }
    }

    private LinuxExecutor NewExecutor() => new(() => _images, () => _volumes, fixture.Options, NullLoggerFactory.Instance, files: _files);

    private static TaskObject NewTask(string script, bool readOnly = false) => new(
        "s" + Guid.NewGuid().ToString("N")[..24], ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "node",
        new TaskSpec(new ContainerSpec("busybox:secrets", Command: ["sh", "-c", script], ReadOnly: readOnly)), 1, TaskState.Running,
        new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow));
}
