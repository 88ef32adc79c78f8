package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/engine"
)

// countingTool is a read-only tool that counts its calls.
func countingTool(name string, n *atomic.Int32) engine.Tool {
	return engine.Tool{Name: name, Category: engine.CategoryOther, ReadOnly: true,
		Call: func(context.Context, json.RawMessage) (engine.Result, error) {
			n.Add(1)
			return engine.Result{Summary: name}, nil
		}}
}

func toolNames(ts []engine.Tool) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestRegistryAddRefusesWholeBatch(t *testing.T) {
	var n atomic.Int32
	ok1, ok2 := countingTool("query_metrics", &n), countingTool("search_logs", &n)
	writer := countingTool("restart_pod", &n)
	writer.ReadOnly = false
	unnamed := countingTool("", &n)
	noCall := countingTool("describe_resource", &n)
	noCall.Call = nil

	tests := []struct {
		name  string
		batch []engine.Tool
	}{
		{"not read-only, last", []engine.Tool{ok1, ok2, writer}},
		{"not read-only, first", []engine.Tool{writer, ok1, ok2}},
		{"unnamed", []engine.Tool{ok1, unnamed, ok2}},
		{"no call", []engine.Tool{ok1, noCall}},
		{"duplicate in batch", []engine.Tool{ok1, ok2, countingTool("query_metrics", &n)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := engine.NewRegistry()
			if err := r.Add(tt.batch...); err == nil {
				t.Fatal("Add succeeded, want an error")
			}
			if got := toolNames(r.List()); len(got) != 0 {
				t.Errorf("registry holds %v after a refused batch, want nothing", got)
			}
			for _, tool := range tt.batch {
				if _, ok := r.Get(tool.Name); ok && tool.Name != "" {
					t.Errorf("Get(%q) found a tool of the refused batch", tool.Name)
				}
			}
		})
	}
	if n.Load() != 0 {
		t.Errorf("registering ran tools %d times, want 0", n.Load())
	}
}

func TestRegistryAddRefusesNameAlreadyRegistered(t *testing.T) {
	var n atomic.Int32
	r := engine.NewRegistry()
	if err := r.Add(countingTool("query_metrics", &n)); err != nil {
		t.Fatal(err)
	}
	err := r.Add(countingTool("search_logs", &n), countingTool("query_metrics", &n))
	if err == nil {
		t.Fatal("Add of an already registered name succeeded")
	}
	if diff := cmp.Diff(toolNames(r.List()), []string{"query_metrics"}); diff != "" {
		t.Errorf("tools after refused batch (-got +want):\n%s", diff)
	}
}

func TestRegistryNotReadOnlyErrorNamesTool(t *testing.T) {
	var n atomic.Int32
	w := countingTool("scale_deployment", &n)
	w.ReadOnly = false
	err := engine.NewRegistry().Add(w)
	if err == nil {
		t.Fatal("a tool not declared read-only was admitted")
	}
	for _, want := range []string{"scale_deployment", "read-only"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestRegistryCallUnknown(t *testing.T) {
	var n atomic.Int32
	r := engine.NewRegistry()
	if err := r.Add(countingTool("query_metrics", &n), countingTool("search_logs", &n)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"restart_pod", "", "Query_Metrics", "query_metrics "} {
		res, err := r.Call(context.Background(), name, json.RawMessage(`{}`))
		if !errors.Is(err, engine.ErrToolNotFound) {
			t.Errorf("Call(%q) error = %v, want ErrToolNotFound", name, err)
		}
		if engine.ErrorCode(err) != engine.CodeNotFound {
			t.Errorf("Call(%q) error code = %q, want %q", name, engine.ErrorCode(err), engine.CodeNotFound)
		}
		if res.Summary != "" || res.Data != nil {
			t.Errorf("Call(%q) returned a result %+v", name, res)
		}
	}
	if n.Load() != 0 {
		t.Errorf("unknown names ran tools %d times, want 0", n.Load())
	}
	if _, err := r.Call(context.Background(), "search_logs", nil); err != nil {
		t.Fatalf("known tool: %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("known tool ran %d times, want 1", n.Load())
	}
}

func TestRegistryListAndByCategory(t *testing.T) {
	var n atomic.Int32
	mk := func(name string, c engine.ToolCategory) engine.Tool {
		tl := countingTool(name, &n)
		tl.Category = c
		return tl
	}
	r := engine.NewRegistry()
	if err := r.Add(mk("prom_query", engine.CategoryMetrics), mk("cloudwatch_get_metric_data", engine.CategoryMetrics),
		mk("loki_query", engine.CategoryLogs)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(toolNames(r.List()), []string{"cloudwatch_get_metric_data", "loki_query", "prom_query"}); diff != "" {
		t.Errorf("List (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(toolNames(r.ByCategory(engine.CategoryMetrics)), []string{"cloudwatch_get_metric_data", "prom_query"}); diff != "" {
		t.Errorf("ByCategory(metrics) (-got +want):\n%s", diff)
	}
	if got := r.ByCategory(engine.CategoryChanges); len(got) != 0 {
		t.Errorf("ByCategory(changes) = %v, want none", toolNames(got))
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in   string
		want engine.Duration
		err  bool
	}{
		{`"5m"`, engine.Duration(5 * 60e9), false},
		{`"1h30m"`, engine.Duration(90 * 60e9), false},
		{`90`, engine.Duration(90e9), false},
		{`0.5`, engine.Duration(0.5e9), false},
		{`"soon"`, 0, true},
		{`true`, 0, true},
	}
	for _, tt := range tests {
		var d engine.Duration
		err := json.Unmarshal([]byte(tt.in), &d)
		if (err != nil) != tt.err {
			t.Errorf("Unmarshal(%s) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if !tt.err && d != tt.want {
			t.Errorf("Unmarshal(%s) = %v, want %v", tt.in, d, tt.want)
		}
	}
	b, err := json.Marshal(engine.Duration(90 * 60e9))
	if err != nil || string(b) != `"1h30m0s"` {
		t.Errorf("Marshal(90m) = %s, %v", b, err)
	}
}
