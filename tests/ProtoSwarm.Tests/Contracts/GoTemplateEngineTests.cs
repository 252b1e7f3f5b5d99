using System.Text.Json.Nodes;
using ProtoSwarm.Contracts.Templating;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>
/// The Go text/template engine shared by the CLI's --format and the node's templated configs. The expected
/// outputs of <see cref="Executes_As_Gos_Text_Template"/> and the reasons of
/// <see cref="A_Fault_Is_Placed_And_Explained_As_Go_Does"/> were produced by Go's own text/template (go1.19) over the same
/// data, with docker's functions (tests/tools/gotemplate-expected, not run by CI); three reasons say more than Go's
/// (Go names the type of a generic map's value interface {}, and a constant's type mismatch differently).
/// </summary>
public class GoTemplateEngineTests
{
    private const string DataJson = """
        {"Name": "web", "ID": "abc123", "Replicas": 3, "Zero": 0, "Ratio": 1.5, "Big": 1e+21, "Small": 1e-05, "Empty": "", "Yes": true, "No": false, "Null": null, "Tags": ["a", "b", "c"], "NoTags": [], "Nums": [3, 1, 2], "Labels": {"com.docker.stack.namespace": "st", "tier": "front", "zone": "a"}, "NoLabels": {}, "Endpoint": {"VirtualIPs": [{"Addr": "10.0.0.2/24", "NetworkID": "n1"}, {"Addr": "10.0.1.2/24", "NetworkID": "n2"}]}, "Ports": ["80/tcp", "443/tcp"], "Text": "Hello, <World> & 'friends' \"x\"=1\n", "Spec": {"Role": "manager"}, "ManagerStatus": {"Leader": true, "Addr": "10.0.0.1:2377"}, "Hostname": "node-1", "Unicode": "héllo wörld"}
        """;

    private static readonly GoTemplateOptions Options = new() { MapFields = new HashSet<string>(["Labels"], StringComparer.Ordinal) };

    private static JsonNode Data => JsonNode.Parse(DataJson)!;

