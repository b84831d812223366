package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
)

// emit prints body as indented JSON with --output json, else as table does.
func (c *cli) emit(body map[string]any, table func()) error {
	if c.g.output == "json" {
		return c.printJSON(body)
	}
	table()
	return nil
}

func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// printItems prints a list as a JSON array, or as a table of the given fields.
func (c *cli) printItems(items []map[string]any, headers []string, fields ...string) error {
	if c.g.output == "json" {
		return c.printJSON(items)
	}
	rows := make([][]string, len(items))
	for i, it := range items {
		for _, f := range fields {
			rows[i] = append(rows[i], text(it[f]))
		}
	}
	c.printTable(headers, rows)
	return nil
}

// printTable prints aligned columns under upper-case headers.
func (c *cli) printTable(headers []string, rows [][]string) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// printFields prints name/value pairs, one a line, skipping empty values.
func (c *cli) printFields(m map[string]any, names ...string) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, n := range names {
		if v := text(m[n]); v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", n, v)
		}
	}
	tw.Flush()
}

// field walks nested objects: field(m, "KeyMetadata", "KeyId").
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[p]
	}
	return v
}

// list returns the array under path, the XML-derived wrappers included ("Keys", "Key").
func list(m map[string]any, path ...string) []map[string]any {
	arr, _ := field(m, path...).([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, a := range arr {
		if obj, ok := a.(map[string]any); ok {
			out = append(out, obj)
		}
	}
	return out
}

// text renders a JSON value in one cell: stage and tag wrappers become comma lists.
func text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return fmt.Sprint(int64(t))
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = text(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		if s, ok := t["VersionStage"]; ok {
			return text(s)
		}
		if len(t) == 0 {
			return "" // an empty wrapper, e.g. no tags
		}
		if tags, ok := t["Tag"].([]any); ok {
			parts := []string{}
			for _, tag := range tags {
				if kv, ok := tag.(map[string]any); ok {
					parts = append(parts, text(kv["TagKey"])+"="+text(kv["TagValue"]))
				}
			}
			return strings.Join(parts, ",")
		}
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}
