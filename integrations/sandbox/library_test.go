package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// TestLibrary checks the rules of SCENARIOS.md that a loader cannot: the
// built-in library covers the categories, every incident starts with its
// first alert at incident_at, and every scenario carries a decoy.
func TestLibrary(t *testing.T) {
	ls, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cats := map[string]int{}
	for _, l := range ls {
		sc, tr := l.Scenario, l.Truth
		t.Run(sc.Name, func(t *testing.T) {
			cats[tr.Category]++
			if len(tr.MustMention) == 0 {
				t.Error("no must_mention stems")
			}
			if sc.Summary == "" || sc.Base != baseRetailStore {
				t.Error("no summary or not on the retail-store base")
			}
			first := slices.MinFunc(sc.Alerts, func(a, b AlertRule) int { return a.At.Compare(b.At) })
			if !first.At.Equal(sc.IncidentAt) {
				t.Errorf("first alert at %v, want incident_at %v", first.At, sc.IncidentAt)
			}
			// A decoy: a change to another resource than the root cause.
			decoy := false
			for _, c := range sc.Changes {
				decoy = decoy || c.Resource != tr.RootCause
			}
			if !decoy {
				t.Error("no change elsewhere than the root cause (a red herring)")
			}
			// The root cause shows in the evidence: a metric, log or change on it.
			shows := false
			for _, m := range sc.Metrics {
				shows = shows || m.Resource == tr.RootCause
			}
			for _, l := range sc.Logs {
				shows = shows || l.Resource == tr.RootCause
			}
			for _, c := range sc.Changes {
				shows = shows || c.Resource == tr.RootCause
			}
			if !shows {
				t.Error("nothing is observable on the root cause")
			}
			if len(sc.Metrics) < 10 {
				t.Errorf("%d metrics: a realistic incident shows more", len(sc.Metrics))
			}
		})
	}
	if len(ls) < 12 || len(cats) < 9 {
		t.Errorf("%d scenarios in %d categories, want at least 12 in 9: %v", len(ls), len(cats), cats)
	}
}

// TestLibraryServesWithFlatMemory loads and serves the whole library again
// and again: the heap after the later rounds must not grow past the first.
func TestLibraryServesWithFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	round := func() {
		ls, err := Builtin()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			e := NewEnv(l.Scenario, time.Now())
			investigate(t, e)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	round()
	round()
	before := heap()
	for range 5 {
		round()
	}
	after := heap()
	if after > before+2<<20 {
		t.Errorf("heap grew from %d to %d bytes over 5 rounds", before, after)
	}
}

// investigate queries every metric of every resource over the whole span,
// and the logs, changes and alarms, as an investigation would.
func investigate(t testing.TB, e *Env) int {
	tools := map[string]engine.Tool{}
	for _, tl := range e.Tools() {
		tools[tl.Name] = tl
	}
	span := e.Span()
	rng := fmt.Sprintf(`"start":%q,"end":%q`, span.Start.Format(time.RFC3339), span.End.Format(time.RFC3339))
	ctx := context.Background()
	n := 0
	do := func(name, args string) {
		r, err := tools[name].Call(ctx, json.RawMessage(args))
		if err != nil {
			t.Fatalf("%s %s: %v", name, args, err)
		}
		n += len(r.Data)
	}
	for _, r := range e.sc.Resources {
		if len(e.byRes[r.ID]) > 0 {
			do("query_metrics", fmt.Sprintf(`{"resource":%q,%s}`, r.ID, rng))
		}
	}
	do("search_logs", fmt.Sprintf(`{"level":"warn",%s}`, rng))
	do("list_changes", fmt.Sprintf(`{%s}`, rng))
	do("active_alarms", fmt.Sprintf(`{%s}`, rng))
	return n
}

// BenchmarkEnvInvestigateTools creates an Env for the largest built-in
// scenario and queries every metric of every resource through the tools.
func BenchmarkEnvInvestigateTools(b *testing.B) {
	ls, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	largest := ls[0].Scenario
	for _, l := range ls {
		if len(l.Scenario.Metrics) > len(largest.Metrics) {
			largest = l.Scenario
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		e := NewEnv(largest, time.Now())
		b.SetBytes(int64(investigate(b, e)))
	}
	b.ReportMetric(float64(len(largest.Metrics)), "series")
}

// BenchmarkEnvRecorded does the same for the largest recorded benchmark
// scenario, when the benchmark folder is present.
func BenchmarkEnvRecorded(b *testing.B) {
	ls, err := LoadDir(benchmarkDir)
	if err != nil || len(ls) == 0 {
		b.Skipf("no benchmark scenarios: %v", err)
	}
	largest, size := ls[0].Scenario, 0
	for _, l := range ls {
		n := 0
		for _, r := range l.Scenario.Recorded {
			for _, s := range r.Series {
				n += s.Len()
			}
		}
		if n > size {
			largest, size = l.Scenario, n
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		e := NewEnv(largest, largest.IncidentAt)
		b.SetBytes(int64(investigate(b, e)))
	}
	b.ReportMetric(float64(size), "points")
}
