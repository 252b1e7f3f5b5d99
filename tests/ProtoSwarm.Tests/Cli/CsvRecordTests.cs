using ProtoSwarm.Cli.Commands;

namespace ProtoSwarm.Tests.Cli;

/// <summary>
/// The one CSV reader of flag values, checked against what Go's encoding/csv (csv.NewReader(...).Read(), as docker's
/// CLI calls it) returns for the same input: the expected fields and errors below are Go's own output.
/// </summary>
public class CsvRecordTests
{
    [Theory]
    [InlineData("\"\"", new[] { "" })]
    [InlineData("a,", new[] { "a", "" })]
    [InlineData(",", new[] { "", "" })]
    [InlineData("\"a,b\"", new[] { "a,b" })]
    [InlineData("\"a\"\"b\",c", new[] { "a\"b", "c" })]
    [InlineData("a b , c", new[] { "a b ", " c" })]
    [InlineData("\"a\"\nb", new[] { "a" })]
    [InlineData("a\r\n", new[] { "a" })]
    [InlineData("a\r", new[] { "a" })]
    [InlineData("\n\na,b", new[] { "a", "b" })]
    [InlineData("\"a\nb\",c", new[] { "a\nb", "c" })]
    [InlineData("\"a\r\nb\",c", new[] { "a\nb", "c" })]
    [InlineData("type=volume,\"volume-opt=o=addr=10.0.0.5,rw\"", new[] { "type=volume", "volume-opt=o=addr=10.0.0.5,rw" })]
    public void Reads_The_Fields_Gos_Csv_Reader_Reads(string value, string[] fields)
    {
        var read = CsvRecord.Read("--mount", value);

        Assert.Null(read.Error);
        Assert.Equal(fields, read.Value);
    }

    [Theory]
    [InlineData("\"ab\"c", "parse error on line 1, column 4: extraneous or missing \" in quoted-field (a quoted field ends at its closing quote, before a comma or the end)")]
    [InlineData("\"abc", "parse error on line 1, column 5: extraneous or missing \" in quoted-field (a quote is not closed)")]
    [InlineData("\"", "parse error on line 1, column 2: extraneous or missing \" in quoted-field (a quote is not closed)")]
    [InlineData("\" a , \"b,c\" ,d", "parse error on line 1, column 7: extraneous or missing \" in quoted-field (a quoted field ends at its closing quote, before a comma or the end)")]
    [InlineData("a\"b", "parse error on line 1, column 2: bare \" in non-quoted-field")]
    [InlineData(" \"a\"", "parse error on line 1, column 2: bare \" in non-quoted-field")]
    [InlineData("é\"", "parse error on line 1, column 3: bare \" in non-quoted-field")]
    [InlineData("\"a\nb", "record on line 1; parse error on line 2, column 2: extraneous or missing \" in quoted-field (a quote is not closed)")]
    [InlineData("\n\"a\nb", "record on line 2; parse error on line 3, column 2: extraneous or missing \" in quoted-field (a quote is not closed)")]
    public void Refuses_What_Gos_Csv_Reader_Refuses_Naming_The_Flag_The_Value_And_Where(string value, string error)
    {
        var read = CsvRecord.Read("--mount", value);

        Assert.StartsWith($"--mount '{value}': {error}; ", read.Error, StringComparison.Ordinal);
        Assert.Contains("written twice (\"\")", read.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\r")]
    [InlineData("\n\n")]
    public void A_Value_With_No_Record_Is_Refused(string value)
    {
        Assert.Equal($"--external-ca '{value}' is empty; give at least one field, e.g. key=value.", CsvRecord.Read("--external-ca", value).Error);
    }

    /// <summary>Every flag docker reads with encoding/csv reads its value with the same reader, and says which flag it was.</summary>
    [Theory]
    [InlineData("--mount", "type=bind,source=/srv,target=\"/d\"")]
    [InlineData("--mount-add", "type=bind,\"source=/srv,target=/d")]
    [InlineData("--publish", "published=8080,target=\"80\"")]
    [InlineData("--publish-add", "\"published=8080\"x,target=80")]
    [InlineData("--secret", "source=db\"pass\"")]
    [InlineData("--secret-add", "\"db")]
    [InlineData("--config", "source=site,target=/etc/\"site\"")]
    [InlineData("--config-add", "\"site")]
    [InlineData("--network", "name=front,alias=\"web\"")]
    [InlineData("--network-add", "name=front,\"alias=web")]
    public void Service_Flags_Read_As_Csv_Refuse_A_Stray_Quote_With_The_Flag_And_Value(string flag, string value)
    {
        string? error = flag switch
        {
            "--mount" or "--mount-add" => ServiceFlags.Mount(flag, value).Error,
            "--publish" or "--publish-add" => ServiceFlags.Ports(flag, value).Error,
            "--secret" or "--secret-add" or "--config" or "--config-add" => ServiceFlags.FileReferenceOf(flag, value).Error,
            _ => ServiceFlags.Network(flag, value).Error,
        };

        Assert.NotNull(error);
        Assert.StartsWith($"{flag} '{value}': parse error on line 1, column ", error, StringComparison.Ordinal);
        Assert.Contains(" in ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void External_Ca_Reads_Its_Value_As_Csv()
    {
        Assert.StartsWith("--external-ca 'protocol=cfssl,url=\"https://ca:8888': parse error on line 1, column 20: bare \" in non-quoted-field; ",
            ArgumentRules.ExternalCa("protocol=cfssl,url=\"https://ca:8888").Error, StringComparison.Ordinal);
        Assert.Equal("https://ca:8888,x", ArgumentRules.ExternalCa("protocol=cfssl,\"url=https://ca:8888,x\"").Value.Url);
    }

    [Fact]
    public void Fields_Keep_Their_Blanks_As_Dockers_Do_So_A_Key_With_A_Blank_Is_Not_A_Key()
    {
        Assert.Contains("' target' is not a port option", ServiceFlags.Ports("--publish", "published=8080, target=80").Error, StringComparison.Ordinal);
        Assert.Contains("' target' is not a secret option", ServiceFlags.FileReferenceOf("--secret", "source=db, target=pass").Error, StringComparison.Ordinal);
        // docker's --network trims the key and value it read (opts/network.go), and so does this one.
        Assert.Equal("front", ServiceFlags.Network("--network", "name= front , alias=web").Value.Target);
    }
}
