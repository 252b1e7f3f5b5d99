using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

public class DaemonLocatorTests
{
    private static string Locate(string? option, string? environment, params string[] existing) =>
        DaemonLocator.Locate(option, environment, "/opt/cli", "/usr/local/bin:/usr/bin", existing.Contains);

    [Fact]
    public void The_Option_Wins() =>
        Assert.Equal("/x/protoswarmd", Locate("/x/protoswarmd", "/env/protoswarmd", "/x/protoswarmd", "/env/protoswarmd", "/opt/cli/protoswarmd"));

    [Fact]
    public void Then_The_Environment_Variable() =>
        Assert.Equal("/env/protoswarmd", Locate(null, "/env/protoswarmd", "/env/protoswarmd", "/opt/cli/protoswarmd"));

    [Fact]
    public void Then_The_Binary_Next_To_The_Cli() =>
        Assert.Equal("/opt/cli/protoswarmd", Locate(null, null, "/opt/cli/protoswarmd", "/usr/bin/protoswarmd"));

    [Fact]
    public void Then_The_First_On_Path() =>
        Assert.Equal("/usr/bin/protoswarmd", Locate(null, "", "/usr/bin/protoswarmd"));

    [Fact]
    public void None_Found_Says_How_To_Point_At_One()
    {
        var thrown = Assert.Throws<LabException>(() => Locate(null, null));
        Assert.Contains("--daemon", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("PROTOSWARMD", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Missing_Explicit_Daemon_Is_An_Error_Not_A_Fallback()
    {
        var thrown = Assert.Throws<LabException>(() => Locate("/nope/protoswarmd", null, "/opt/cli/protoswarmd"));
        Assert.Contains("/nope/protoswarmd", thrown.Message, StringComparison.Ordinal);
    }
}
