using System.Collections.Immutable;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Nft;

namespace ProtoSwarm.Tests.Networking;

public sealed class HostPortPickerTests
{
    private static readonly PortRange Range = new(32768, 32771);

    private static PortConfig Host(int target, int published = 0, PortProtocol protocol = PortProtocol.Tcp) => new(target, published, protocol, PublishMode.Host);

    private static HashSet<(PortProtocol, int)> InUse(params (PortProtocol, int)[] ports) => [.. ports];

    [Fact]
    public void A_Port_Published_As_0_Gets_A_Free_Port_Of_The_Range_And_A_Fixed_One_Stays()
    {
        var after = 0;
        var (ports, problem) = HostPortPicker.Assign([Host(7200), Host(80, 8080), new PortConfig(443, 30000)], [], InUse(), Range, ref after);

        Assert.Null(problem);
        Assert.Equal([Host(7200, 32768), Host(80, 8080)], ports.ToArray());
        Assert.Equal(32768, after);
    }

    [Fact]
    public void Ports_In_Use_Are_Skipped_Per_Protocol()
    {
        var after = 0;
        var inUse = InUse((PortProtocol.Tcp, 32768), (PortProtocol.Udp, 32769));

        var (ports, _) = HostPortPicker.Assign([Host(7200), Host(53, protocol: PortProtocol.Udp)], [], inUse, Range, ref after);

        Assert.Equal([Host(7200, 32769), Host(53, 32770, PortProtocol.Udp)], ports.ToArray());
    }

    [Fact]
    public void Two_Tasks_Of_One_Service_On_One_Node_Each_Get_Their_Own_Port_In_Turn_Wrapping_At_The_End()
    {
        var after = 0;
        var inUse = InUse();
        var picked = new List<int>();
        for (var task = 0; task < 4; task++)
        {
            var (ports, problem) = HostPortPicker.Assign([Host(7200)], [], inUse, Range, ref after);
            Assert.Null(problem);
            picked.Add(ports[0].PublishedPort);
            inUse.Add((PortProtocol.Tcp, ports[0].PublishedPort));
        }

        Assert.Equal([32768, 32769, 32770, 32771], picked);

        // The first task ended: its port is given again only once the turn comes back to it, after the range's end.
        inUse.Remove((PortProtocol.Tcp, 32768));
        var (again, _) = HostPortPicker.Assign([Host(7200)], [], inUse, Range, ref after);
        Assert.Equal(32768, again[0].PublishedPort);
    }

    [Fact]
    public void A_Port_Just_Given_Back_Is_Not_The_Next_One_Given()
    {
        var after = 32768;

        var (ports, _) = HostPortPicker.Assign([Host(7200)], [], InUse(), Range, ref after);

        Assert.Equal(32769, ports[0].PublishedPort);
    }

    [Fact]
    public void After_A_Node_Host_Restart_A_Task_Keeps_The_Port_Its_Status_Reported_Unless_Another_Holds_It()
    {
        var after = 0;
        var (kept, _) = HostPortPicker.Assign([Host(7200)], [Host(7200, 32770)], InUse(), Range, ref after);
        Assert.Equal(32770, kept[0].PublishedPort);
        Assert.Equal(0, after);

        var (moved, _) = HostPortPicker.Assign([Host(7200)], [Host(7200, 32770)], InUse((PortProtocol.Tcp, 32770)), Range, ref after);
        Assert.Equal(32768, moved[0].PublishedPort);
    }

    [Fact]
    public void A_Node_Without_A_Free_Port_Says_So_And_What_To_Do()
    {
        var after = 0;
        var full = InUse([.. Enumerable.Range(32768, 4).Select(p => (PortProtocol.Tcp, p))]);

        var (ports, problem) = HostPortPicker.Assign([Host(7200)], [], full, Range, ref after);

        Assert.Empty(ports);
        Assert.Equal(
            "no free host port is left on this node in 32768-32771 (its net.ipv4.ip_local_port_range) for target port 7200/tcp; " +
            "publish it on a port of your choice (--publish published=PORT,target=7200,mode=host)",
            problem);
    }

    [Theory]
    [InlineData("32768\t60999\n", 32768, 60999)]
    [InlineData("1024 65535", 1024, 65535)]
    [InlineData("", 32768, 60999)]
    [InlineData("60999 32768", 32768, 60999)]
    [InlineData("0 70000", 32768, 60999)]
    public void The_Range_Is_The_Kernels_Setting_Or_Its_Default(string text, int first, int last)
    {
        Assert.Equal(new PortRange(first, last), PortRange.Parse(text));
    }

    [Fact]
    public void Bound_Ports_Are_Read_From_The_Kernels_Socket_Table()
    {
        const string table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000:0951 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
               1: 0100007F:8000 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
            """;
        const string table6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000000000000000000000000000:1C20 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
            """;

        Assert.Equal([2385, 32768], BoundPorts.Parse(table).ToArray());
        Assert.Equal([7200], BoundPorts.Parse(table6).ToArray());
        Assert.Empty(BoundPorts.Parse(""));
    }
}
