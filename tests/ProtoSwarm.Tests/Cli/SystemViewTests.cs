using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class SystemViewTests
{
    [Fact]
    public void Info_Of_A_Manager_Shows_The_Swarm_Like_Docker()
    {
        Assert.Equal(
            """
            Server:
             Server Version: 0.1.0
             Swarm: active
              NodeID: n1
              Is Manager: true
              ClusterID: cluster1
              Managers: 1
              Nodes: 3
              Node Address: 10.0.0.1
              Manager Addresses:
               10.0.0.1:2377
             Name: manager1
             State Dir: /var/lib/protoswarm

            """.ReplaceLineEndings("\n"),
            SystemView.Info(Info("n1")));
    }

    [Fact]
    public void Info_Shows_The_Engine_Labels_After_The_Name_As_Docker_Info_Labels()
    {
        var info = Info("n1") with { Labels = ["disk=ssd", "zone=b"] };

        var text = SystemView.Info(info);
        var json = SystemView.InfoJson(info);

        Assert.EndsWith(" Name: manager1\n State Dir: /var/lib/protoswarm\n Labels:\n  disk=ssd\n  zone=b\n", text, StringComparison.Ordinal);
        Assert.Equal(["disk=ssd", "zone=b"], json["Labels"]!.AsArray().Select(l => (string?)l));
    }

    [Fact]
    public void Info_Of_A_Node_Without_Engine_Labels_Shows_No_Labels_Line_And_An_Empty_Json_List()
    {
        var text = SystemView.Info(Info("n1"));

        Assert.DoesNotContain("Labels:", text, StringComparison.Ordinal);
        Assert.Empty(SystemView.InfoJson(Info("n1"))["Labels"]!.AsArray());
    }

    [Fact]
    public void Info_Of_A_Node_Taking_Its_New_Role_Is_Active_With_A_Note_Not_An_Error()
    {
        var info = Info("n1") with { LocalNodeState = "active", ControlAvailable = false, Note = "taking its new role (worker): its swarm member is restarting, for a few seconds" };

        var text = SystemView.Info(info);

        Assert.Contains(" Swarm: active\n  NodeID: n1\n  Note: taking its new role (worker): its swarm member is restarting, for a few seconds\n  Is Manager: false\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Error", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_Of_A_Node_Taking_The_Manager_Role_Shows_No_Counts_It_Cannot_Have_Yet()
    {
        var info = Info("n1") with { Managers = 0, Nodes = 0, Note = "taking its new role (manager): its swarm member is restarting, for a few seconds" };

        var text = SystemView.Info(info);

        Assert.Contains("  Is Manager: true\n  Node Address: 10.0.0.1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Managers: 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_Of_A_Manager_Shows_The_Ca_Expiry_Autolock_And_Rotation_In_Dockers_Words()
    {
        var info = Info("n1") with { Security = new SwarmSecurity((long)TimeSpan.FromDays(90).TotalSeconds, AutoLockManagers: true, RootRotationInProgress: false) };

        var text = SystemView.Info(info);

        Assert.Contains("  CA Configuration:\n   Expiry Duration: 3 months\n  Autolock Managers: true\n  Root Rotation In Progress: false\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_Of_A_Manager_Lists_The_External_Cas_As_Docker()
    {
        var security = new SwarmSecurity((long)TimeSpan.FromDays(90).TotalSeconds, AutoLockManagers: false, RootRotationInProgress: false,
            [new ExternalCa(ExternalCa.Cfssl, "https://ca1.example:8888"), new ExternalCa(ExternalCa.Cfssl, "https://ca2.example:8888", "PEM")]);
        var info = Info("n1") with { Security = security };

        var text = SystemView.Info(info);
        var json = SystemView.InfoJson(info);

        Assert.Contains("   Expiry Duration: 3 months\n   External CAs:\n     cfssl: https://ca1.example:8888\n     cfssl: https://ca2.example:8888\n  Autolock Managers: false\n", text, StringComparison.Ordinal);
        var cas = json["Swarm"]!["Cluster"]!["Spec"]!["CAConfig"]!["ExternalCAs"]!.AsArray();
        Assert.Equal(["https://ca1.example:8888", "https://ca2.example:8888"], cas.Select(c => (string)c!["URL"]!).ToArray());
        Assert.Equal(("cfssl", "PEM"), ((string?)cas[1]!["Protocol"], (string?)cas[1]!["CACert"]));
    }

    [Fact]
    public void Info_Of_A_Manager_Shows_The_Task_History_Retention_Limit_As_Docker()
    {
        var info = Info("n1") with { TaskHistoryRetentionLimit = 3 };

        var text = SystemView.Info(info);
        var json = SystemView.InfoJson(info);

        Assert.Contains("  Nodes: 3\n  Orchestration:\n   Task History Retention Limit: 3\n", text, StringComparison.Ordinal);
        Assert.Equal(3, (long?)json["Swarm"]!["Cluster"]!["Spec"]!["Orchestration"]!["TaskHistoryRetentionLimit"]);
    }

    [Theory]
    [InlineData(2000, "2 seconds", 2_000_000_000L)]
    [InlineData(500, "500 milliseconds", 500_000_000L)]
    public void Info_Of_A_Manager_Shows_The_Dispatcher_Heartbeat_Period_As_Docker(long heartbeatMs, string shown, long nanoseconds)
    {
        var info = Info("n1") with { TaskHistoryRetentionLimit = 5, DispatcherHeartbeatMs = heartbeatMs };

        var text = SystemView.Info(info);
        var json = SystemView.InfoJson(info);

        Assert.Contains($"   Task History Retention Limit: 5\n  Dispatcher:\n   Heartbeat Period: {shown}\n", text, StringComparison.Ordinal);
        Assert.Equal(nanoseconds, (long?)json["Swarm"]!["Cluster"]!["Spec"]!["Dispatcher"]!["HeartbeatPeriod"]);
    }

    [Theory]
    [InlineData(90 * 24 * 3600, "3 months")]
    [InlineData(30 * 24 * 3600, "4 weeks")]
    [InlineData(3 * 24 * 3600, "3 days")]
    [InlineData(12 * 3600, "12 hours")]
    [InlineData(3600, "About an hour")]
    public void Durations_Read_As_Docker_Prints_Them(long seconds, string expected)
    {
        Assert.Equal(expected, SystemView.Duration(TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void Info_Of_A_Worker_Leaves_Out_The_Cluster_Counts()
    {
        var text = SystemView.Info(Info("n1", manager: false));

        Assert.Contains("  Is Manager: false\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Managers:", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ClusterID", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_Outside_A_Swarm_Says_Inactive_Only()
    {
        var info = Info(string.Empty) with { LocalNodeState = "inactive", ControlAvailable = false, RemoteManagers = [] };

        var text = SystemView.Info(info);

        Assert.Contains(" Swarm: inactive\n Name:", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_Json_Uses_Docker_Swarm_Field_Names()
    {
        var json = SystemView.InfoJson(Info("n1"));

        Assert.Equal("active", (string?)json["Swarm"]!["LocalNodeState"]);
        Assert.Equal(true, (bool?)json["Swarm"]!["ControlAvailable"]);
        Assert.Equal("cluster1", (string?)json["Swarm"]!["Cluster"]!["ID"]);
        Assert.Equal("10.0.0.1:2377", (string?)json["Swarm"]!["RemoteManagers"]![0]!["Addr"]);
        Assert.Equal("manager1", (string?)json["Name"]);
    }

    [Fact]
    public void Version_Prints_Client_Then_Server()
    {
        var client = new ClientVersion("0.1.0", "1", ".NET 10.0.0", "linux", "amd64");
        var server = new VersionInfo("0.1.0", "1", "linux", "arm64", ".NET 10.0.0");

        Assert.Equal(
            """
            Client:
             Version:          0.1.0
             API version:      1
             Runtime:          .NET 10.0.0
             OS/Arch:          linux/amd64

            Server:
             Version:          0.1.0
             API version:      1
             Runtime:          .NET 10.0.0
             OS/Arch:          linux/arm64

            """.ReplaceLineEndings("\n"),
            SystemView.ClientPart(client) + SystemView.ServerPart(server));
    }

    [Fact]
    public void Join_Token_Text_Names_The_Role()
    {
        Assert.Equal(
            "To add a manager to this swarm, run the following command:\n\n    protoswarm swarm join --token T 10.0.0.1:2377\n\n",
            SwarmView.JoinCommand(new JoinTokenInfo(NodeRole.Manager, "T", "10.0.0.1:2377")));
    }
}
