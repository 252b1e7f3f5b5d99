using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class NodeViewTests
{
    private const string ManagerId = "aaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string WorkerId = "bbbbbbbbbbbbbbbbbbbbbbbbb";

    [Fact]
    public void Node_Ls_Marks_The_Current_Node_With_A_Star()
    {
        var rows = new[] { Node(ManagerId, "manager1", NodeRole.Manager, leader: true), Node(WorkerId, "worker1") }
            .Select(n => NodeView.Row(n, selfId: ManagerId));

        var lines = NodeView.Table(rows).Split('\n');

        Assert.StartsWith(ManagerId + " *", lines[1], StringComparison.Ordinal);
        Assert.StartsWith(WorkerId + "   ", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Node_Ls_Prints_Docker_Columns_Aligned()
    {
        var rows = new[] { Node(ManagerId, "manager1", NodeRole.Manager, leader: true), Node(WorkerId, "worker1") }
            .Select(n => NodeView.Row(n, selfId: ManagerId));

        Assert.Equal(
            "ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n" +
            "aaaaaaaaaaaaaaaaaaaaaaaaa *   manager1   Ready     Active         Leader           0.1.0\n" +
            "bbbbbbbbbbbbbbbbbbbbbbbbb     worker1    Ready     Active                          0.1.0\n",
            NodeView.Table(rows));
    }

    [Theory]
    [InlineData(true, Reachability.Reachable, "Leader")]
    [InlineData(false, Reachability.Reachable, "Reachable")]
    [InlineData(false, Reachability.Unreachable, "Unreachable")]
    [InlineData(false, Reachability.Unknown, "Unknown")]
    public void Manager_Status_Says_Leader_Or_Reachability(bool leader, Reachability reachability, string expected)
    {
        Assert.Equal(expected, NodeView.ManagerStatusText(new ManagerStatus(leader, reachability, "a:1")));
    }

    [Fact]
    public void Manager_Status_Is_Empty_For_Workers()
    {
        Assert.Equal(string.Empty, NodeView.Row(Node(WorkerId, "w"), null).ManagerStatus);
    }

    [Theory]
    [InlineData(NodeState.Ready, "Ready")]
    [InlineData(NodeState.Down, "Down")]
    [InlineData(NodeState.Unknown, "Unknown")]
    [InlineData(NodeState.Disconnected, "Disconnected")]
    public void Status_Uses_Docker_Words(NodeState state, string expected) => Assert.Equal(expected, NodeView.StatusText(state));

    [Theory]
    [InlineData(NodeAvailability.Active, "Active")]
    [InlineData(NodeAvailability.Pause, "Pause")]
    [InlineData(NodeAvailability.Drain, "Drain")]
    public void Availability_Uses_Docker_Words(NodeAvailability availability, string expected) =>
        Assert.Equal(expected, NodeView.AvailabilityText(availability));

    [Fact]
    public void Json_Line_Has_Docker_Field_Names_In_Docker_Order()
    {
        var json = Json.Line(NodeView.ToJson(NodeView.Row(Node(ManagerId, "manager1", NodeRole.Manager, leader: true), ManagerId)));

        Assert.Equal(
            """{"Availability":"Active","EngineVersion":"0.1.0","Hostname":"manager1","ID":"aaaaaaaaaaaaaaaaaaaaaaaaa","ManagerStatus":"Leader","Self":true,"Status":"Ready","TLSStatus":"Ready"}""",
            json);
    }

    [Fact]
    public void Nodes_Are_Sorted_By_Hostname_Naturally()
    {
        var sorted = NodeView.Sorted([Node("1", "worker10"), Node("2", "worker2"), Node("3", "manager1")]);

        Assert.Equal(["manager1", "worker2", "worker10"], sorted.Select(n => n.Description.Hostname));
    }

    [Fact]
    public void Inspect_Has_Docker_Shape_With_Lower_Case_Values()
    {
        var labels = ImmutableSortedDictionary<string, string>.Empty.Add("zone", "a");
        var json = NodeView.Inspect(Node(ManagerId, "manager1", NodeRole.Manager, leader: true, labels: labels));

        Assert.Equal(ManagerId, (string?)json["ID"]);
        Assert.Equal(42UL, (ulong?)json["Version"]!["Index"]);
        Assert.Equal("2025-03-01T12:30:45.12Z", (string?)json["CreatedAt"]);
        Assert.Equal("a", (string?)json["Spec"]!["Labels"]!["zone"]);
        Assert.Equal("manager", (string?)json["Spec"]!["Role"]);
        Assert.Equal("active", (string?)json["Spec"]!["Availability"]);
        Assert.Equal("manager1", (string?)json["Description"]!["Hostname"]);
        Assert.Equal("x86_64", (string?)json["Description"]!["Platform"]!["Architecture"]);
        Assert.Equal("linux", (string?)json["Description"]!["Platform"]!["OS"]);
        Assert.Equal(4_000_000_000L, (long?)json["Description"]!["Resources"]!["NanoCPUs"]);
        Assert.Equal(8_272_408_576L, (long?)json["Description"]!["Resources"]!["MemoryBytes"]);
        Assert.Equal("0.1.0", (string?)json["Description"]!["Engine"]!["EngineVersion"]);
        Assert.Equal("ready", (string?)json["Status"]!["State"]);
        Assert.Equal("10.0.0.1", (string?)json["Status"]!["Addr"]);
        Assert.Equal(true, (bool?)json["ManagerStatus"]!["Leader"]);
        Assert.Equal("reachable", (string?)json["ManagerStatus"]!["Reachability"]);
        Assert.Equal("10.0.0.1:2377", (string?)json["ManagerStatus"]!["Addr"]);
    }

    [Fact]
    public void Inspect_Of_A_Worker_Has_No_Manager_Status_And_Empty_Labels()
    {
        var json = NodeView.Inspect(Node(WorkerId, "worker1", availability: NodeAvailability.Drain));

        Assert.False(json.ContainsKey("ManagerStatus"));
        Assert.Empty(json["Spec"]!["Labels"]!.AsObject());
        Assert.Equal("worker", (string?)json["Spec"]!["Role"]);
        Assert.Equal("drain", (string?)json["Spec"]!["Availability"]);
    }

    [Fact]
    public void Inspect_Prints_An_Array_Indented_By_Four_Spaces()
    {
        var text = Json.IndentedArray([NodeView.Inspect(Node(WorkerId, "worker1"))]);

        Assert.StartsWith("[\n    {\n        \"ID\": \"bbbbbbbbbbbbbbbbbbbbbbbbb\",\n", text, StringComparison.Ordinal);
        Assert.EndsWith("}\n]\n", text, StringComparison.Ordinal);
        Assert.IsType<JsonArray>(JsonNode.Parse(text));
    }

    [Fact]
    public void Pretty_Prints_Docker_Human_Form()
    {
        var labels = ImmutableSortedDictionary<string, string>.Empty.Add("zone", "a");
        var text = NodeView.Pretty(Node(ManagerId, "manager1", NodeRole.Manager, leader: true, labels: labels));

        Assert.Equal(
            """
            ID:                     aaaaaaaaaaaaaaaaaaaaaaaaa
            Labels:
             - zone=a
            Hostname:               manager1
            Joined at:              2025-03-01 12:30:45.12 +0000 UTC
            Status:
             State:                 Ready
             Availability:          Active
             Address:               10.0.0.1
            Manager Status:
             Address:               10.0.0.1:2377
             Raft Status:           Reachable
             Leader:                Yes
            Platform:
             Operating System:      linux
             Architecture:          x86_64
            Resources:
             CPUs:                  4
             Memory:                7.704GiB
            Engine Version:         0.1.0

            """.ReplaceLineEndings("\n"),
            text);
    }

    [Theory]
    [InlineData(512, "512B")]
    [InlineData(1536, "1.5KiB")]
    [InlineData(8_272_408_576, "7.704GiB")]
    [InlineData(2L * 1024 * 1024 * 1024, "2GiB")]
    public void Memory_Is_Printed_As_Docker_Bytes_Size(long bytes, string expected) => Assert.Equal(expected, Units.BytesSize(bytes));
}
