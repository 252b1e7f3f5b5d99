using ProtoSwarm.Cli.Output;

namespace ProtoSwarm.Tests.Cli;

public class TableTests
{
    [Fact]
    public void Columns_Are_As_Wide_As_The_Widest_Cell_Plus_Three_Spaces()
    {
        var text = Table.Render([["NAME", "X"], ["a-rather-long-name", "y"]]);

        Assert.Equal("NAME" + new string(' ', 17) + "X\na-rather-long-name   y\n", text);
    }

    [Fact]
    public void Narrow_Columns_Are_Still_Ten_Characters_Wide_As_In_Docker()
    {
        Assert.Equal("ID        NAME\n1         a\n", Table.Render([["ID", "NAME"], ["1", "a"]]));
    }

    [Fact]
    public void The_Last_Column_Is_Not_Padded()
    {
        var text = Table.Render([["A", "LAST"], ["b", "a-much-longer-last-cell"]]);

        Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.False(line.EndsWith(' ')));
    }

    [Fact]
    public void Empty_Cells_Keep_Later_Columns_Aligned()
    {
        var lines = Table.Render([["A", "MANAGER", "ENGINE"], ["x", "", "1.0"], ["y", "Leader", "1.0"]]).Split('\n');

        Assert.Equal(lines[0].IndexOf("ENGINE", StringComparison.Ordinal), lines[1].IndexOf("1.0", StringComparison.Ordinal));
        Assert.Equal(lines[0].IndexOf("ENGINE", StringComparison.Ordinal), lines[2].IndexOf("1.0", StringComparison.Ordinal));
    }

    [Fact]
    public void Tabbed_Lines_Are_Split_Into_Cells()
    {
        Assert.Equal(Table.Render([["ID", "HOST"], ["abc", "h"]]), Table.RenderTabbed(["ID\tHOST", "abc\th"]));
    }
}