    [Theory]
    [InlineData("field", "{{.Name}}", "web")]
    [InlineData("field_spaces", "{{ .Name }}", "web")]
    [InlineData("int", "{{.Replicas}}", "3")]
    [InlineData("float", "{{.Ratio}}", "1.5")]
    [InlineData("float_big", "{{.Big}}", "1e+21")]
    [InlineData("float_small", "{{.Small}}", "1e-05")]
    [InlineData("bools", "{{.Yes}} {{.No}}", "true false")]
    [InlineData("missing", "{{.Missing}}", "<no value>")]
    [InlineData("missing_nested", "{{.Missing.Deeper}}", "<no value>")]
    [InlineData("list", "{{.Tags}}", "[a b c]")]
    [InlineData("empty_list", "{{.NoTags}}", "[]")]
    [InlineData("map", "{{.Labels}}", "map[com.docker.stack.namespace:st tier:front zone:a]")]
    [InlineData("nested", "{{.Spec.Role}}", "manager")]
    [InlineData("trim_both", "a  {{- .Name -}}  b", "awebb")]
    [InlineData("trim_left", "a {{- .Name}} b", "aweb b")]
    [InlineData("trim_newlines", "x\n  {{- .Name}}", "xweb")]
    [InlineData("trim_right", "{{.Name -}}\n\n z", "webz")]
    [InlineData("minus_number", "{{-3}}", "-3")]
    [InlineData("comment", "a{{/* a comment */}}b", "ab")]
    [InlineData("comment_trim", "a {{- /* c */ -}} b", "ab")]
    [InlineData("comment_multiline", "a{{/* one\ntwo */}}b", "ab")]
    [InlineData("pipe_printf", "{{.Name | printf \"%q\"}}", "\"web\"")]
    [InlineData("pipe_chain", "{{.Name | upper | printf \"%s!\"}}", "WEB!")]
    [InlineData("pipe_final_arg", "{{\"x\" | printf \"%s-%s\" \"y\"}}", "y-x")]
    [InlineData("paren", "{{printf \"%s-%d\" (upper .Name) (len .Tags)}}", "WEB-3")]
    [InlineData("var", "{{$x := .Name}}{{$x}}", "web")]
    [InlineData("var_assign", "{{$x := 1}}{{$x = 2}}{{$x}}", "2")]
    [InlineData("var_root", "{{range .Tags}}{{$.Name}}:{{.}} {{end}}", "web:a web:b web:c ")]
    [InlineData("var_field", "{{$s := .Spec}}{{$s.Role}}", "manager")]
    [InlineData("range_index_value", "{{range $i, $v := .Tags}}{{$i}}={{$v}} {{end}}", "0=a 1=b 2=c ")]
    [InlineData("range_value", "{{range $v := .Tags}}{{$v}}{{end}}", "abc")]
    [InlineData("range_vips", "{{range .Endpoint.VirtualIPs}}{{.Addr}} {{end}}", "10.0.0.2/24 10.0.1.2/24 ")]
    [InlineData("range_map", "{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "com.docker.stack.namespace=st;tier=front;zone=a;")]
    [InlineData("range_map_values", "{{range .Labels}}{{.}},{{end}}", "st,front,a,")]
    [InlineData("range_else_empty", "{{range .NoTags}}x{{else}}empty{{end}}", "empty")]
    [InlineData("range_else_missing", "{{range .Missing}}x{{else}}nothing{{end}}", "nothing")]
    [InlineData("range_else_null", "{{range .Null}}x{{else}}null{{end}}", "null")]
    [InlineData("range_break", "{{range .Tags}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", "a")]
    [InlineData("range_continue", "{{range .Tags}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", "ac")]
    [InlineData("range_nested", "{{range .Endpoint.VirtualIPs}}{{$a := .Addr}}{{range $.Tags}}{{$a}}/{{.}} {{end}}{{end}}", "10.0.0.2/24/a 10.0.0.2/24/b 10.0.0.2/24/c 10.0.1.2/24/a 10.0.1.2/24/b 10.0.1.2/24/c ")]
    [InlineData("if_true", "{{if .Yes}}y{{else}}n{{end}}", "y")]
    [InlineData("if_else_if", "{{if .No}}y{{else if .Name}}name{{else}}n{{end}}", "name")]
    [InlineData("if_else_if_else", "{{if .No}}y{{else if .Empty}}e{{else}}neither{{end}}", "neither")]
    [InlineData("if_empty_string", "{{if .Empty}}y{{else}}empty{{end}}", "empty")]
    [InlineData("if_zero", "{{if .Zero}}y{{else}}zero{{end}}", "zero")]
    [InlineData("if_empty_list", "{{if .NoTags}}y{{else}}none{{end}}", "none")]
    [InlineData("if_empty_map", "{{if .NoLabels}}y{{else}}none{{end}}", "none")]
    [InlineData("if_null", "{{if .Null}}y{{else}}null{{end}}", "null")]
    [InlineData("if_missing", "{{if .Missing}}y{{else}}missing{{end}}", "missing")]
    [InlineData("if_object", "{{if .ManagerStatus}}{{.Hostname}}{{end}}", "node-1")]
    [InlineData("if_decl", "{{if $r := .Replicas}}{{$r}} replicas{{end}}", "3 replicas")]
    [InlineData("and", "{{if and .Yes .Name}}both{{end}}", "both")]
    [InlineData("and_value", "{{and .Yes .Name}} {{and .Yes .Empty .Name}}", "web ")]
    [InlineData("or_value", "{{or .Empty .Zero .Name}} {{or .Empty .Zero}}", "web 0")]
    [InlineData("or_false", "{{if or .No .Empty}}y{{else}}neither{{end}}", "neither")]
    [InlineData("not", "{{if not .No}}not{{end}} {{not .Name}}", "not false")]
    [InlineData("with", "{{with .Spec}}{{.Role}}{{end}}", "manager")]
    [InlineData("with_else", "{{with .Missing}}x{{else}}none{{end}}", "none")]
    [InlineData("with_empty", "{{with .Empty}}x{{else}}{{.Name}}{{end}}", "web")]
    [InlineData("with_var", "{{with $x := .Name}}{{$x}}{{.}}{{end}}", "webweb")]
    [InlineData("define_template", "{{define \"t\"}}[{{.}}]{{end}}{{template \"t\" .Name}}{{template \"t\" .Replicas}}", "[web][3]")]
    [InlineData("template_no_data", "{{define \"t\"}}[{{.}}]{{end}}{{template \"t\"}}", "[<no value>]")]
    [InlineData("block", "{{block \"b\" .Tags}}{{len .}}{{end}}", "3")]
    [InlineData("index_map", "{{index .Labels \"com.docker.stack.namespace\"}}", "st")]
    [InlineData("index_list", "{{index .Tags 1}}", "b")]
    [InlineData("index_chain", "{{(index .Endpoint.VirtualIPs 1).Addr}}", "10.0.1.2/24")]
    [InlineData("index_nested", "{{index .Endpoint \"VirtualIPs\" 0 \"Addr\"}}", "10.0.0.2/24")]
    [InlineData("index_string", "{{index .Name 0}}", "119")]
    [InlineData("index_none", "{{index .Name}}", "web")]
    [InlineData("slice_list_from", "{{slice .Tags 1}}", "[b c]")]
    [InlineData("slice_list", "{{slice .Tags 1 2}}", "[b]")]
    [InlineData("slice_string", "{{slice .Name 1 2}}", "e")]
    [InlineData("slice_whole", "{{slice .Name}}", "web")]
    [InlineData("len_list", "{{len .Tags}}", "3")]
    [InlineData("len_map", "{{len .Labels}}", "3")]
    [InlineData("len_string", "{{len .Name}}", "3")]
    [InlineData("len_unicode", "{{len .Unicode}}", "13")]
    [InlineData("print", "{{print .Name .Replicas}}", "web3")]
    [InlineData("print_numbers", "{{print 1 2}}", "1 2")]
    [InlineData("print_strings", "{{print \"a\" \"b\"}}", "ab")]
    [InlineData("print_mixed", "{{print .Replicas .Ratio .Yes}}", "3 1.5 true")]
    [InlineData("print_missing", "{{print .Missing}}", "<nil>")]
    [InlineData("print_null", "{{print .Null}}", "<nil>")]
    [InlineData("println", "{{println .Name .Replicas}}", "web 3\n")]
    [InlineData("printf_s", "{{printf \"%s\" .Name}}", "web")]
    [InlineData("printf_q", "{{printf \"%q\" .Name}}", "\"web\"")]
    [InlineData("printf_d", "{{printf \"%d\" .Replicas}}", "3")]
    [InlineData("printf_widths", "{{printf \"%5d|%-5d|%05d\" .Replicas .Replicas .Replicas}}", "    3|3    |00003")]
    [InlineData("printf_left", "{{printf \"%-10s|\" .Name}}", "web       |")]
    [InlineData("printf_right", "{{printf \"%10s|\" .Name}}", "       web|")]
    [InlineData("printf_precision", "{{printf \"%.2f\" .Ratio}}", "1.50")]
    [InlineData("printf_f", "{{printf \"%f\" .Ratio}}", "1.500000")]
    [InlineData("printf_e", "{{printf \"%e\" .Ratio}}", "1.500000e+00")]
    [InlineData("printf_g", "{{printf \"%g\" .Ratio}}", "1.5")]
    [InlineData("printf_list", "{{printf \"%v\" .Tags}}", "[a b c]")]
    [InlineData("printf_list_q", "{{printf \"%q\" .Tags}}", "[\"a\" \"b\" \"c\"]")]
    [InlineData("printf_t", "{{printf \"%t\" .Yes}}", "true")]
    [InlineData("printf_x", "{{printf \"%x\" .Replicas}} {{printf \"%X\" 255}} {{printf \"%x\" .Name}}", "3 FF 776562")]
    [InlineData("printf_ob", "{{printf \"%o %b\" 8 5}}", "10 101")]
    [InlineData("printf_c", "{{printf \"%c\" 65}}", "A")]
    [InlineData("printf_U", "{{printf \"%U\" 65}}", "U+0041")]
    [InlineData("printf_bad_verb", "{{printf \"%d\" .Name}}", "%!d(string=web)")]
    [InlineData("printf_bad_s", "{{printf \"%s\" .Replicas}}", "%!s(int=3)")]
    [InlineData("printf_missing_arg", "{{printf \"%d %d\" 1}}", "1 %!d(MISSING)")]
    [InlineData("printf_extra_arg", "{{printf \"%d\" 1 2}}", "1%!(EXTRA int=2)")]
    [InlineData("printf_percent", "{{printf \"100%%\"}}", "100%")]
    [InlineData("printf_v_missing", "{{printf \"%v\" .Missing}}", "<nil>")]
    [InlineData("printf_s_null", "{{printf \"%s\" .Null}}", "%!s(<nil>)")]
    [InlineData("printf_sign", "{{printf \"%+d % d\" 5 5}}", "+5  5")]
    [InlineData("printf_truncate", "{{printf \"%.3s\" .Name}}", "web")]
    [InlineData("printf_width_precision", "{{printf \"%8.3f|\" .Ratio}}", "   1.500|")]
    [InlineData("printf_v_big", "{{printf \"%v\" .Big}}", "1e+21")]
    [InlineData("printf_v_small", "{{printf \"%v\" 0.00001}}", "1e-05")]
    [InlineData("printf_sharp_x", "{{printf \"%#x\" 255}}", "0xff")]
    [InlineData("printf_q_int", "{{printf \"%q\" 65}}", "'A'")]
    [InlineData("printf_star", "{{printf \"%*d|\" 5 3}}", "    3|")]
    [InlineData("printf_map", "{{printf \"%v %v\" .Labels .Yes}}", "map[com.docker.stack.namespace:st tier:front zone:a] true")]
    [InlineData("printf_neg", "{{printf \"%05d\" -42}}", "-0042")]
    [InlineData("printf_g_precision", "{{printf \"%.3g\" 3.14159}}", "3.14")]
    [InlineData("printf_E", "{{printf \"%E\" 123456.789}}", "1.234568E+05")]
    [InlineData("eq", "{{eq .Name \"web\"}}", "true")]
    [InlineData("eq_any", "{{eq .Name \"a\" \"web\"}}", "true")]
    [InlineData("ne", "{{ne .Replicas 3}}", "false")]
    [InlineData("lt", "{{lt .Replicas 5}}", "true")]
    [InlineData("le", "{{le 3 3}}", "true")]
    [InlineData("gt_float", "{{gt .Ratio 1.0}}", "true")]
    [InlineData("ge_string", "{{ge \"b\" \"a\"}}", "true")]
    [InlineData("eq_bool", "{{eq .Yes true}}", "true")]
    [InlineData("lt_string", "{{lt \"a\" \"b\"}}", "true")]
    [InlineData("html", "{{html .Text}}", "Hello, &lt;World&gt; &amp; &#39;friends&#39; &#34;x&#34;=1\n")]
    [InlineData("js", "{{js .Text}}", "Hello, \\u003CWorld\\u003E \\u0026 \\'friends\\' \\\"x\\\"\\u003D1\\u000A")]
    [InlineData("urlquery", "{{urlquery .Text}}", "Hello%2C+%3CWorld%3E+%26+%27friends%27+%22x%22%3D1%0A")]
    [InlineData("urlquery_unicode", "{{urlquery \"a b/c?d=é\"}}", "a+b%2Fc%3Fd%3D%C3%A9")]
    [InlineData("html_many", "{{html .Name .Replicas}}", "web3")]
    [InlineData("const_int", "{{1}}", "1")]
    [InlineData("const_float", "{{1.5}}", "1.5")]
    [InlineData("const_hex", "{{0x1F}}", "31")]
    [InlineData("const_char", "{{'a'}}", "97")]
    [InlineData("const_string", "{{\"a\\tb\\u00e9\"}}", "a\tbé")]
    [InlineData("const_raw", "{{`raw\\n`}}", "raw\\n")]
    [InlineData("const_bool", "{{true}}", "true")]
    [InlineData("const_exp", "{{1e3}}", "1000")]
    [InlineData("const_underscore", "{{1_000}}", "1000")]
    [InlineData("const_octal", "{{0o17}} {{017}}", "15 15")]
    [InlineData("json_map", "{{json .Labels}}", "{\"com.docker.stack.namespace\":\"st\",\"tier\":\"front\",\"zone\":\"a\"}")]
    [InlineData("json_list", "{{json .Tags}}", "[\"a\",\"b\",\"c\"]")]
    [InlineData("json_text", "{{json .Text}}", "\"Hello, <World> & 'friends' \\\"x\\\"=1\\n\"")]
    [InlineData("json_missing", "{{json .Missing}}", "null")]
    [InlineData("json_int", "{{json .Replicas}}", "3")]
    [InlineData("join", "{{join .Ports \", \"}}", "80/tcp, 443/tcp")]
    [InlineData("split", "{{split \"a,b,c\" \",\"}}", "[a b c]")]
    [InlineData("title", "{{title \"hello world-wide\"}}", "Hello World-Wide")]
    [InlineData("lower", "{{lower \"ABC\"}}", "abc")]
    [InlineData("upper", "{{upper .Name}}", "WEB")]
    [InlineData("pad", "{{pad .Name 2 3}}|", "  web   |")]
    [InlineData("truncate", "{{truncate .Name 2}}", "we")]
    [InlineData("truncate_long", "{{truncate .Name 10}}", "web")]
    [InlineData("pipe_upper", "{{.Name | upper}}", "WEB")]
    [InlineData("len_split", "{{len (split .Name \"\")}}", "3")]
    [InlineData("title_apostrophe", "{{title \"it's a-b c_d été\"}}", "It'S A-B C_d Été")]
    [InlineData("pipe_to_nothing", "{{.Name | }}", "web")]
    [InlineData("else_if_chain", "{{if eq .Replicas 1}}one{{else if eq .Replicas 2}}two{{else if eq .Replicas 3}}three{{end}}", "three")]
    [InlineData("range_else_if", "{{range .NoTags}}x{{else}}{{if .Yes}}y{{end}}{{end}}", "y")]
    [InlineData("nested_parens", "{{len (index (split (printf \"%s,%s\" .Name .ID) \",\") 1)}}", "6")]
    [InlineData("var_in_range_scope", "{{$x := \"out\"}}{{range .Tags}}{{$x = .}}{{end}}{{$x}}", "c")]
    [InlineData("with_dot_pipe", "{{with .Spec}}{{.Role | len}}{{end}}", "7")]
    [InlineData("printf_v_list_width", "{{printf \"%3v|\" .Nums}}", "[  3   1   2]|")]
    [InlineData("printf_s_map", "{{printf \"%s\" .Labels}}", "map[com.docker.stack.namespace:st tier:front zone:a]")]
    [InlineData("printf_d_list", "{{printf \"%d\" .Nums}}", "[3 1 2]")]
    [InlineData("printf_05s", "{{printf \"%05s\" \"ab\"}}", "000ab")]
    [InlineData("printf_plus_q", "{{printf \"%+q\" \"é\"}}", "\"\\u00e9\"")]
    [InlineData("printf_sharp_q", "{{printf \"%#q\" \"a\\\"b\"}}", "`a\"b`")]
    [InlineData("printf_g_big", "{{printf \"%g\" 1e21}} {{printf \"%g\" 100000.0}} {{printf \"%v\" 123456789.0}}", "1e+21 100000 1.23456789e+08")]
    [InlineData("printf_e_small", "{{printf \"%.2e\" 0.000123}}", "1.23e-04")]
    [InlineData("printf_x_neg", "{{printf \"%x\" -255}}", "-ff")]
    [InlineData("printf_bool_d", "{{printf \"%d\" true}}", "%!d(bool=true)")]
    [InlineData("print_list_nums", "{{print .Nums 1 \"a\" 2 3}}", "[3 1 2] 1a2 3")]
    [InlineData("slice_3", "{{slice .Tags 0 1 2}}", "[a]")]
    [InlineData("trim_comment_only", "a {{- /* x */}} b", "a b")]
    [InlineData("dollar_decl", "{{$ := 1}}", "")]
    [InlineData("decl_in_parens", "{{($x := 1)}}{{$x}}", "11")]
    [InlineData("char_escape", "{{'\\n'}} {{'\\''}}", "10 39")]
    [InlineData("string_escapes", "{{\"\\x41\\u00e9\\101\"}}", "AéA")]
    [InlineData("keyword_as_field", "{{.range}}", "<no value>")]
    [InlineData("not_missing", "{{not .Missing}}", "true")]
    [InlineData("or_missing_pipe", "{{.Missing | or .Empty}}", "<no value>")]
    [InlineData("html_nul", "{{html \"a\\x00b\"}}", "a\uFFFDb")]
    [InlineData("js_unicode", "{{js \"é\\u2028\\u00a0\"}}", "é\\u2028\\u00A0")]
    [InlineData("urlquery_many", "{{urlquery \"a\" 1 \"b\"}}", "a1b")]
    [InlineData("println_empty", "{{println}}", "\n")]
    [InlineData("print_nil", "{{print nil}}", "<nil>")]
    [InlineData("eq_nil", "{{eq .Null .Missing}}", "true")]
    [InlineData("field_on_var_missing", "{{$x := .Missing}}{{$x.Foo}}", "<no value>")]
    [InlineData("range_break_else", "{{range .Tags}}{{break}}{{else}}e{{end}}", "")]
    public void Executes_As_Gos_Text_Template(string name, string template, string expected)
    {
        Assert.True(name.Length > 0);
        Assert.Equal(expected, GoTemplate.Parse(template, Options).Execute(Data));
    }

    [Theory]
    [InlineData("err_index_range", "{{index .Tags 5}}", "error calling index: index out of range: 5")]
    [InlineData("err_field_of_string", "{{.Name.Foo}}", "can't evaluate field Foo in type string")]
    [InlineData("err_no_func", "{{nofunc}}", "function \"nofunc\" not defined")]
    [InlineData("err_undefined_var", "{{$y}}", "undefined variable \"$y\"")]
    [InlineData("err_if_empty", "{{if}}{{end}}", "missing value for if")]
    [InlineData("err_end", "{{end}}", "unexpected {{end}}")]
    [InlineData("err_else", "{{else}}", "unexpected {{else}}")]
    [InlineData("err_range_string", "{{range .Name}}{{end}}", "range can't iterate over web")]
    [InlineData("err_len_int", "{{len 3}}", "error calling len: len of type int")]
    [InlineData("err_lt_bool", "{{lt .Yes .No}}", "error calling lt: invalid type for comparison")]
    [InlineData("err_eq_types", "{{eq .Replicas \"3\"}}", "error calling eq: incompatible types for comparison")]
    [InlineData("err_upper_int", "{{upper 3}}", "wrong type for value; expected string; got int")]
    [InlineData("err_no_template", "{{template \"nope\"}}", "template \"nope\" not defined")]
    [InlineData("err_unclosed", "{{.Name", "unclosed action: '{{' is never closed with '}}'")]
    [InlineData("err_unterminated_string", "{{\"abc}}", "unterminated quoted string")]
    [InlineData("err_break_outside", "{{break}}", "{{break}} outside {{range}}")]
    [InlineData("err_chain_on_const", "{{(1).X}}", "can't evaluate field X in type int")]
    [InlineData("err_nonexec_stage", "{{.Name | \"x\"}}", "non executable command in pipeline stage 2")]
    [InlineData("err_index_map_int", "{{index .Labels 1}}", "error calling index: value has type int; should be string")]
    [InlineData("err_slice_bounds", "{{slice .Tags 2 1}}", "error calling slice: invalid slice index: 2 > 1")]
    [InlineData("err_missing_end", "{{if .Yes}}x", "unexpected EOF")]
    [InlineData("err_args_to_field", "{{.Name 1}}", "Name is not a method but has arguments")]
    [InlineData("err_nil_command", "{{nil}}", "nil is not a command")]
    [InlineData("err_unexpected_paren", "{{.Name)}}", "unexpected \")\" in command")]
    [InlineData("err_eq_no_args", "{{eq .Name}}", "error calling eq: missing argument for comparison")]
    [InlineData("err_not_args", "{{not 1 2}}", "wrong number of args for not: want 1 got 2")]
    [InlineData("err_multiline", "line one\n{{.Name}} {{index .Tags 9}}", "error calling index: index out of range: 9")]
    [InlineData("eq_int_float", "{{eq .Replicas 3.0}}", "error calling eq: incompatible types for comparison")]
    [InlineData("lt_mixed", "{{lt 1 1.5}}", "error calling lt: incompatible types for comparison")]
    [InlineData("len_nil", "{{len .Null}}", "error calling len: len of nil pointer")]
    [InlineData("index_nil", "{{index .Missing 1}}", "error calling index: index of untyped nil")]
    [InlineData("slice_string_3", "{{slice .Name 0 1 2}}", "error calling slice: cannot 3-index slice a string")]
    [InlineData("and_no_args", "{{and}}", "wrong number of args for and: want at least 1 got 0")]
    [InlineData("comment_bad_end", "{{/* x */ .Name}}", "comment ends before closing delimiter")]
    [InlineData("number_bad", "{{3x}}", "bad number syntax: \"3x\"")]
    public void A_Fault_Is_Placed_And_Explained_As_Go_Does(string name, string template, string reason)
    {
        Assert.True(name.Length > 0);
        var e = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse(template, Options).Execute(Data));
        Assert.Equal(reason, e.Reason);
        Assert.StartsWith("template: :", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{range 100}}{{end}}", 50, "template: :1:8: executing \"\" at <{{range 100}}>: the template takes more than 50 steps; it was stopped")]
    [InlineData("{{range $i := 100}}\n{{.}}{{end}}", 52, "template: :2:2: executing \"\" at <{{.}}>: the template takes more than 52 steps; it was stopped")]
    [InlineData("{{define \"t\"}}{{range 100}}{{end}}{{end}}x{{template \"t\"}}", 50, "template: :1:22: executing \"t\" at <{{range 100}}>: the template takes more than 50 steps; it was stopped")]
    public void A_Template_Past_Its_Steps_Is_Stopped_Where_It_Ran_Out(string template, long steps, string message)
    {
        var e = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse(template, Options with { MaxSteps = steps }).Execute(Data));

