using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

public class LabParsingTests
{
    [Fact]
    public void Netns_List_Yields_Names_With_Or_Without_Ids() =>
        Assert.Equal(["psl-a-m1", "psl-a-br", "other"], LabNetwork.ParseNetnsList("psl-a-m1 (id: 3)\npsl-a-br\n\nother (id: 0)\n"));

    [Fact]
    public void Netns_Pids_Ignores_Junk() => Assert.Equal([12, 345], LabNetwork.ParsePids("12\n345\n\nx\n"));

    [Fact]
    public void Mounts_Under_The_Lab_Dir_Come_Deepest_First_And_Unescaped()
    {
        const string mountinfo =
            "22 1 0:21 / /proc rw - proc proc rw\n" +
            "90 22 0:50 / /var/lib/protoswarm-lab/a/m1/rootfs rw - overlay overlay rw\n" +
            "91 90 0:51 / /var/lib/protoswarm-lab/a/m1/rootfs/dev rw - tmpfs tmpfs rw\n" +
            "92 22 0:52 / /var/lib/protoswarm-lab/a/w1/my\\040dir rw - tmpfs tmpfs rw\n" +
            "93 22 0:53 / /var/lib/protoswarm-lab/a-b/m1/rootfs rw - tmpfs tmpfs rw\n";

        Assert.Equal(
            ["/var/lib/protoswarm-lab/a/m1/rootfs/dev", "/var/lib/protoswarm-lab/a/m1/rootfs", "/var/lib/protoswarm-lab/a/w1/my dir"],
            LabTeardown.MountsUnder("/var/lib/protoswarm-lab/a", mountinfo).OrderByDescending(m => m.Length));
        Assert.Equal("/var/lib/protoswarm-lab/a/m1/rootfs/dev", LabTeardown.MountsUnder("/var/lib/protoswarm-lab/a", mountinfo)[0]);
    }

    [Fact]
    public void Exec_Puts_The_Cli_Directory_First_On_Path()
    {
        Assert.Equal("/opt/cli:/usr/bin", LabNodeControl.ExecPath("/opt/cli/", "/usr/bin"));
        Assert.Equal("/opt/cli", LabNodeControl.ExecPath("/opt/cli/", null));
    }
}
