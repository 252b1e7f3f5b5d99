using System.Text.Json;
using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Tests.Containers.Runtime;

// SELinux labels against the recording fake: this host has no SELinux (no /sys/fs/selinux), so what
// init does with a label on an enforcing host is not run here; what the node host decides is.
public sealed class SelinuxLabelTests
{
    private const string SelinuxFs = "40 22 0:21 / /sys/fs/selinux rw,relatime shared:2 - selinuxfs selinuxfs rw\n";

    private static RecordingSyscalls Machine(string? enforce)
    {
        var sys = RuntimeLogicTests.V1Machine();
        if (enforce is not null)
        {
            sys.Files["/proc/self/mountinfo"] += SelinuxFs;
            sys.Files[SelinuxLabels.EnforceFile] = enforce;
        }
        sys.InitSays.Add("started 777");
        return sys;
    }

    // Started and, unless kept, ended and removed (which frees its categories) before this returns.
    private static async Task<InitConfig> StartAsync(RecordingSyscalls sys, string id, Random random, bool keep = false)
    {
        var options = RuntimeLogicTests.Options with { LabelRandom = random };
        var container = await LinuxContainer.StartAsync(RuntimeLogicTests.Spec() with { Id = id }, options, sys,
            CgroupDrivers.Probe(sys), TimeProvider.System, CancellationToken.None);
        var config = JsonSerializer.Deserialize(sys.Files[$"/state/{id}/config.json"], InitConfigJson.Default.InitConfig)!;
        if (keep)
        {
            container.Detach();
            return config;
        }
        sys.Say("exit 0");
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        await container.WaitAsync();
        await container.DisposeAsync();
        return config;
    }

    [Theory]
    [InlineData(null)]   // no selinuxfs: SELinux is not enabled (this host)
    [InlineData("0\n")]  // permissive
    public async Task Without_Enforcing_SELinux_No_Label_Is_Given(string? enforce)
    {
        var sys = Machine(enforce);

        var config = await StartAsync(sys, "c1", new Random(1));

        Assert.Null(config.ProcessLabel);
        Assert.Null(config.MountLabel);
        Assert.DoesNotContain("selinux", sys.Files["/state/c1/config.json"], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("context=", sys.Files["/state/c1/config.json"], StringComparison.Ordinal);
    }

    [Fact]
    public void An_Enforce_File_Without_A_Selinuxfs_Mount_Is_Not_Enforcing()
    {
        var sys = RuntimeLogicTests.V1Machine();
        sys.Files[SelinuxLabels.EnforceFile] = "1\n";

        Assert.False(SelinuxLabels.Enforcing(sys));
        sys.Files["/proc/self/mountinfo"] += SelinuxFs;
        Assert.True(SelinuxLabels.Enforcing(sys));
    }

    [Fact]
    public async Task Enforcing_SELinux_Gives_Container_T_And_Container_File_T_At_One_Category_Pair()
    {
        var config = await StartAsync(Machine("1\n"), "c1", new Random(1));

        Assert.Matches(@"^system_u:system_r:container_t:s0:c\d{1,4},c\d{1,4}$", config.ProcessLabel);
        Assert.Matches(@"^system_u:object_r:container_file_t:s0:c\d{1,4},c\d{1,4}$", config.MountLabel);
        var level = SelinuxLabels.Level(config.ProcessLabel)!;
        Assert.Equal(level, SelinuxLabels.Level(config.MountLabel));
        var categories = level["s0:".Length..].Split(',').Select(c => int.Parse(c[1..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.InRange(categories[0], 0, 1022);
        Assert.InRange(categories[1], categories[0] + 1, 1023);
    }

    [Fact]
    public async Task A_Second_Container_Never_Gets_The_Pair_Of_One_In_The_State_Root()
    {
        var sys = Machine("1\n");

        // The same seed draws the same pair first: the second start must see the first's and draw again.
        var first = await StartAsync(sys, "c1", new Random(42), keep: true);
        var second = await StartAsync(sys, "c2", new Random(42), keep: true);

        Assert.Equal(SelinuxLabels.Choose(new Random(42), new HashSet<string>()).ProcessLabel, first.ProcessLabel);
        Assert.NotEqual(SelinuxLabels.Level(first.ProcessLabel), SelinuxLabels.Level(second.ProcessLabel));
        Assert.Equal(
            new[] { SelinuxLabels.Level(first.ProcessLabel)!, SelinuxLabels.Level(second.ProcessLabel)! }.Order(StringComparer.Ordinal),
            SelinuxLabels.LevelsInUse(sys, "/state").Order(StringComparer.Ordinal));
        // Removed, a container's pair is free again.
        sys.RemoveTree("/state/c1");
        Assert.Equal([SelinuxLabels.Level(second.ProcessLabel)!], SelinuxLabels.LevelsInUse(sys, "/state"));
    }

    [Fact]
    public void Choose_Draws_Distinct_Ordered_Pairs_And_Skips_Those_In_Use()
    {
        var random = new Random(3);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 2000; i++)
        {
            var labels = SelinuxLabels.Choose(random, taken);
            Assert.True(taken.Add(SelinuxLabels.Level(labels.ProcessLabel)!), labels.ProcessLabel);
        }
    }

    [Fact]
    public void An_Exec_Runs_With_The_Containers_Process_Label()
    {
        var container = new InitConfig { ProcessLabel = "system_u:system_r:container_t:s0:c1,c2", MountLabel = "system_u:object_r:container_file_t:s0:c1,c2" };

        var exec = new ExecConfig { Args = ["sh"] }.ApplyTo(container);

        Assert.Equal(container.ProcessLabel, exec.ProcessLabel);
        Assert.Null(new ExecConfig { Args = ["sh"] }.ApplyTo(new InitConfig()).ProcessLabel);
    }

    [Theory]
    [InlineData("mode=1777,size=65536k", null, "mode=1777,size=65536k")]
    [InlineData(null, null, null)]
    [InlineData("mode=755", "system_u:object_r:container_file_t:s0:c1,c2", "mode=755,context=\"system_u:object_r:container_file_t:s0:c1,c2\"")]
    [InlineData(null, "system_u:object_r:container_file_t:s0:c1,c2", "context=\"system_u:object_r:container_file_t:s0:c1,c2\"")]
    [InlineData("", "system_u:object_r:container_file_t:s0:c1,c2", "context=\"system_u:object_r:container_file_t:s0:c1,c2\"")]
    public void Mount_Data_Gets_The_File_Label_As_Context_Only_With_A_Label(string? data, string? label, string? expected)
    {
        Assert.Equal(expected, SelinuxLabel.MountData(data, label));
    }
}
