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
    public void Json_Escapes_Strings_As_Dockers_Encoder_Does_Leaving_Html_Characters_As_They_Are()
    {
        const string command = "sh -c \"a+b<c>&d\" 'é' \\ 😀\n\u0001\b\u2028\u2029\u007f";
        var data = new JsonObject { ["Cmd"] = command };

        var line = Json.Line(data);

        // An Encoder with SetEscapeHTML(false), as docker's `json` function and its daemon's API: Go still escapes U+2028 and U+2029.
        Assert.Equal("""{"Cmd":"sh -c \"a+b<c>&d\" 'é' \\ 😀\n\u0001\b\u2028\u2029"}""", line);
        Assert.Equal(command, JsonNode.Parse(line)!["Cmd"]!.GetValue<string>());
        Assert.Equal(line, GoTemplate.Parse("{{json .}}").Execute(data));
    }

    [Fact]
    public void Json_Marshal_Escapes_Html_Characters_Where_Asked()
    {
        var data = new JsonObject { ["Cmd"] = "a<b>&c\u2028" };

        Assert.Equal("""{"Cmd":"a\u003cb\u003e\u0026c\u2028"}""", ProtoSwarm.Contracts.Templating.GoJson.Line(data, escapeHtml: true));
    }

    [Fact]
    public void Inspect_Arrays_Leave_Html_Characters_As_They_Are()
    {
        var data = new JsonObject { ["Env"] = new JsonArray("A=<b>&c"), ["Labels"] = new JsonObject { ["x<y>"] = "a&b" } };

        var indented = Json.IndentedArray([data]);
        var compact = Json.CompactArray([data]);

        Assert.Contains("\"A=<b>&c\"", indented, StringComparison.Ordinal);
        Assert.Contains("\"x<y>\": \"a&b\"", indented, StringComparison.Ordinal);
        Assert.Equal("""[{"Env":["A=<b>&c"],"Labels":{"x<y>":"a&b"}}]""" + "\n", compact);
        Assert.Equal("[]\n", Json.CompactArray([]));
    }

    [Fact]
    public void A_Lone_Surrogate_Is_Written_As_The_Replacement_Character()
    {
        Assert.Equal("\"a\\ufffdb\"", Json.Line(JsonValue.Create("a\ud800b")));
    }

    [Fact]
    public void Inspect_Arrays_Are_Indented_By_Four_Spaces_As_Gos_MarshalIndent()
    {
        var data = new JsonObject { ["ID"] = "abc", ["Size"] = 12, ["Tags"] = new JsonArray("a", "b"), ["Labels"] = new JsonObject(), ["Env"] = Json.NilSlice(), ["Ports"] = new JsonArray() };

        Assert.Equal(
            """
            [
                {
                    "ID": "abc",
                    "Size": 12,
                    "Tags": [
                        "a",
                        "b"
                    ],
                    "Labels": {},
                    "Env": null,
                    "Ports": []
                }
            ]

            """.ReplaceLineEndings("\n"),
            Json.IndentedArray([data]));
        Assert.Equal("[]\n", Json.IndentedArray([]));
    }

    [Theory]
    [InlineData("{{.Env}}", "[]")]
    [InlineData("{{.Labels}}", "map[]")]
    [InlineData("{{.Healthcheck}}", "<nil>")]
    [InlineData("{{.Cmd}}", "[echo hello]")]
    [InlineData("{{json .Env}}", "null")]
    [InlineData("{{json .Cmd}}", """["echo","hello"]""")]
    public void Nil_And_Listed_Values_Print_As_Gos_Text_Template_Prints_Them(string format, string expected)
    {
        var data = new JsonObject { ["Env"] = Json.NilSlice(), ["Labels"] = Json.NilMap(), ["Healthcheck"] = null, ["Cmd"] = new JsonArray("echo", "hello") };

        Assert.Equal(expected, GoTemplate.Parse(format).Execute(data));
        Assert.Equal("""{"Env":null,"Labels":null,"Healthcheck":null,"Cmd":["echo","hello"]}""", Json.Line(data));
    }

    [Theory]
    [InlineData("""{{index .Spec.Labels "com.example.key"}}""", "v1")]
    [InlineData("""{{index .Spec.Labels `com.example.key`}}""", "v1")]
    [InlineData("""{{ index .Spec.Labels "with space" }}""", "v 2")]
    [InlineData("""{{index .Spec.Labels "missing"}}""", "")]
    [InlineData("""{{index .Env "X"}}""", "")]
    [InlineData("""{{index .Cmd 1}}""", "hello")]
    [InlineData("""a={{index .Spec.Labels "com.example.key"}} b={{.ID}}""", "a=v1 b=abc")]
    public void Index_Takes_Any_String_Key_As_Gos_Text_Template_Does(string format, string expected)
    {
        var data = new JsonObject
        {
            ["ID"] = "abc",
            ["Env"] = Json.NilMap(),
            ["Cmd"] = new JsonArray("echo", "hello"),
            ["Spec"] = new JsonObject { ["Labels"] = new JsonObject { ["com.example.key"] = "v1", ["with space"] = "v 2" } },
        };

        Assert.Equal(expected, GoTemplate.Parse(format).Execute(data));
        Assert.Equal(["ID", "Env", "Cmd", "Spec"], GoTemplate.Parse("{{.ID}}{{.Env}}{{.Cmd}}{{.Spec}}").Fields);
    }

    [Theory]
    [InlineData("""{{index .Spec.Labels "open}}""")]
    [InlineData("""{{index .Spec.Labels key}}""")]
    [InlineData("""{{index .Spec.Labels "a" "b"c}}""")]
    public void A_Malformed_Index_Is_Refused_With_A_Sentence(string format)
    {
        var error = Assert.Throws<FormatException>(() => GoTemplate.Parse(format));
        Assert.StartsWith("--format", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{.Spec.Labels}}", "map[a.b:1 com.example:x zone:a]")]
    [InlineData("{{.Spec.ContainerSpec.Sysctls}}", "map[net.core.somaxconn:1024]")]
    [InlineData("{{.Config.ExposedPorts}}", "map[443/tcp:{} 80/tcp:{}]")]
    [InlineData("{{.Spec.Empty.Labels}}", "map[]")]
    [InlineData("{{.HostConfig.Tmpfs}}", "map[/run:size=1m /scratch:]")]
    [InlineData("{{json .Spec.Labels}}", """{"zone":"a","com.example":"x","a.b":"1"}""")]
    [InlineData("{{.Spec.Resources}}", """{"Limits":{"NanoCPUs":1}}""")]
    public void A_Map_Prints_As_Gos_Fmt_Prints_It_With_Sorted_Keys_And_A_Struct_Stays_Json(string format, string expected)
    {
        var data = new JsonObject
        {
            ["Spec"] = new JsonObject
            {
                ["Labels"] = new JsonObject { ["zone"] = "a", ["com.example"] = "x", ["a.b"] = "1" },
                ["ContainerSpec"] = new JsonObject { ["Sysctls"] = new JsonObject { ["net.core.somaxconn"] = "1024" } },
                ["Empty"] = new JsonObject { ["Labels"] = new JsonObject() },
                ["Resources"] = new JsonObject { ["Limits"] = new JsonObject { ["NanoCPUs"] = 1 } },
            },
            ["Config"] = new JsonObject { ["ExposedPorts"] = new JsonObject { ["80/tcp"] = new JsonObject(), ["443/tcp"] = new JsonObject() } },
            ["HostConfig"] = new JsonObject { ["Tmpfs"] = new JsonObject { ["/scratch"] = "", ["/run"] = "size=1m" } },
        };

        Assert.Equal(expected, GoTemplate.Parse(format).Execute(data));
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
    public void An_Objects_Id_Written_As_Id_Is_Reached_As_Dot_ID_As_Well()
    {
        // docker's network, container and image JSON says "Id"; its templates reach it as .ID (the Go field) and .Id.
        var network = new JsonObject { ["Name"] = "front", ["Id"] = "n1" };

        Assert.Null(GoTemplate.Parse("{{.ID}} {{.Id}}").CheckFields(["Name", "Id"]));
        Assert.Equal("n1 n1", GoTemplate.Parse("{{.ID}} {{.Id}}").Execute(network));
        Assert.Equal("<no value>", GoTemplate.Parse("{{.Id}}").Execute(Data));
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

    [Theory]
    [InlineData("{{range .Endpoint.VirtualIPs}}{{.Addr}} {{end}}", "10.0.0.2/24 10.0.1.2/24 ")]
    [InlineData("""{{index .Spec.Labels "com.docker.stack.namespace"}}""", "st")]
    [InlineData("{{if .ManagerStatus}}{{.Hostname}}{{end}}", "node-1")]
    [InlineData("""{{.Name}}: {{join .Ports ", "}}""", "web: 80/tcp, 443/tcp")]
    [InlineData("""{{range $i, $v := .Ports}}{{if $i}}, {{end}}{{$v | printf "%q"}}{{end}}""", "\"80/tcp\", \"443/tcp\"")]
    [InlineData("""{{printf "%-8s|%3d" .Name (len .Ports)}}""", "web     |  2")]
    [InlineData("""{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}""", "com.docker.stack.namespace=st zone=a ")]
    [InlineData("""{{with .Spec.Labels.zone}}zone {{.}}{{else}}no zone{{end}}""", "zone a")]
    [InlineData("""{{if and (eq .Spec.Role "manager") (not .Missing)}}{{upper .Spec.Role}}{{end}}""", "MANAGER")]
    [InlineData("""{{- /* a comment */ -}} {{.Name}}""", "web")]
    [InlineData("""{{json .Text}}""", "\"<b> & c\"")]
    public void The_Go_Template_Language_Of_Operators_Scripts_Works(string format, string expected)
    {
        var data = new JsonObject
        {
            ["Name"] = "web",
            ["Hostname"] = "node-1",
            ["ManagerStatus"] = new JsonObject { ["Leader"] = true },
            ["Ports"] = new JsonArray("80/tcp", "443/tcp"),
            ["Text"] = "<b> & c",
            ["Endpoint"] = new JsonObject { ["VirtualIPs"] = new JsonArray(new JsonObject { ["Addr"] = "10.0.0.2/24" }, new JsonObject { ["Addr"] = "10.0.1.2/24" }) },
            ["Spec"] = new JsonObject { ["Role"] = "manager", ["Labels"] = new JsonObject { ["zone"] = "a", ["com.docker.stack.namespace"] = "st" } },
        };

        Assert.Equal(expected, GoTemplate.Parse(format).Execute(data));
    }

    [Fact]
    public void A_Fault_While_Executing_Is_The_Commands_Error_Placed_In_The_Template()
    {
        var data = new JsonObject { ["Cmd"] = new JsonArray("echo") };

        var e = Assert.Throws<ProtoSwarm.Client.SwarmCommandException>(() => GoTemplate.Parse("{{index .Cmd 5}}").Execute(data));

        Assert.Equal("--format: template: :1:2: executing \"\" at <index .Cmd 5>: error calling index: index out of range: 5", e.Message);
    }

    [Fact]
    public void A_Fault_Inside_A_Defined_Template_Names_It_As_Docker_Does()
    {
        var data = new JsonObject { ["Cmd"] = new JsonArray("echo") };

        var e = Assert.Throws<ProtoSwarm.Client.SwarmCommandException>(() => GoTemplate.Parse("{{define \"row\"}}{{index .Cmd 5}}{{end}}{{template \"row\" .}}").Execute(data));

        Assert.Equal("--format: template: :1:18: executing \"row\" at <index .Cmd 5>: error calling index: index out of range: 5", e.Message);
    }

    [Fact]
    public void Only_The_Fields_Of_The_Data_Itself_Are_Checked_Not_Those_Read_Inside_A_Range()
    {
        var template = GoTemplate.Parse("{{range .Endpoint.VirtualIPs}}{{.Addr}}{{end}} {{$.Name}}");

        Assert.Null(template.CheckFields(["Endpoint", "Name"]));
        Assert.Equal("--format: there is no field .Name; the fields are .Endpoint.", template.CheckFields(["Endpoint"]));
    }

    [Fact]
    public void A_Table_Header_With_Functions_And_Ranges_Keeps_Each_Columns_Title()
    {
        var template = GoTemplate.Parse(@"table {{.Name}}\t{{join .Ports "", ""}}\t{{json .Spec.Labels}}\t{{upper .Spec.Role}}");

        Assert.Equal("NAME\tPORTS\tLABELS\tROLE", template.ExecuteHeader(field => field.ToUpperInvariant()));
    }
}
