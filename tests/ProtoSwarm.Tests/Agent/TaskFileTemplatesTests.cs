using System.Collections.Immutable;
using System.Text;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Orchestration.Reconcile;
using Op = ProtoSwarm.Actors.Agent.Tasks.ControllerOperation;

namespace ProtoSwarm.Tests.Agent;

/// <summary>docker's templated secrets and configs (--template-driver golang): expanded by the task's node, for that task.</summary>
public sealed class TaskFileTemplatesTests : IAsyncLifetime
{
    private static readonly TemplateContext Context = new(
        "svc123", "web", ImmutableSortedDictionary<string, string>.Empty.Add("tier", "front"),
        "node9", "worker-1", "linux", "x86_64", "task7", 3);

    private static readonly SecretPayload DbPassword = new("sec-db", "db_password", Encoding.UTF8.GetBytes("hunter2"));

    private readonly TaskHarness _node = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Theory]
    [InlineData("{{.Service.ID}}", "svc123")]
    [InlineData("{{.Service.Name}}", "web")]
    [InlineData("{{.Service.Labels}}", "map[tier:front]")]
    [InlineData("{{index .Service.Labels \"tier\"}}", "front")]
    [InlineData("{{.Node.ID}} {{.Node.Hostname}}", "node9 worker-1")]
    [InlineData("{{.Node.Platform.OS}}/{{.Node.Platform.Architecture}}", "linux/x86_64")]
    [InlineData("{{.Task.Name}} {{.Task.ID}} {{.Task.Slot}}", "web.3.task7 task7 3")]
    [InlineData("{{env \"X\"}}|{{env \"UNSET\"}}|{{env \"GONE\"}}", "second|   |")]
    [InlineData("{{secret \"db\"}}", "hunter2")]
    [InlineData("{{config \"other.conf\"}} {{config \"/other.conf\"}}", "raw {{.Task.Slot}} raw {{.Task.Slot}}")]
    [InlineData("a: {{.Service.Name}}\nb: {{.Task.Slot}}\n", "a: web\nb: 3\n")]
    [InlineData("{{if eq .Task.Slot \"1\"}}primary{{else}}replica {{.Task.Slot}}{{end}}", "replica 3")]
    [InlineData("{{range $k, $v := .Service.Labels}}{{$k}}={{$v}}\n{{end}}", "tier=front\n")]
    [InlineData("{{with secret \"db\"}}password={{.}}{{end}}", "password=hunter2")]
    [InlineData("{{env \"X\" | printf \"%q\"}} {{len (env \"UNSET\")}} {{if env \"GONE\"}}set{{else}}empty{{end}}", "\"second\" 3 empty")]
    [InlineData("{{- range split (env \"X\") \"c\" }}[{{.}}]{{- end }}", "[se][ond]")]
    [InlineData("{{/* the service */}}{{.Service.Name | upper}}{{\"\\n\"}}", "WEB\n")]
    public void Each_Placeholder_And_Function_Is_Expanded_For_The_Task(string template, string expected)
    {
        var payloads = Holding(Config("cfg-app", "app_conf", template, "golang"), Config("cfg-other", "other", "raw {{.Task.Slot}}"));

        var files = payloads.FilesOf(TaskOf(["X=first", "X=second", "UNSET=   ", "GONE=1", "GONE"]));

        Assert.Empty(files.Missing);
        Assert.Equal(expected, Data(files, "/app.conf"));
    }

    [Fact]
    public void A_Config_Without_The_Driver_Is_Delivered_As_Written()
    {
        var payloads = Holding(Config("cfg-app", "app_conf", "{{.Service.Name}} {{nonsense}}"), Config("cfg-other", "other", "x"));

        var files = payloads.FilesOf(TaskOf([]));

        Assert.Empty(files.Missing);
        Assert.Equal("{{.Service.Name}} {{nonsense}}", Data(files, "/app.conf"));
    }

    [Fact]
    public void A_Templated_Secret_Is_Expanded_As_A_Config_Is()
    {
        var payloads = new TaskPayloads();
        payloads.Apply(new TaskAssignments("n1", "e1", 1, true, [], [], Secrets: [new SecretPayload("sec-t", "tls", Encoding.UTF8.GetBytes("{{.Node.Hostname}}:{{secret \"db\"}}"), "golang"), DbPassword]));
        var task = TaskOf([]) with
        {
            Spec = TaskOf([]).Spec with
            {
                Container = TaskOf([]).Spec.Container with
                {
                    Configs = [],
                    Secrets = [new SecretReference("sec-t", "tls", new FileTarget("tls")), new SecretReference("sec-db", "db_password", new FileTarget("db"))],
                },
            },
        };

        var files = payloads.FilesOf(task);

        Assert.Equal(("worker-1:hunter2", "hunter2"), (Data(files, "/run/secrets/tls"), Data(files, "/run/secrets/db")));
    }

    [Theory]
    [InlineData("port={{secret \"nope\"}}", "config app_conf: its template cannot be expanded: template 'port={{secret \"nope\"}}': secret target nope not found: the service has secrets with targets db; add it with --secret-add source=NAME,target=nope")]
    [InlineData("a\nb={{config \"nope\"}}", "config app_conf: its template cannot be expanded: template line 2: config target nope not found: the service has configs with targets /app.conf, /other.conf; add it with --config-add source=NAME,target=nope")]
    [InlineData("{{.Service.Nom}}", "config app_conf: its template cannot be expanded: template '{{.Service.Nom}}': '{{.Service.Nom}}' names nothing a service template has")]
    [InlineData("{{.Task.Slot", "is never closed")]
    [InlineData("{{env HOME}}", "function \"HOME\" not defined")]
    [InlineData("{{range .Service.Labels}}{{.}}", "unexpected EOF")]
    [InlineData("{{env 1}}", "wrong type for value; expected string; got int")]
    public void A_Template_That_Cannot_Be_Expanded_Is_A_Problem_Naming_The_Config(string template, string expected)
    {
        var payloads = Holding(Config("cfg-app", "app_conf", template, "golang"), Config("cfg-other", "other", "x"));

        var files = payloads.FilesOf(TaskOf([]));

        Assert.Contains(expected, Assert.Single(files.Missing), StringComparison.Ordinal);
        Assert.Contains("fix it in a new config (--template-driver golang)", files.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Task_Sent_Without_Its_Template_Context_Cannot_Have_It_Expanded()
    {
        var payloads = Holding(Config("cfg-app", "app_conf", "{{.Service.Name}}", "golang"), Config("cfg-other", "other", "x"));

        var files = payloads.FilesOf(TaskOf([]) with { Template = null });

        Assert.Contains("config app_conf is templated, but the task came without its template context", Assert.Single(files.Missing), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Task_Whose_Template_Fails_Is_Rejected_With_The_Reason_Before_Anything_Is_Prepared()
    {
        _node.Send(new TaskAssignments("n1", "e1", 1, true, [TaskOf([])], [],
            Secrets: [DbPassword], Configs: [Config("cfg-app", "app_conf", "{{config \"missing\"}}", "golang"), Config("cfg-other", "other", "x")]));

        var rejected = await _node.WaitForAsync("t1", TaskState.Rejected);

        Assert.Contains("config app_conf: its template cannot be expanded", rejected.Err, StringComparison.Ordinal);
        Assert.Contains("config target missing not found", rejected.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(Op.Prepare, _node.Executor.CallsOf("t1"));
    }

    [Fact]
    public async Task A_Templated_Config_Reaches_The_Executor_Expanded()
    {
        _node.Send(new TaskAssignments("n1", "e1", 1, true, [TaskOf(["X=1"])], [],
            Secrets: [DbPassword], Configs: [Config("cfg-app", "app_conf", "{{.Service.Name}} {{.Task.Slot}} {{env \"X\"}}", "golang"), Config("cfg-other", "other", "x")]));

        await _node.WaitForAsync("t1", TaskState.Running);

        Assert.Equal("web 3 1", Data(_node.Executor.FilesOf("t1")!, "/app.conf"));
    }

    [Fact]
    public void The_Managers_Send_A_Task_Its_Template_Context_Only_When_One_Of_Its_Configs_Or_Secrets_Is_Templated()
    {
        var templated = new ConfigObject("cfg-t", ObjectMeta.New(TestNodes.T0), new ConfigSpec("t", null, [1]) { Templating = "golang" });
        var plain = new ConfigObject("cfg-p", ObjectMeta.New(TestNodes.T0), new ConfigSpec("p", null, [1]));
        var service = new ServiceObject(Rc.Sid, ObjectMeta.New(TestNodes.T0), Rc.Spec() with { Name = "web", Labels = ImmutableSortedDictionary<string, string>.Empty.Add("tier", "front") }, 1);
        var node = TestNodes.Worker("node1", "w-1");
        var state = StoreState.Empty.Apply(1, [StoreChange.Create(service), StoreChange.Create(node), StoreChange.Create(templated), StoreChange.Create(plain)], TestNodes.T0, out _);
        TaskObject Using(ConfigObject config)
        {
            var task = Rc.Task("t1", 2, "node1", spec: service.Spec);
            return task with { Spec = task.Spec with { Container = task.Spec.Container with { Configs = [new ConfigReference(config.Id, config.Spec.Name, new FileTarget("/c"))] } } };
        }

        var sent = NodeActor.AsRun(Using(templated), state.Get<NodeObject>("node1")!, state);
        var sentPlain = NodeActor.AsRun(Using(plain), state.Get<NodeObject>("node1")!, state);

        Assert.Equal(
            new TemplateContext(Rc.Sid, "web", service.Spec.Labels, "node1", "w-1", node.Description.Os, node.Description.Architecture, "t1", 2),
            sent.Template! with { ServiceLabels = service.Spec.Labels });
        Assert.Equal("front", sent.Template!.ServiceLabels["tier"]);
        Assert.Null(sentPlain.Template);
        // Every task sent names its service, for its container's name on the node (SERVICE.SLOT.TASKID); the store's copy does not.
        Assert.Equal(("web", "web", ""), (sent.ServiceName, sentPlain.ServiceName, Using(plain).ServiceName));
    }

    /// <summary>Task t1 of service web (slot 3 on node9), with the config app_conf at /app.conf, other at /other.conf and the secret db_password at db.</summary>
    private static TaskObject TaskOf(string[] env)
    {
        var task = TestTasks.Task("t1", env: env);
        return task with
        {
            Template = Context,
            Spec = task.Spec with
            {
                Container = task.Spec.Container with
                {
                    Secrets = [new SecretReference("sec-db", "db_password", new FileTarget("db"))],
                    Configs = [new ConfigReference("cfg-app", "app_conf", new FileTarget("/app.conf")), new ConfigReference("cfg-other", "other", new FileTarget("/other.conf"))],
                },
            },
        };
    }

    private static SecretPayload Config(string id, string name, string data, string? templating = null) => new(id, name, Encoding.UTF8.GetBytes(data), templating);

    private static TaskPayloads Holding(params SecretPayload[] configs)
    {
        var payloads = new TaskPayloads();
        payloads.Apply(new TaskAssignments("n1", "e1", 1, true, [], [], Secrets: [DbPassword], Configs: [.. configs]));
        return payloads;
    }

    private static string Data(TaskFiles files, string path) => Encoding.UTF8.GetString(files.Files.Single(f => f.ContainerPath == path).Data);
}
