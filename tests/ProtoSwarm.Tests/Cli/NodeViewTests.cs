using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;
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

    private static readonly NodeTlsInfo SwarmTls = new("-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n", "c3ViamVjdA==", "bmV3IGtleQ==");

    private static NodeObject WithTls(NodeObject node, NodeTlsInfo? tls) => node with { Description = node.Description with { TlsInfo = tls } };

    [Fact]
    public void Json_Line_Has_Docker_Field_Names_In_Docker_Order()
    {
        var json = Json.Line(NodeView.ToJson(NodeView.Row(WithTls(Node(ManagerId, "manager1", NodeRole.Manager, leader: true), SwarmTls), ManagerId, SwarmTls)));

        Assert.Equal(
            """{"Availability":"Active","EngineVersion":"0.1.0","Hostname":"manager1","ID":"aaaaaaaaaaaaaaaaaaaaaaaaa","ManagerStatus":"Leader","Self":true,"Status":"Ready","TLSStatus":"Ready"}""",
            json);
    }

    [Fact]
    public void Tls_Status_Is_Ready_When_The_Node_Trusts_What_The_Swarm_Wants_And_Its_Issuer_Is_The_Current_Root()
    {
        Assert.Equal("Ready", NodeView.TlsStatus(SwarmTls with { }, SwarmTls));
    }

    [Theory]
    [InlineData("old key", "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n")] // not yet renewed
    [InlineData("new key", "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nold\n-----END CERTIFICATE-----\n")] // still trusts the old root
    [InlineData("", "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n")] // its issuer is none it knows
    public void Tls_Status_Needs_Rotation_When_The_Issuer_Or_The_Trust_Differs(string issuerKey, string trustRoot)
    {
        var node = new NodeTlsInfo(trustRoot, "c3ViamVjdA==", issuerKey.Length == 0 ? string.Empty : Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(issuerKey)));

        Assert.Equal("Needs Rotation", NodeView.TlsStatus(node, SwarmTls));
    }

    [Fact]
    public void Tls_Status_Is_Unknown_When_The_Node_Or_The_Swarm_Reports_Nothing()
    {
        var empty = new NodeTlsInfo(string.Empty, string.Empty, string.Empty);

        Assert.Equal(
            ["Unknown", "Unknown", "Unknown", "Unknown"],
            [NodeView.TlsStatus(null, SwarmTls), NodeView.TlsStatus(empty, SwarmTls), NodeView.TlsStatus(SwarmTls, null), NodeView.TlsStatus(SwarmTls, empty)]);
    }

    [Fact]
    public void Node_Ls_Format_Shows_Each_Nodes_Tls_Status()
    {
        var renewed = NodeView.Row(WithTls(Node(ManagerId, "manager1", NodeRole.Manager, leader: true), SwarmTls), null, SwarmTls);
        var lagging = NodeView.Row(WithTls(Node(WorkerId, "worker1"), SwarmTls with { CertIssuerPublicKey = "b2xkIGtleQ==" }), null, SwarmTls);

        Assert.Equal(["Ready", "Needs Rotation"], new[] { renewed, lagging }.Select(r => (string?)NodeView.ToJson(r)["TLSStatus"]));
    }

    [Fact]
    public void Inspect_Shows_Dockers_Description_TlsInfo()
    {
        var json = NodeView.Inspect(WithTls(Node(WorkerId, "worker1"), SwarmTls));

        Assert.Equal(
            """{"TrustRoot":"-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n","CertIssuerSubject":"c3ViamVjdA==","CertIssuerPublicKey":"bmV3IGtleQ=="}""",
            Json.Line(json["Description"]!["TLSInfo"]!.AsObject()));
        Assert.Equal(["Hostname", "Platform", "Resources", "Engine", "TLSInfo"], json["Description"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public void Inspect_Of_A_Node_That_Reports_No_Tls_Info_Has_An_Empty_TlsInfo_As_Docker()
    {
        var json = NodeView.Inspect(Node(WorkerId, "worker1"));

        Assert.Empty(json["Description"]!["TLSInfo"]!.AsObject());
    }

    [Fact]
    public void Pretty_Ends_With_Dockers_Tls_Info_Block()
    {
        var text = NodeView.Pretty(WithTls(Node(WorkerId, "worker1"), SwarmTls));

        Assert.EndsWith(
            "Engine Version:         0.1.0\n" +
            "TLS Info:\n" +
            " TrustRoot:\n" +
            "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n\n" +
            " Issuer Subject:        c3ViamVjdA==\n" +
            " Issuer Public Key:     bmV3IGtleQ==\n",
            text,
            StringComparison.Ordinal);
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
    public void Inspect_Shows_Engine_Labels_As_Dockers_Description_Engine_Labels_Apart_From_The_Node_Labels()
    {
        var node = Node(WorkerId, "worker1", labels: ImmutableSortedDictionary<string, string>.Empty.Add("zone", "a"))
            .WithEngineLabels(("disk", "ssd"), ("rack", ""));

        var json = NodeView.Inspect(node);

        Assert.Equal("""{"EngineVersion":"0.1.0","Labels":{"disk":"ssd","rack":""}}""", json["Description"]!["Engine"]!.ToJsonString());
        Assert.Equal("""{"zone":"a"}""", json["Spec"]!["Labels"]!.ToJsonString());
    }

    [Fact]
    public void Inspect_Of_A_Node_Without_Engine_Labels_Leaves_Them_Out_As_Docker()
    {
        var json = NodeView.Inspect(Node(WorkerId, "worker1"));

        Assert.Equal("""{"EngineVersion":"0.1.0"}""", json["Description"]!["Engine"]!.ToJsonString());
    }

    [Fact]
    public void Pretty_Lists_Engine_Labels_After_The_Engine_Version()
    {
        var text = NodeView.Pretty(Node(WorkerId, "worker1").WithEngineLabels(("disk", "ssd"), ("rack", "")));

        Assert.EndsWith("Engine Version:         0.1.0\nEngine Labels:\n - disk=ssd\n - rack\n", text, StringComparison.Ordinal);
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
