using System.Collections.Immutable;
using ProtoSwarm.Actors.Nodes;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Orchestration.Reconcile;

namespace ProtoSwarm.Tests.Contracts;

public class ServiceTemplatesTests
{
    private static readonly TemplateContext Context = new(
        "svc123", "web", ImmutableSortedDictionary<string, string>.Empty.Add("tier", "front"),
        "node9", "worker-1", "linux", "x86_64", "task7", 3);

    [Theory]
    [InlineData("{{.Service.ID}}", "svc123")]
    [InlineData("{{.Service.Name}}", "web")]
    [InlineData("{{ .Node.ID }}", "node9")]
    [InlineData("{{.Node.Hostname}}-{{.Task.Slot}}", "worker-1-3")]
    [InlineData("{{.Node.Platform.OS}}/{{.Node.Platform.Architecture}}", "linux/x86_64")]
    [InlineData("{{.Task.ID}}", "task7")]
    [InlineData("{{.Task.Name}}", "web.3.task7")]
    [InlineData("T={{index .Service.Labels \"tier\"}}", "T=front")]
    [InlineData("T={{index .Service.Labels \"missing\"}}", "T=")]
    [InlineData("plain", "plain")]
    [InlineData("{{printf \"%03s\" .Task.Slot}}", "003")]
    [InlineData("{{if eq .Task.Slot \"3\"}}primary{{else}}replica{{end}}", "primary")]
    [InlineData("{{.Node.Hostname | upper}}-{{len .Service.Labels}}", "WORKER-1-1")]
    [InlineData("{{range $k, $v := .Service.Labels}}{{$k}}={{$v}}{{end}}", "tier=front")]
    [InlineData("{{range 3}}x{{else}}none{{end}}", "xxx")]
    [InlineData("{{range 0}}x{{else}}none{{end}}", "none")]
    public void Docker_Placeholders_Expand_For_One_Task_On_One_Node(string text, string expected)
    {
        Assert.Equal(expected, ServiceTemplates.Expand(text, Context));
    }

