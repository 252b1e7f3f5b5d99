using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Cli;

/// <summary>`swarm ca --rotate`'s progress in docker's words: two bars, the second held at zero until the first is full and the rotation has ended.</summary>
public class CaProgressViewTests
{
    private const string Root = "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n";
    private const string Bars50 = "==================================================";

    [Fact]
    public void The_Final_State_Reads_As_Dockers_Two_Full_Bars()
    {
        var lines = CaProgressView.Lines(new CaStatus(Root, false, 3, 3, 3, Root)).Select(l => l.ToString()).ToList();

        Assert.Equal(
            [
                "desired root digest: sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Root))),
                "  rotated TLS certificates:  [" + Bars50 + ">] 3/3 nodes",
                "  rotated CA certificates:   [" + Bars50 + ">] 3/3 nodes",
            ],
            lines);
        Assert.True(CaProgressView.Done(new CaStatus(Root, false, 3, 3, 3, Root)));
    }

    [Fact]
    public void While_Nodes_Renew_The_Ca_Bar_Stays_At_Zero_As_Dockers_Does()
    {
        var status = new CaStatus(Root, true, 1, 2, 2, Root);

        var lines = CaProgressView.Lines(status).Select(l => l.ToString()).ToList();

        Assert.Equal("  rotated TLS certificates:  [" + new string('=', 25) + ">" + new string(' ', 25) + "] 1/2 nodes", lines[1]);
        Assert.Equal("  rotated CA certificates:   [>" + new string(' ', 50) + "] 0/2 nodes", lines[2]);
        Assert.False(CaProgressView.Done(status));
    }

    [Fact]
    public void After_The_Rotation_The_Wait_Goes_On_Until_Every_Node_Reports_The_New_Trust()
    {
        Assert.False(CaProgressView.Done(new CaStatus(Root, false, 3, 3, 2, Root)));
        Assert.EndsWith("[" + new string('=', 33) + ">" + new string(' ', 17) + "] 2/3 nodes", CaProgressView.Lines(new CaStatus(Root, false, 3, 3, 2, Root))[2].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_Manager_That_Reports_No_Trust_Ends_The_Wait_With_The_Rotation()
    {
        Assert.True(CaProgressView.Done(new CaStatus(Root, false, 3, 3)));
        Assert.False(CaProgressView.Done(new CaStatus(Root, true, 2, 3)));
    }
}
