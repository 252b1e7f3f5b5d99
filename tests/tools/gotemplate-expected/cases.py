import json
data = {
 "Name": "web", "ID": "abc123", "Replicas": 3, "Zero": 0, "Ratio": 1.5, "Big": 1e21, "Small": 0.00001,
 "Empty": "", "Yes": True, "No": False, "Null": None,
 "Tags": ["a","b","c"], "NoTags": [], "Nums": [3,1,2],
 "Labels": {"com.docker.stack.namespace":"st","tier":"front","zone":"a"}, "NoLabels": {},
 "Endpoint": {"VirtualIPs": [{"Addr":"10.0.0.2/24","NetworkID":"n1"},{"Addr":"10.0.1.2/24","NetworkID":"n2"}]},
 "Ports": ["80/tcp","443/tcp"],
 "Text": "Hello, <World> & 'friends' \"x\"=1\n",
 "Spec": {"Role":"manager"},
 "ManagerStatus": {"Leader": True, "Addr": "10.0.0.1:2377"},
 "Hostname": "node-1", "Unicode": "héllo wörld",
}
T = r'''
field|{{.Name}}
field_spaces|{{ .Name }}
int|{{.Replicas}}
float|{{.Ratio}}
float_big|{{.Big}}
float_small|{{.Small}}
bools|{{.Yes}} {{.No}}
null|{{.Null}}
missing|{{.Missing}}
missing_nested|{{.Missing.Deeper}}
list|{{.Tags}}
empty_list|{{.NoTags}}
map|{{.Labels}}
nested|{{.Spec.Role}}
trim_both|a  {{- .Name -}}  b
trim_left|a {{- .Name}} b
trim_newlines|x
  {{- .Name}}
trim_right|{{.Name -}}

 z
minus_number|{{-3}}
comment|a{{/* a comment */}}b
comment_trim|a {{- /* c */ -}} b
comment_multiline|a{{/* one
two */}}b
pipe_printf|{{.Name | printf "%q"}}
pipe_chain|{{.Name | upper | printf "%s!"}}
pipe_final_arg|{{"x" | printf "%s-%s" "y"}}
paren|{{printf "%s-%d" (upper .Name) (len .Tags)}}
var|{{$x := .Name}}{{$x}}
var_assign|{{$x := 1}}{{$x = 2}}{{$x}}
var_root|{{range .Tags}}{{$.Name}}:{{.}} {{end}}
var_field|{{$s := .Spec}}{{$s.Role}}
range_index_value|{{range $i, $v := .Tags}}{{$i}}={{$v}} {{end}}
range_value|{{range $v := .Tags}}{{$v}}{{end}}
range_vips|{{range .Endpoint.VirtualIPs}}{{.Addr}} {{end}}
range_map|{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}
range_map_values|{{range .Labels}}{{.}},{{end}}
range_else_empty|{{range .NoTags}}x{{else}}empty{{end}}
range_else_missing|{{range .Missing}}x{{else}}nothing{{end}}
range_else_null|{{range .Null}}x{{else}}null{{end}}
range_break|{{range .Tags}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}
range_continue|{{range .Tags}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}
range_nested|{{range .Endpoint.VirtualIPs}}{{$a := .Addr}}{{range $.Tags}}{{$a}}/{{.}} {{end}}{{end}}
if_true|{{if .Yes}}y{{else}}n{{end}}
if_else_if|{{if .No}}y{{else if .Name}}name{{else}}n{{end}}
if_else_if_else|{{if .No}}y{{else if .Empty}}e{{else}}neither{{end}}
if_empty_string|{{if .Empty}}y{{else}}empty{{end}}
if_zero|{{if .Zero}}y{{else}}zero{{end}}
if_empty_list|{{if .NoTags}}y{{else}}none{{end}}
if_empty_map|{{if .NoLabels}}y{{else}}none{{end}}
if_null|{{if .Null}}y{{else}}null{{end}}
if_missing|{{if .Missing}}y{{else}}missing{{end}}
if_object|{{if .ManagerStatus}}{{.Hostname}}{{end}}
if_decl|{{if $r := .Replicas}}{{$r}} replicas{{end}}
and|{{if and .Yes .Name}}both{{end}}
and_value|{{and .Yes .Name}} {{and .Yes .Empty .Name}}
or_value|{{or .Empty .Zero .Name}} {{or .Empty .Zero}}
or_false|{{if or .No .Empty}}y{{else}}neither{{end}}
not|{{if not .No}}not{{end}} {{not .Name}}
with|{{with .Spec}}{{.Role}}{{end}}
with_else|{{with .Missing}}x{{else}}none{{end}}
with_empty|{{with .Empty}}x{{else}}{{.Name}}{{end}}
with_var|{{with $x := .Name}}{{$x}}{{.}}{{end}}
define_template|{{define "t"}}[{{.}}]{{end}}{{template "t" .Name}}{{template "t" .Replicas}}
template_no_data|{{define "t"}}[{{.}}]{{end}}{{template "t"}}
block|{{block "b" .Tags}}{{len .}}{{end}}
index_map|{{index .Labels "com.docker.stack.namespace"}}
index_list|{{index .Tags 1}}
index_chain|{{(index .Endpoint.VirtualIPs 1).Addr}}
index_nested|{{index .Endpoint "VirtualIPs" 0 "Addr"}}
index_string|{{index .Name 0}}
index_none|{{index .Name}}
slice_list_from|{{slice .Tags 1}}
slice_list|{{slice .Tags 1 2}}
slice_string|{{slice .Name 1 2}}
slice_whole|{{slice .Name}}
len_list|{{len .Tags}}
len_map|{{len .Labels}}
len_string|{{len .Name}}
len_unicode|{{len .Unicode}}
print|{{print .Name .Replicas}}
print_numbers|{{print 1 2}}
print_strings|{{print "a" "b"}}
print_mixed|{{print .Replicas .Ratio .Yes}}
print_missing|{{print .Missing}}
print_null|{{print .Null}}
println|{{println .Name .Replicas}}
printf_s|{{printf "%s" .Name}}
printf_q|{{printf "%q" .Name}}
printf_d|{{printf "%d" .Replicas}}
printf_widths|{{printf "%5d|%-5d|%05d" .Replicas .Replicas .Replicas}}
printf_left|{{printf "%-10s|" .Name}}
printf_right|{{printf "%10s|" .Name}}
printf_precision|{{printf "%.2f" .Ratio}}
printf_f|{{printf "%f" .Ratio}}
printf_e|{{printf "%e" .Ratio}}
printf_g|{{printf "%g" .Ratio}}
printf_list|{{printf "%v" .Tags}}
printf_list_q|{{printf "%q" .Tags}}
printf_t|{{printf "%t" .Yes}}
printf_x|{{printf "%x" .Replicas}} {{printf "%X" 255}} {{printf "%x" .Name}}
printf_ob|{{printf "%o %b" 8 5}}
printf_c|{{printf "%c" 65}}
printf_U|{{printf "%U" 65}}
printf_bad_verb|{{printf "%d" .Name}}
printf_bad_s|{{printf "%s" .Replicas}}
printf_missing_arg|{{printf "%d %d" 1}}
printf_extra_arg|{{printf "%d" 1 2}}
printf_percent|{{printf "100%%"}}
printf_v_missing|{{printf "%v" .Missing}}
printf_s_null|{{printf "%s" .Null}}
printf_sign|{{printf "%+d % d" 5 5}}
printf_truncate|{{printf "%.3s" .Name}}
printf_width_precision|{{printf "%8.3f|" .Ratio}}
printf_v_big|{{printf "%v" .Big}}
printf_v_small|{{printf "%v" 0.00001}}
printf_sharp_x|{{printf "%#x" 255}}
printf_q_int|{{printf "%q" 65}}
printf_star|{{printf "%*d|" 5 3}}
printf_map|{{printf "%v %v" .Labels .Yes}}
printf_neg|{{printf "%05d" -42}}
printf_g_precision|{{printf "%.3g" 3.14159}}
printf_E|{{printf "%E" 123456.789}}
eq|{{eq .Name "web"}}
eq_any|{{eq .Name "a" "web"}}
ne|{{ne .Replicas 3}}
lt|{{lt .Replicas 5}}
le|{{le 3 3}}
gt_float|{{gt .Ratio 1.0}}
ge_string|{{ge "b" "a"}}
eq_bool|{{eq .Yes true}}
lt_string|{{lt "a" "b"}}
html|{{html .Text}}
js|{{js .Text}}
urlquery|{{urlquery .Text}}
urlquery_unicode|{{urlquery "a b/c?d=é"}}
html_many|{{html .Name .Replicas}}
const_int|{{1}}
const_float|{{1.5}}
const_hex|{{0x1F}}
const_char|{{'a'}}
const_string|{{"a\tb\u00e9"}}
const_raw|{{`raw\n`}}
const_bool|{{true}}
const_exp|{{1e3}}
const_underscore|{{1_000}}
const_octal|{{0o17}} {{017}}
json_map|{{json .Labels}}
json_list|{{json .Tags}}
json_text|{{json .Text}}
json_missing|{{json .Missing}}
json_int|{{json .Replicas}}
join|{{join .Ports ", "}}
split|{{split "a,b,c" ","}}
join_split|{{join (split .Name "e") "+"}}
title|{{title "hello world-wide"}}
lower|{{lower "ABC"}}
upper|{{upper .Name}}
pad|{{pad .Name 2 3}}|
truncate|{{truncate .Name 2}}
truncate_long|{{truncate .Name 10}}
pipe_upper|{{.Name | upper}}
len_split|{{len (split .Name "")}}
err_index_range|{{index .Tags 5}}
err_field_of_string|{{.Name.Foo}}
err_no_func|{{nofunc}}
err_undefined_var|{{$y}}
err_if_empty|{{if}}{{end}}
err_end|{{end}}
err_else|{{else}}
err_range_string|{{range .Name}}{{end}}
err_len_int|{{len 3}}
err_lt_bool|{{lt .Yes .No}}
err_eq_types|{{eq .Replicas "3"}}
err_upper_int|{{upper 3}}
err_no_template|{{template "nope"}}
err_unclosed|{{.Name
err_unterminated_string|{{"abc}}
err_break_outside|{{break}}
err_chain_on_const|{{(1).X}}
err_nonexec_stage|{{.Name | "x"}}
err_index_map_int|{{index .Labels 1}}
err_slice_bounds|{{slice .Tags 2 1}}
err_missing_end|{{if .Yes}}x
err_args_to_field|{{.Name 1}}
err_nil_command|{{nil}}
err_unexpected_paren|{{.Name)}}
err_eq_no_args|{{eq .Name}}
err_not_args|{{not 1 2}}
err_multiline|line one
{{.Name}} {{index .Tags 9}}
'''
cases=[]
for line in T.strip('\n').split('\n'):
    pass
# multi-line templates: an entry starts with name|, continues until next name|
import re
entries=[]
for line in T.strip('\n').split('\n'):
    m=re.match(r'^([a-z_A-Z0-9]+)\|(.*)$', line)
    if m:
        entries.append([m.group(1), m.group(2)])
    else:
        entries[-1][1]+='\n'+line
for n,t in entries:
    cases.append({"name":n,"template":t,"data":data})
json.dump(cases, open('cases.json','w'), indent=1)
json.dump(data, open('data.json','w'))
print(len(cases))
