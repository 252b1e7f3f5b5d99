// Prints Go's text/template output (or error) for each case in cases.json, as JSON.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
)

type tcase struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
}

func fix(v interface{}) interface{} {
	switch x := v.(type) {
	case map[string]interface{}:
		for k, e := range x {
			x[k] = fix(e)
		}
		return x
	case []interface{}:
		for i, e := range x {
			x[i] = fix(e)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

func main() {
	funcs := template.FuncMap{
		"json": func(v interface{}) string {
			buf := &bytes.Buffer{}
			enc := json.NewEncoder(buf)
			enc.SetEscapeHTML(false)
			enc.Encode(v)
			return strings.TrimSpace(buf.String())
		},
		"split": strings.Split,
		"join": func(a []interface{}, sep string) string {
			s := make([]string, len(a))
			for i, e := range a {
				s[i] = fmt.Sprint(e)
			}
			return strings.Join(s, sep)
		},
		"title": strings.Title,
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
		"pad": func(s string, p, q int) string {
			if s == "" {
				return s
			}
			return strings.Repeat(" ", p) + s + strings.Repeat(" ", q)
		},
		"truncate": func(s string, n int) string {
			if len(s) < n {
				return s
			}
			return s[:n]
		},
	}
	raw, _ := os.ReadFile(os.Args[1])
	var cases []tcase
	json.Unmarshal(raw, &cases)
	out := []map[string]string{}
	for _, c := range cases {
		dec := json.NewDecoder(bytes.NewReader(c.Data))
		dec.UseNumber()
		var data interface{}
		dec.Decode(&data)
		data = fix(data)
		res := map[string]string{"name": c.Name}
		t, err := template.New("").Funcs(funcs).Parse(c.Template)
		if err != nil {
			res["error"] = err.Error()
		} else {
			var b bytes.Buffer
			if err := t.Execute(&b, data); err != nil {
				res["error"] = err.Error()
				res["partial"] = b.String()
			} else {
				res["output"] = b.String()
			}
		}
		out = append(out, res)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	enc.Encode(out)
}