    [Theory]
    [InlineData("{{range 2000000000}}{{end}}", "more than 4000000 steps; it was stopped")]
    [InlineData("{{range 2000000}}{{printf \"%9999999s\" \"x\"}}{{end}}", "longer than 4194304 characters; it was stopped")]
    [InlineData("{{pad \"x\" 2000000000 2000000000}}", "would make the output longer than 4194304 characters")]
    public void An_Operators_Template_Cannot_Make_Its_Node_Run_Out_Of_Memory_Or_Time(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ServiceTemplates.Expand(text, Context));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{range 2000000000}}{{end}}", "template '{{range 2000000000}}{{end}}', column 9: at <{{range 2000000000}}>: the template takes more than 4000000 steps; it was stopped")]
    [InlineData("{{range 2000000}}{{printf \"%9999999s\" \"x\"}}{{end}}", "template '{{range 2000000}}{{printf \"%9999999s\" \"x\"}}{{end}}', column 20: at <{{printf \"%9999999s\" \"x\"}}>: the template's output is longer than 4194304 characters; it was stopped")]
    [InlineData("{{printf \"%4194300s\" \"x\"}} and more", "template '{{printf \"%4194300s\" \"x\"}} and more', column 27: the template's output is longer than 4194304 characters; it was stopped")]
    public void A_Template_Stopped_By_The_Nodes_Budget_Says_Where_It_Ran_Out(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ServiceTemplates.Expand(text, Context));

        Assert.Equal(expected, e.Message);
    }

    [Theory]
    [InlineData("{{.Node.Name}}", "'{{.Node.Name}}' names nothing a service template has")]
    [InlineData("{{.Task.Slot", "is never closed")]
    [InlineData("{{index .Node.Labels \"x\"}}", "names nothing a service template has; use .Service.ID")]
    [InlineData("{{.Task.Slot | nofunc}}", "template '{{.Task.Slot | nofunc}}', column 16: function \"nofunc\" not defined")]
    [InlineData("{{if .Task.Slot}}x", "column 19: unexpected EOF")]
    [InlineData("{{index .Service.Labels 1}}", "at <index .Service.Labels 1>: error calling index: value has type int; should be string")]
    public void Anything_Else_Is_Refused_With_The_Reason(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ServiceTemplates.Expand(text, Context));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Global_Tasks_Name_Carries_Its_Node_And_Its_Slot_Is_Zero()
    {
        var global = Context with { Slot = 0 };

        Assert.Equal("web.node9.task7 0", ServiceTemplates.Expand("{{.Task.Name}} {{.Task.Slot}}", global));
    }

    [Fact]
    public void A_Task_Is_Sent_To_Its_Node_Expanded_While_The_Store_Keeps_The_Templates()
    {
        var container = new ContainerSpec("busybox:1",
            Env: ["NODE={{.Node.Hostname}}", "PLAIN=1"],
            Hostname: "{{.Service.Name}}-{{.Task.Slot}}",
            Mounts: [new MountSpec(MountType.Volume, "data-{{.Task.Slot}}", "/data/{{.Node.ID}}")]);
        var service = new ServiceObject(Rc.Sid, ObjectMeta.New(TestNodes.T0), Rc.Spec() with { TaskTemplate = new TaskSpec(container) }, 1);
        var node = TestNodes.Worker("node1", "w-1");
        var state = StoreState.Empty.Apply(1, [StoreChange.Create(service), StoreChange.Create(node)], TestNodes.T0, out _);
        var task = Rc.Task("t1", 2, "node1", spec: service.Spec);

        var sent = NodeActor.AsRun(task, state.Get<NodeObject>("node1")!, state);

        Assert.Equal("web-2", sent.Spec.Container.Hostname);
        Assert.Equal(["NODE=w-1", "PLAIN=1"], sent.Spec.Container.Env.ToArray());
        Assert.Equal(("data-2", "/data/node1"), (sent.Spec.Container.Mounts[0].Source, sent.Spec.Container.Mounts[0].Target));
        Assert.Equal("{{.Service.Name}}-{{.Task.Slot}}", task.Spec.Container.Hostname);
    }

    [Fact]
    public void Service_Labels_Print_As_Go_Prints_A_Map()
    {
        var labels = Context with { ServiceLabels = ImmutableSortedDictionary<string, string>.Empty.Add("z", "1").Add("a", "b c") };

        Assert.Equal("map[a:b c z:1] map[]", ServiceTemplates.Expand("{{.Service.Labels}}", labels) + " " + ServiceTemplates.Expand("{{.Service.Labels}}", Context with { ServiceLabels = ImmutableSortedDictionary<string, string>.Empty }));
    }

    [Theory]
    [InlineData("{{env \"HOME\"}}")]
    [InlineData("{{secret \"db\"}}")]
    [InlineData("{{ config \"app.conf\" }}")]
    public void A_Services_Templates_Cannot_Call_The_Functions_Of_Templated_Secrets_And_Configs(string text)
    {
        var e = Assert.Throws<FormatException>(() => ServiceTemplates.Expand(text, Context));

        Assert.Contains("may be called only in a secret's or config's data created with --template-driver golang", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{env \"X\"}}", "env(X)")]
    [InlineData("{{ env `X Y` }}", "env(X Y)")]
    [InlineData("{{secret \"db\"}}/{{config \"app.conf\"}}", "secret(db)/config(app.conf)")]
    public void Functions_Get_Their_Quoted_Argument(string text, string expected)
    {
        Assert.Equal(expected, ServiceTemplates.Expand(text, Context, (name, argument) => $"{name}({argument})"));
    }

    [Theory]
    [InlineData("{{env X}}", "function \"X\" not defined")]
    [InlineData("{{env \"X\" \"Y\"}}", "wrong number of args for env: want 1 got 2")]
    [InlineData("{{secret}}", "wrong number of args for secret: want 1 got 0")]
    public void A_Function_Called_Wrongly_Is_Refused_With_The_Reason(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ServiceTemplates.Expand(text, Context, (_, _) => "x"));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Problem_In_A_Long_Text_Is_Placed_By_Its_Line_Not_By_Quoting_The_Text()
    {
        var e = Assert.Throws<FormatException>(() => ServiceTemplates.Expand("a\nb\nname={{.Service.Nom}}\n", Context));

        Assert.StartsWith("template line 3: '{{.Service.Nom}}' names nothing a service template has", e.Message, StringComparison.Ordinal);
    }
}
