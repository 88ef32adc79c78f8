package enginetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/enginetest"
	"github.com/nightshift-ops/nightshift/engine/journal"
)

func seal(t *testing.T, head journal.Head, typ string) (journal.Entry, journal.Head) {
	t.Helper()
	e, h, err := journal.Seal(head, journal.Entry{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Type: typ, Actor: "test",
		Data: json.RawMessage(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	return e, h
}

func TestStoreAppendJournal(t *testing.T) {
	ctx := context.Background()
	s := enginetest.NewStore()
	s.Open("sp", engine.Investigation{ID: "inv_1"}, engine.Alert{ID: "al_1"})

	e1, h1 := seal(t, journal.Head{}, "a")
	e2, h2 := seal(t, h1, "b")
	if err := s.AppendJournal(ctx, "sp", "inv_1", journal.Head{}, []journal.Entry{e1, e2}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendJournal(ctx, "sp", "inv_1", journal.Head{}, []journal.Entry{e1}); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("append at a stale head: %v, want ErrConflict", err)
	}
	st, err := s.Investigation(ctx, "sp", "inv_1")
	if err != nil || st.Head != h2 {
		t.Fatalf("head = %+v, %v; want %+v", st.Head, err, h2)
	}

	e3, _ := seal(t, h2, "c")
	tampered := e3
	tampered.Type = "d"
	skipped, _ := seal(t, journal.Head{Seq: 5, Hash: h2.Hash}, "e")
	wrongPrev, _ := seal(t, h1, "f")
	wrongPrev.Seq = 3
	for name, e := range map[string]journal.Entry{"tampered": tampered, "sequence gap": skipped, "wrong prev_hash": wrongPrev} {
		if err := s.AppendJournal(ctx, "sp", "inv_1", h2, []journal.Entry{e}); err == nil || errors.Is(err, engine.ErrConflict) {
			t.Errorf("%s entry: %v, want a chain error", name, err)
		}
	}
	if err := s.AppendJournal(ctx, "sp", "inv_1", h2, []journal.Entry{e3}); err != nil {
		t.Fatal(err)
	}
	entries, _ := s.Journal(ctx, "sp", "inv_1")
	if len(entries) != 3 {
		t.Fatalf("journal has %d entries, want 3", len(entries))
	}
	if err := journal.Verify(entries); err != nil {
		t.Error(err)
	}
	// AppendEntry rereads the head, so two writers interleave cleanly.
	for i := 0; i < 3; i++ {
		if err := engine.AppendEntry(ctx, s, "sp", "inv_1", "note", "test", map[string]int{"i": i}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ = s.Journal(ctx, "sp", "inv_1")
	if err := journal.Verify(entries); err != nil || len(entries) != 6 {
		t.Errorf("after AppendEntry: %d entries, %v", len(entries), err)
	}
}

func TestStoreReadsAndReports(t *testing.T) {
	ctx := context.Background()
	s := enginetest.NewStore()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	inv := s.Open("sp", engine.Investigation{ID: "inv_1", OpenedAt: t0},
		engine.Alert{ID: "al_2", Status: engine.AlertFiring, StartsAt: t0.Add(time.Minute)},
		engine.Alert{ID: "al_1", Status: engine.AlertResolved, StartsAt: t0})
	if inv.Trigger != "al_2" || inv.AlertCount != 2 || inv.FiringCount != 1 || inv.Status != engine.StatusActive {
		t.Errorf("Open filled %+v", inv)
	}
	links, _ := s.Links(ctx, "sp", "inv_1")
	var ids []string
	for _, l := range links {
		ids = append(ids, l.AlertID+":"+string(l.Decision))
	}
	if diff := cmp.Diff(ids, []string{"al_1:linked", "al_2:new"}); diff != "" {
		t.Errorf("links in arrival order (-got +want):\n%s", diff)
	}
	if a, err := s.Alert(ctx, "sp", "al_1"); err != nil || a.Investigation != "inv_1" || a.Space != "sp" {
		t.Errorf("Alert = %+v, %v", a, err)
	}
	if _, err := s.Alert(ctx, "sp", "nope"); engine.ErrorCode(err) != engine.CodeNotFound {
		t.Errorf("missing alert: %v", err)
	}
	if _, err := s.Investigation(ctx, "other", "inv_1"); engine.ErrorCode(err) != engine.CodeNotFound {
		t.Errorf("investigation of another space: %v", err)
	}
	if err := s.SetPhase(ctx, "sp", "inv_1", engine.PhaseAnalyse); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Investigation(ctx, "sp", "inv_1"); st.Phase != engine.PhaseAnalyse {
		t.Errorf("phase = %q", st.Phase)
	}
	if r, err := s.Report(ctx, "sp", "inv_1"); r != nil || err != nil {
		t.Errorf("report before any: %v, %v", r, err)
	}
	want := &engine.Report{Investigation: "inv_1", Summary: "s", Hypotheses: []engine.Hypothesis{{Resource: "r", Category: "database"}}}
	if err := s.SaveReport(ctx, "sp", "inv_1", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Report(ctx, "sp", "inv_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("report round trip (-got +want):\n%s", diff)
	}
	list, _ := s.Investigations(ctx, "sp", engine.StatusResolved, 0)
	if len(list) != 0 {
		t.Errorf("resolved list = %v", list)
	}
}

func TestStoreJobs(t *testing.T) {
	ctx := context.Background()
	s := enginetest.NewStore()
	if _, err := s.NextJob(ctx, "sp", "c", 0, 0); !errors.Is(err, engine.ErrNoJob) {
		t.Errorf("empty queue: %v", err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = s.Enqueue(ctx, "sp", "inv_1")
	}()
	j, err := s.NextJob(ctx, "sp", "c", 5*time.Second, 0)
	if err != nil || j.Investigation != "inv_1" || j.Space != "sp" {
		t.Fatalf("NextJob = %+v, %v", j, err)
	}
	if p := s.Pending("sp"); len(p) != 1 {
		t.Errorf("pending = %v", p)
	}
	if err := s.AckJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if p := s.Pending("sp"); len(p) != 0 {
		t.Errorf("pending after ack = %v", p)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.NextJob(cctx, "sp", "c", time.Minute, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestStaticTools(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	s := &enginetest.Static{
		Resources: []engine.ResourceInfo{
			{ID: "lb", DependsOn: []string{"api"}},
			{ID: "api", DependsOn: []string{"db"}, Spec: map[string]any{"replicas": 2.0}},
			{ID: "db"},
		},
		Series: []engine.Series{
			{Resource: "api", Name: "cpu", Labels: map[string]string{"container": "app"}, Points: []engine.Point{{T: t0, V: 1}, {T: t0.Add(time.Hour), V: 2}}},
			{Resource: "api", Name: "cpu", Labels: map[string]string{"container": "proxy"}, Points: []engine.Point{{T: t0, V: 3}}},
		},
		Logs: []engine.LogEntry{
			{T: t0, Resource: "api", Level: "info", Message: "started"},
			{T: t0.Add(time.Minute), Resource: "api", Level: "error", Message: "Connection refused"},
			{T: t0.Add(2 * time.Minute), Resource: "db", Level: "warn", Message: "slow query"},
		},
	}
	reg := s.Registry()
	call := func(name string, args any, v any) error {
		b, _ := json.Marshal(args)
		res, err := reg.Call(ctx, name, b)
		if err != nil {
			return err
		}
		return json.Unmarshal(res.Data, v)
	}

	var mr engine.MetricsResult
	if err := call(enginetest.ToolMetrics, engine.MetricsQuery{Resource: "api", Labels: map[string]string{"container": "app"}, End: t0.Add(time.Minute)}, &mr); err != nil {
		t.Fatal(err)
	}
	if len(mr.Series) != 1 || len(mr.Series[0].Points) != 1 || mr.Series[0].Points[0].V != 1 {
		t.Errorf("metrics filtered by label and range = %+v", mr)
	}
	if err := call(enginetest.ToolMetrics, engine.MetricsQuery{Resource: "nope"}, &mr); engine.ErrorCode(err) != engine.CodeNotFound {
		t.Errorf("metrics of an unknown resource: %v", err)
	}

	var lr engine.LogsResult
	if err := call(enginetest.ToolLogs, engine.LogQuery{Level: "warn", Limit: 1}, &lr); err != nil {
		t.Fatal(err)
	}
	if lr.Total != 2 || len(lr.Entries) != 1 || lr.Entries[0].Message != "slow query" {
		t.Errorf("logs at warn, newest first, limit 1 = %+v", lr)
	}
	if err := call(enginetest.ToolLogs, engine.LogQuery{Pattern: "/refused$/"}, &lr); err != nil || lr.Total != 1 {
		t.Errorf("logs by regexp = %+v, %v", lr, err)
	}

	var tr engine.TopologyResult
	if err := call(enginetest.ToolTopology, engine.TopologyQuery{Resource: "lb"}, &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Resources) != 2 || len(tr.Edges) != 1 {
		t.Errorf("depth 1 around lb = %+v", tr)
	}
	if err := call(enginetest.ToolTopology, engine.TopologyQuery{Resource: "lb", Depth: 2}, &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Resources) != 3 || len(tr.Edges) != 2 {
		t.Errorf("depth 2 around lb = %+v", tr)
	}
	for _, r := range tr.Resources {
		if r.Spec != nil {
			t.Errorf("topology returned the spec of %s", r.ID)
		}
	}
	var ri engine.ResourceInfo
	if err := call(enginetest.ToolDescribe, engine.DescribeQuery{Resource: "api"}, &ri); err != nil || ri.Spec["replicas"] != 2.0 {
		t.Errorf("describe api = %+v, %v", ri, err)
	}
	if n := len(s.Calls()); n != 7 {
		t.Errorf("recorded %d calls, want 7", n)
	}
	for _, tl := range enginetest.StaticTools(s) {
		if !tl.ReadOnly {
			t.Errorf("%s is not read-only", tl.Name)
		}
	}
}