        Assert.Equal(message, e.Message);
        Assert.NotEqual("", e.At);
    }

    [Theory]
    [InlineData("{{range 100}}abc{{end}}", "template: :1:8: executing \"\" at <{{range 100}}>: ", "{{range 100}}")]
    [InlineData("ab{{ \"abcdefghijkl\" }}", "template: :1:5: executing \"\" at <{{\"abcdefghijkl\"}}>: ", "{{\"abcdefghijkl\"}}")]
    [InlineData("{{define \"t\"}}abcdef{{end}}{{template \"t\"}}{{template \"t\"}}", "template: :1:54: executing \"\" at <{{template \"t\"}}>: ", "{{template \"t\"}}")]
    [InlineData("{{\"abcdefgh\"}}xyz", "template: : ", null)]
    public void A_Template_Past_Its_Output_Is_Stopped_Where_It_Wrote_Too_Much_Without_An_Empty_Place(string template, string place, string? at)
    {
        var e = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse(template, Options with { MaxOutput = 10 }).Execute(Data));

        Assert.Equal(place + "the template's output is longer than 10 characters; it was stopped", e.Message);
        Assert.Equal(at, e.At);
    }

    [Fact]
    public void A_Fault_Says_Its_Line_And_Column_As_Go_Counts_Them()
    {
        var execution = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse("line one\n{{.Name}} {{index .Tags 9}}", Options).Execute(Data));
        var parse = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse("a\nb {{nofunc}}", Options));

        Assert.Equal("template: :2:12: executing \"\" at <index .Tags 9>: error calling index: index out of range: 9", execution.Message);
        Assert.Equal((2, 12, "index .Tags 9", "{{index .Tags 9}}"), (execution.Line, execution.Column, execution.At, execution.Action));
        Assert.Equal("template: :2: function \"nofunc\" not defined", parse.Message);
        Assert.Equal((2, 4), (parse.Line, parse.Column));
        Assert.Null(parse.At);
    }

    /// <summary>Each message as Go 1.x's text/template writes it for a template parsed with the name "" (docker's CLI's templates.Parse).</summary>
    [Theory]
    [InlineData("{{define \"t\"}}{{index .Tags 9}}{{end}}a\n{{template \"t\" .}}", "template: :1:16: executing \"t\" at <index .Tags 9>: error calling index: index out of range: 9")]
    [InlineData("{{define \"t\"}}{{end}}{{template \"t\"}}{{index .Tags 9}}", "template: :1:39: executing \"\" at <index .Tags 9>: error calling index: index out of range: 9")]
    [InlineData("{{define \"t\"}}\n{{template \"u\" .}}{{end}}{{template \"t\" .}}", "template: :2:11: executing \"t\" at <{{template \"u\" .}}>: template \"u\" not defined")]
    [InlineData("{{define \"t\"}}{{template \"u\"}}{{end}}{{template \"t\" .}}", "template: :1:25: executing \"t\" at <{{template \"u\"}}>: template \"u\" not defined")]
    [InlineData("é {{index .Tags 9}}", "template: :1:5: executing \"\" at <index .Tags 9>: error calling index: index out of range: 9")]
    [InlineData("a\nb {{nofunc}}", "template: :2: function \"nofunc\" not defined")]
    [InlineData("{{define \"t\"}}{{if}}{{end}}{{end}}", "template: :1: missing value for if")]
    public void A_Fault_Names_The_Template_Executing_And_Its_Place_In_Gos_Words(string template, string message)
    {
        var e = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse(template, Options).Execute(Data));

        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("{{define \"t\"}}{{range 3}}abcdefgh{{end}}{{end}}{{template \"t\"}}", "template: :1:22: executing \"t\" at <{{range 3}}>: ")]
    [InlineData("{{define \"t\"}}abcdefghijkl{{end}}{{template \"t\"}}", "template: :1:44: executing \"\" at <{{template \"t\"}}>: ")]
    public void A_Called_Template_Past_Its_Output_Is_Named_As_The_Template_Whose_Text_Holds_The_Place(string template, string place)
    {
        var e = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse(template, Options with { MaxOutput = 10 }).Execute(Data));

        Assert.Equal(place + "the template's output is longer than 10 characters; it was stopped", e.Message);
    }

    [Theory]
    [InlineData("{{.Null}}", "<nil>")]
    [InlineData("{{join (split .Name \"e\") \"+\"}}", "w+b")]
    [InlineData("{{with .Missing}}a{{else with .Name}}{{.}}{{else}}c{{end}}", "web")]
    [InlineData("{{with .Missing}}a{{else with .Empty}}b{{else}}c{{end}}", "c")]
    [InlineData("{{range 3}}{{.}}{{end}}", "012")]
    [InlineData("{{range $i, $v := .NoTags}}x{{end}}", "")]
    [InlineData("{{$n := 0}}{{range .Tags}}{{$n = len .}}{{end}}{{$n}}", "1")]
    [InlineData("{{if .Yes}}{{$x := 1}}{{$x}}{{end}}{{$x := 2}}{{$x}}", "12")]
    [InlineData("{{define \"row\"}}{{.Addr}}{{end}}{{range .Endpoint.VirtualIPs}}{{template \"row\" .}};{{end}}", "10.0.0.2/24;10.0.1.2/24;")]
    [InlineData("{{index .Labels \"missing\"}}|{{.Labels.missing}}", "|<no value>")]
    [InlineData("{{- /* only a comment */ -}}", "")]
    [InlineData("a\r\n  {{- .Name -}}  \r\nb", "awebb")]
    public void Covers_What_Go_Gives_For_Docker_Structs_And_Newer_Go(string template, string expected)
    {
        Assert.Equal(expected, GoTemplate.Parse(template, Options).Execute(Data));
    }

    [Fact]
    public void Nil_Slices_And_Maps_Print_Empty_And_Are_False()
    {
        var data = new JsonObject { ["Env"] = GoJson.NilSlice(), ["Labels"] = GoJson.NilMap() };

        Assert.Equal("[] map[] none none 0 null|", GoTemplate.Parse("{{.Env}} {{.Labels}} {{if .Env}}x{{else}}none{{end}} {{range .Labels}}x{{else}}none{{end}} {{len .Env}} {{json .Env}}|{{index .Labels \"k\"}}", Options).Execute(data));
    }

    [Fact]
    public void The_Fields_Read_From_The_Data_Itself_Leave_Out_Those_Inside_Range_And_With()
    {
        var template = GoTemplate.Parse("{{range .Endpoint.VirtualIPs}}{{.Addr}}{{$.Name}}{{end}}{{with .Spec}}{{.Role}}{{else}}{{.ID}}{{end}}{{if .Yes}}{{.Hostname}}{{end}}{{printf \"%s\" (.Text)}}", Options);

        Assert.Equal(["Endpoint", "Name", "Spec", "ID", "Yes", "Hostname", "Text"], template.Fields);
    }

    [Fact]
    public void A_Table_Header_Puts_Each_Columns_Title_For_Its_Field_And_Docker_Functions_Pass_It_Through()
    {
        var template = GoTemplate.Parse("{{.Name}}\t{{json .Labels}}\t{{join .Ports \", \"}}\t{{upper .Spec.Role}}\t{{printf \"%-6s|\" .ID}}", Options);

        Assert.Equal("NAME\tLABELS\tPORTS\tROLE\tID    |", template.ExecuteHeader(field => field.ToUpperInvariant()));
        Assert.Equal(" NAME  |", GoTemplate.Parse("{{pad .Name 1 2}}|", Options).ExecuteHeader(field => field.ToUpperInvariant()));
    }

    [Fact]
    public void Strict_Fields_Make_A_Field_A_Struct_Lacks_An_Error_But_Not_A_Maps_Key()
    {
        var strict = Options with { StrictFields = true };

        var e = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse("{{.Spec.Nope}}", strict).Execute(Data));

        Assert.True(e.IsUnknownField);
        Assert.Equal("can't evaluate field Nope: .Spec has no such field; it has Role", e.Reason);
        Assert.Equal("<no value>", GoTemplate.Parse("{{.Labels.nope}}", strict).Execute(Data));
        Assert.Equal("<no value>", GoTemplate.Parse("{{.Nope}}", Options).Execute(Data));
    }

    [Fact]
    public void A_Hosts_Function_Takes_One_String_And_Its_Error_Is_The_Templates()
    {
        var options = Options with
        {
            Functions = new Dictionary<string, Func<string, string>>
            {
                ["env"] = name => name == "X" ? "1" : throw new FormatException($"no {name}"),
            },
        };

        Assert.Equal("\"1\"", GoTemplate.Parse("{{env \"X\" | printf \"%q\"}}", options).Execute(Data));
        var e = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse("{{env \"Y\"}}", options).Execute(Data));
        Assert.Equal(("error calling env: no Y", "no Y"), (e.Reason, e.FunctionError!.Message));
        Assert.Equal("wrong number of args for env: want 1 got 2", Assert.Throws<GoTemplateException>(() => GoTemplate.Parse("{{env \"X\" \"Y\"}}", options).Execute(Data)).Reason);
        Assert.Equal("wrong type for value; expected string; got int", Assert.Throws<GoTemplateException>(() => GoTemplate.Parse("{{env 1}}", options).Execute(Data)).Reason);
    }

    [Fact]
    public void A_Template_Calling_Itself_Stops_At_A_Depth()
    {
        var e = Assert.Throws<GoTemplateException>(() => GoTemplate.Parse("{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}", Options).Execute(Data));

        Assert.Equal("exceeded maximum template depth (1000)", e.Reason);
    }
}
