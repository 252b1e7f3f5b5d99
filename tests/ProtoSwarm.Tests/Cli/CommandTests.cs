using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class CommandTests
{
    private const string SelfId = "aaaaaaaaaaaaaaaaaaaaaaaaa";

    private static FakeNode Swarm() => new(request => request switch
    {
        GetInfo => Info(SelfId),
        ListNodes => new NodeList([
            Node("ccccccccccccccccccccccccc", "worker2"),
            Node(SelfId, "manager1", NodeRole.Manager, leader: true),
            Node("bbbbbbbbbbbbbbbbbbbbbbbbb", "worker1", availability: NodeAvailability.Drain)]),
        InspectNode { NodeRef: "ghost" } => new CommandRejected(RejectCode.NotFound, "No such node: ghost"),
        InspectNode i => new NodeDetails(Node(i.NodeRef == SelfId ? SelfId : "bbbbbbbbbbbbbbbbbbbbbbbbb", "worker1")),
        UpdateNode u => new NodeUpdateAck(Node(u.NodeRef, "worker1"), string.Empty),
        PromoteNode p => new NodeUpdateAck(Node(p.NodeRef, "worker1", NodeRole.Manager), string.Empty),
        DemoteNode d => new NodeUpdateAck(Node(d.NodeRef, "worker1"), string.Empty),
        RemoveNode r => new RemoveNodeAck(r.NodeRef),
        InitSwarm => new InitSwarmAck(SelfId, "cluster1", "SWMTKN-1-digest-secret", "10.0.0.1:2377"),
        JoinSwarm => new JoinSwarmAck("ddddddddddddddddddddddddd", NodeRole.Worker),
        LeaveSwarm => new LeaveSwarmAck(SelfId),
        GetJoinToken t => new JoinTokenInfo(t.Role, "SWMTKN-1-digest-" + t.Role, "10.0.0.1:2377"),
        GetVersion => new VersionInfo("0.1.0", "1", "linux", "amd64", ".NET 10.0.0"),
        _ => new CommandRejected(RejectCode.Internal, "unexpected"),
    });

    [Fact]
    public async Task Node_Ls_Prints_The_Table_Sorted_With_The_Current_Node_Starred()
    {
        var (code, output, _) = await RunAsync(Swarm(), "node", "ls");

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(0, code);
        Assert.StartsWith("ID ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith(SelfId + " *", lines[1], StringComparison.Ordinal);
        Assert.Contains("worker1", lines[2], StringComparison.Ordinal);
        Assert.Contains("Drain", lines[2], StringComparison.Ordinal);
        Assert.Contains("worker2", lines[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Node_Ls_Quiet_Prints_Ids_Only()
    {
        var (_, output, _) = await RunAsync(Swarm(), "node", "ls", "-q");

        Assert.Equal($"{SelfId}\nbbbbbbbbbbbbbbbbbbbbbbbbb\nccccccccccccccccccccccccc\n", output);
    }

    [Fact]
    public async Task Node_Ls_Format_Json_Prints_One_Object_A_Line()
    {
        var (_, output, _) = await RunAsync(Swarm(), "node", "ls", "--format", "json");

        var objects = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(3, objects.Count);
        Assert.Equal(true, (bool?)objects[0]["Self"]);
        Assert.Equal("Leader", (string?)objects[0]["ManagerStatus"]);
        // The fake swarm's nodes and cluster report no TLS info: docker/cli's rule makes that Unknown (NodeViewTests hold Ready and Needs Rotation).
        Assert.Equal("Unknown", (string?)objects[1]["TLSStatus"]);
    }

    [Fact]
    public async Task Node_Ls_Go_Template_Prints_The_Named_Fields()
    {
        var (_, output, _) = await RunAsync(Swarm(), "node", "ls", "--format", "{{.Hostname}}:{{.Availability}}");

        Assert.Equal("manager1:Active\nworker1:Drain\nworker2:Active\n", output);
    }

    [Theory]
    [InlineData("role=manager", "manager1")]
    [InlineData("name=worker", "worker1,worker2")]
    [InlineData("id=bbb", "worker1")]
    [InlineData("membership=pending", "")]
    public async Task Node_Ls_Filters_By_Id_Name_Role_And_Membership(string filter, string hostnames)
    {
        var (_, output, _) = await RunAsync(Swarm(), "node", "ls", "--filter", filter, "--format", "{{.Hostname}}");

        Assert.Equal(hostnames, string.Join(",", output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    /// <summary>worker1's daemon has --label disk=ssd and the node label disk=hdd; worker2's daemon --label disk=hdd.</summary>
    private static FakeNode EngineLabelled() => new(request => request switch
    {
        GetInfo => Info(SelfId),
        ListNodes => new NodeList([
            Node(SelfId, "manager1", NodeRole.Manager, leader: true),
            Node("bbbbbbbbbbbbbbbbbbbbbbbbb", "worker1", labels: ImmutableSortedDictionary<string, string>.Empty.Add("disk", "hdd"))
                .WithEngineLabels(("disk", "ssd"), ("rack", "")),
            Node("ccccccccccccccccccccccccc", "worker2").WithEngineLabels(("disk", "hdd"))]),
        _ => new CommandRejected(RejectCode.Internal, "unexpected"),
    });

    [Theory]
    [InlineData("label=disk", "worker1,worker2")]
    [InlineData("label=disk=ssd", "worker1")]
    [InlineData("label=disk=hdd", "worker2")]
    [InlineData("label=rack", "worker1")]
    [InlineData("label=rack=", "worker1")]
    [InlineData("label=zone", "")]
    [InlineData("node.label=disk=hdd", "worker1")]
    [InlineData("node.label=disk=ssd", "")]
    public async Task Node_Ls_Filter_Label_Reads_Engine_Labels_And_Node_Label_The_Nodes_Own(string filter, string hostnames)
    {
        var (code, output, error) = await RunAsync(EngineLabelled(), "node", "ls", "--filter", filter, "--format", "{{.Hostname}}");

        Assert.True(code == 0, error);
        Assert.Equal(hostnames, string.Join(",", output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Node_Inspect_Resolves_Self_And_Reports_Missing_Nodes_After_The_Found_Ones()
    {
        var (code, output, error) = await RunAsync(Swarm(), "node", "inspect", "self", "ghost");

        var array = JsonNode.Parse(output)!.AsArray();
        Assert.Equal(1, code);
        Assert.Equal(SelfId, (string?)array.Single()!["ID"]);
        Assert.Equal("Error: No such node: ghost\n", error);
    }

    [Fact]
    public async Task Node_Inspect_Format_Reads_Nested_Fields()
    {
        var (_, output, _) = await RunAsync(Swarm(), "node", "inspect", "--format", "{{.Status.Addr}} {{.Spec.Role}}", "worker1");

        Assert.Equal("10.0.0.1 worker\n", output);
    }

    [Fact]
    public async Task Node_Update_Sends_Availability_And_Labels_And_Prints_The_Node()
    {
        var node = Swarm();

        var (code, output, _) = await RunAsync(node, "node", "update", "--availability", "drain", "--label-add", "zone=a", "--label-add", "ssd=", "--label-rm", "old", "worker1");

        var sent = Assert.IsType<UpdateNode>(Assert.Single(node.Requests));
        Assert.Equal(0, code);
        Assert.Equal("worker1\n", output);
        Assert.Equal(NodeAvailability.Drain, sent.Availability);
        Assert.Equal("a", sent.LabelsAdd["zone"]);
        Assert.Equal(string.Empty, sent.LabelsAdd["ssd"]);
        Assert.Equal(["old"], sent.LabelsRemove.ToArray());
    }

    [Theory]
    [InlineData("manager", NodeRole.Manager)]
    [InlineData("worker", NodeRole.Worker)]
    public async Task Node_Update_Role_Sends_The_Role_And_Prints_The_Node_As_Typed_As_Docker_Does(string role, NodeRole expected)
    {
        var node = Swarm();

        var (code, output, _) = await RunAsync(node, "node", "update", "--role", role, "worker1");

        Assert.Equal(0, code);
        Assert.Equal("worker1\n", output);
        var sent = Assert.IsType<UpdateNode>(Assert.Single(node.Requests));
        Assert.Equal((expected, (NodeAvailability?)null), (sent.Role, sent.Availability));
    }

    [Fact]
    public async Task Node_Update_Role_Refused_By_The_Managers_Prints_Their_Reason_And_Exits_1()
    {
        var node = new FakeNode(_ => new CommandRejected(RejectCode.Conflict,
            "Demoting m1 would lose quorum: 2 managers would remain, of which 1 is reachable, and 2 are needed. Bring the unreachable managers back (or demote them first), then try again."));

        var (code, output, error) = await RunAsync(node, "node", "update", "--role", "worker", "m1");

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains("Error: Demoting m1 would lose quorum", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Node_Update_Label_Add_Of_A_Key_Alone_Sends_An_Empty_Value_As_Docker_Does()
    {
        var node = Swarm();

        var (code, output, error) = await RunAsync(node, "node", "update", "--label-add", "ssd", "worker1");

        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal("worker1\n", output);
        var sent = Assert.IsType<UpdateNode>(Assert.Single(node.Requests));
        Assert.Equal(string.Empty, sent.LabelsAdd["ssd"]);
    }

    [Fact]
    public async Task Promote_And_Demote_Name_The_Node_As_Typed_In_The_Managers_Message()
    {
        var node = new FakeNode(request => request switch
        {
            PromoteNode p => new NodeUpdateAck(Node("i7nzgxdfb9i0632htlg85m3tf", "m3", NodeRole.Manager), "Node i7nzgxdfb9i0632htlg85m3tf promoted to a manager in the swarm."),
            DemoteNode d => new NodeUpdateAck(Node("i7nzgxdfb9i0632htlg85m3tf", "m3"), "Node i7nzgxdfb9i0632htlg85m3tf is already a worker."),
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });

        var (_, promoted, _) = await RunAsync(node, "node", "promote", "m3");
        var (_, demoted, _) = await RunAsync(node, "node", "demote", "m3");

        Assert.Equal("Node m3 promoted to a manager in the swarm.\n", promoted);
        Assert.Equal("Node m3 is already a worker.\n", demoted);
    }

    [Fact]
    public async Task Promote_And_Demote_Print_Docker_Sentences()
    {
        var (_, promoted, _) = await RunAsync(Swarm(), "node", "promote", "worker1", "worker2");
        var (_, demoted, _) = await RunAsync(Swarm(), "node", "demote", "worker1");

        Assert.Equal("Node worker1 promoted to a manager in the swarm.\nNode worker2 promoted to a manager in the swarm.\n", promoted);
        Assert.Equal("Manager worker1 demoted in the swarm.\n", demoted);
    }

    [Fact]
    public async Task Node_Rm_Prints_Each_Node_And_Sends_Force()
    {
        var node = Swarm();

        var (_, output, _) = await RunAsync(node, "node", "rm", "--force", "worker1", "worker2");

        Assert.Equal("worker1\nworker2\n", output);
        Assert.All(node.Requests, r => Assert.True(Assert.IsType<RemoveNode>(r).Force));
    }

    [Fact]
    public async Task Swarm_Init_Prints_The_Join_Command_Like_Docker()
    {
        var (code, output, _) = await RunAsync(Swarm(), "swarm", "init", "--advertise-addr", "10.0.0.1");

        Assert.Equal(0, code);
        Assert.Equal(
            $"Swarm initialized: current node ({SelfId}) is now a manager.\n\n" +
            "To add a worker to this swarm, run the following command:\n\n" +
            "    protoswarm swarm join --token SWMTKN-1-digest-secret 10.0.0.1:2377\n\n" +
            "To add a manager to this swarm, run 'protoswarm swarm join-token manager' and follow the instructions.\n\n",
            output);
    }

    [Fact]
    public async Task Swarm_Join_Adds_The_Default_Port_And_Says_The_Role()
    {
        var node = Swarm();

        var (_, output, _) = await RunAsync(node, "swarm", "join", "--token", "SWMTKN-1-digest-secret", "10.0.0.1");

        Assert.Equal("This node joined a swarm as a worker.\n", output);
        Assert.Equal("10.0.0.1:2377", Assert.IsType<JoinSwarm>(Assert.Single(node.Requests)).RemoteAddr);
    }

    [Fact]
    public async Task Swarm_Join_Token_Quiet_Prints_Only_The_Token()
    {
        var (_, quiet, _) = await RunAsync(Swarm(), "swarm", "join-token", "-q", "manager");
        var (_, full, _) = await RunAsync(Swarm(), "swarm", "join-token", "manager");

        Assert.Equal("SWMTKN-1-digest-Manager\n", quiet);
        Assert.StartsWith("To add a manager to this swarm, run the following command:\n\n    protoswarm swarm join --token SWMTKN-1-digest-Manager 10.0.0.1:2377\n", full, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Swarm_Leave_Says_The_Node_Left()
    {
        var (_, output, _) = await RunAsync(Swarm(), "swarm", "leave", "--force");

        Assert.Equal("Node left the swarm.\n", output);
    }

    [Fact]
    public async Task Every_Command_Sends_A_Fresh_Request_Id()
    {
        var node = Swarm();

        await RunAsync(node, "node", "rm", "a", "b", "c");

        Assert.Equal(3, node.Requests.Cast<RemoveNode>().Select(r => r.RequestId).Distinct().Count());
    }

    [Fact]
    public async Task Refusals_From_The_Node_Print_Error_And_Exit_One()
    {
        var node = new FakeNode(_ => new CommandRejected(RejectCode.NotManager, "This node is not a swarm manager."));

        var (code, output, error) = await RunAsync(node, "node", "ls");

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Equal("Error: This node is not a swarm manager.\n", error);
    }

    [Fact]
    public async Task Unexpected_Failures_Print_One_Line_Without_A_Stack_Trace()
    {
        var node = new FakeNode(_ => throw new IOException("disk on fire"));

        var (code, _, error) = await RunAsync(node, "info");

        Assert.Equal(1, code);
        Assert.Equal("Error: unexpected IOException: disk on fire\n", error);
    }

    [Fact]
    public async Task Version_Prints_The_Client_Part_Even_When_The_Node_Is_Unreachable()
    {
        var node = new FakeNode(_ => new CommandRejected(RejectCode.Unavailable, "Cannot connect to the ProtoSwarm node."));

        var (code, output, error) = await RunAsync(node, "version");

        Assert.Equal(1, code);
        Assert.StartsWith("Client:\n Version:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Server:", output, StringComparison.Ordinal);
        Assert.Equal("Error: Cannot connect to the ProtoSwarm node.\n", error);
    }

    [Fact]
    public async Task Version_Shows_Both_Sides_When_The_Node_Answers()
    {
        var (code, output, _) = await RunAsync(Swarm(), "version", "--format", "{{.Server.Os}}/{{.Server.Arch}} {{.Client.ApiVersion}}");

        Assert.Equal(0, code);
        Assert.Equal("linux/amd64 1\n", output);
    }

    [Fact]
    public async Task Info_Format_Reads_The_Swarm_State_As_Docker_Scripts_Do()
    {
        var (_, output, _) = await RunAsync(Swarm(), "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}");

        Assert.Equal("active true\n", output);
    }

    [Fact]
    public async Task System_Info_Is_Info_As_Docker_System_Info_Is()
    {
        var (code, output, error) = await RunAsync(Swarm(), "system", "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}");

        Assert.Equal(0, code);
        Assert.Equal("active true\n", output);
        Assert.Empty(error);
    }
}
