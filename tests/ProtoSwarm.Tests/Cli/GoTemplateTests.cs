using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Output;

namespace ProtoSwarm.Tests.Cli;

public class GoTemplateTests
{
    private static readonly JsonObject Data = new()
    {
        ["ID"] = "abc",
        ["Self"] = true,
        ["Spec"] = new JsonObject { ["Role"] = "manager", ["Labels"] = new JsonObject { ["zone"] = "a" } },
    };

    [Theory]
    [InlineData("{{.ID}}", "abc")]
    [InlineData("{{ .ID }}", "abc")]
    [InlineData("id={{.ID}} self={{.Self}}", "id=abc self=true")]
    [InlineData("{{.Spec.Role}}", "manager")]
    [InlineData("{{json .Spec.Labels}}", """{"zone":"a"}""")]
    [InlineData("{{upper .Spec.Role}}", "MANAGER")]
    [InlineData("{{.Missing}}", "<no value>")]
    [InlineData(@"{{.ID}}\t{{.Self}}", "abc\ttrue")]
    [InlineData("{{- .ID -}}", "abc")]
    public void Fields_Are_Replaced_By_Their_Values(string format, string expected)
    {
        Assert.Equal(expected, GoTemplate.Parse(format).Execute(Data));
    }

    [Fact]
    public void Json_Of_Dot_Prints_The_Whole_Object()
    {
        Assert.Equal(Json.Line(Data), GoTemplate.Parse("{{json .}}").Execute(Data));
    }

    [Fact]
    public void Table_Prefix_Is_Recognised_And_Headers_Use_Column_Titles()
    {
        var template = GoTemplate.Parse(@"table {{.ID}}\t{{.Spec.Role}}");

        Assert.True(template.IsTable);
        Assert.Equal("ID\tROLE", template.ExecuteHeader(field => field.ToUpperInvariant()));
    }

    [Theory]
    [InlineData("{{.ID")]
    [InlineData("{{range .}}")]
    [InlineData("{{ID}}")]
    [InlineData("{{.Spec..Role}}")]
    public void Malformed_Templates_Are_Refused_With_A_Sentence(string format)
    {
        var error = Assert.Throws<FormatException>(() => GoTemplate.Parse(format));
        Assert.StartsWith("--format", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_Fields_Are_Named_Before_Anything_Is_Sent()
    {
        var error = GoTemplate.Parse("{{.Hostnme}}").CheckFields(["ID", "Hostname"]);

        Assert.Equal("--format: there is no field .Hostnme; the fields are .ID, .Hostname.", error);
    }

    [Fact]
    public void Listing_Format_Table_Template_Prints_Aligned_Columns_With_Titles()
    {
        var format = ListingFormat.Parse(@"table {{.ID}}\t{{.ManagerStatus}}", quiet: false, NodeView.Columns.Keys.ToList(), out var error)!;
        var items = new List<JsonObject> { new() { ["ID"] = "abc", ["ManagerStatus"] = "Leader" } };

        Assert.Null(error);
        Assert.Equal("ID        MANAGER STATUS\nabc       Leader\n", format.Render(items, () => "default", NodeView.Columns));
    }

    [Fact]
    public void Listing_Format_Refuses_A_Word_That_Is_Not_A_Format()
    {
        Assert.Null(ListingFormat.Parse("yaml", quiet: false, ["ID"], out var error));
        Assert.Contains("use table, json", error, StringComparison.Ordinal);
    }
}
