package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/enginetest"
	"github.com/nightshift-ops/nightshift/engine/journal"
	"github.com/nightshift-ops/nightshift/engine/skills"
)

const (
	ordersDB     = "aws/rds/orders-db"
	checkout     = "k8s/shop/deployment/checkout"
	orderHistory = "k8s/shop/deployment/order-history"
	frontend     = "k8s/shop/deployment/frontend"
)

// ordersDBIncident is a PostgreSQL RDS instance whose connections saturate
// ten minutes before the first alert. Its two callers' latency rises a few
// minutes later, and so does the frontend's above them. Checkout was
// deployed thirty minutes before the database saturated: a red herring, as
// nothing of checkout moved when it went out.
func ordersDBIncident(t0 time.Time) (*enginetest.Static, []engine.Alert) {
	sat := t0.Add(-10 * time.Minute)
	slow := t0.Add(-7 * time.Minute)
	p99 := labels("quantile", "0.99")
	st := &enginetest.Static{
		Resources: []engine.ResourceInfo{
			{ID: frontend, Type: "k8s.deployment", Name: "frontend", Labels: labels("app.kubernetes.io/name", "frontend"),
				DependsOn: []string{checkout, orderHistory}},
			{ID: checkout, Type: "k8s.deployment", Name: "checkout", Labels: labels("app.kubernetes.io/name", "checkout"),
				DependsOn: []string{ordersDB},
				Spec: map[string]any{"replicas": 4, "template": map[string]any{"spec": map[string]any{"containers": []any{
					map[string]any{"name": "checkout", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:v2.14.1",
						"resources": map[string]any{"limits": map[string]any{"cpu": "1", "memory": "1Gi"}}},
				}}}}},
			{ID: orderHistory, Type: "k8s.deployment", Name: "order-history", DependsOn: []string{ordersDB}},
			{ID: ordersDB, Type: "aws.rds.instance", Name: "orders-db",
				Spec: map[string]any{"Engine": "postgres", "EngineVersion": "15.4", "DBInstanceClass": "db.r6g.large",
					"AllocatedStorage": 200, "DBParameterGroup": map[string]any{"max_connections": "800"}}},
		},
		Series: []engine.Series{
			synth(t0, ordersDB, "DatabaseConnections", ramp(118, 796, sat, sat.Add(2*time.Minute)), seriesOpt{unit: "Count", noise: 0.03}),
			synth(t0, ordersDB, "CPUUtilization", ramp(31, 44, sat, sat.Add(3*time.Minute)), seriesOpt{unit: "Percent", noise: 0.05}),
			synth(t0, ordersDB, "FreeableMemory", flat(5.1e9), seriesOpt{unit: "Bytes", noise: 0.005}),
			synth(t0, checkout, "http_request_duration_seconds", step(0.21, 2.6, slow), seriesOpt{labels: p99, unit: "s", noise: 0.06}),
			synth(t0, checkout, "http_requests_total", flat(140), seriesOpt{labels: labels("code", "200"), noise: 0.04}),
			synth(t0, checkout, "container_cpu_usage_seconds_total", flat(0.42), seriesOpt{labels: labels("container", "checkout"), noise: 0.05}),
			synth(t0, orderHistory, "http_request_duration_seconds", step(0.09, 1.7, slow.Add(30*time.Second)), seriesOpt{labels: p99, unit: "s", noise: 0.06}),
			synth(t0, orderHistory, "http_requests_total", flat(35), seriesOpt{labels: labels("code", "200"), noise: 0.05}),
			synth(t0, frontend, "http_request_duration_seconds", step(0.35, 2.9, slow.Add(time.Minute)), seriesOpt{labels: p99, unit: "s", noise: 0.06}),
			synth(t0, frontend, "http_requests_total", flat(180), seriesOpt{labels: labels("code", "200"), noise: 0.04}),
		},
		Changes: []engine.Change{
			{T: sat.Add(-30 * time.Minute), Resource: checkout, Kind: "deployment", Actor: "argocd",
				Summary: "rolled out checkout v2.14.1 (image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:v2.14.1)"},
		},
	}
	// Old noise that has been there all along.
	st.Logs = append(st.Logs, logsEvery(orderHistory, "warn", "slow query: SELECT * FROM orders WHERE customer_id = $1 took 1204 ms",
		t0.Add(-150*time.Minute), t0.Add(15*time.Minute), 7*time.Minute)...)
	// The database refusing connections, and a caller's pool timing out.
	st.Logs = append(st.Logs, logsEvery(ordersDB, "error", "FATAL:  sorry, too many clients already",
		sat.Add(90*time.Second), t0.Add(15*time.Minute), 20*time.Second)...)
	st.Logs = append(st.Logs, logsEvery(checkout, "error",
		"HikariPool-1 - Connection is not available, request timed out after 30000ms. (jdbc:postgresql://orders-db.c9akciq32xyz.eu-west-1.rds.amazonaws.com:5432/orders)",
		sat.Add(2*time.Minute), t0.Add(15*time.Minute), 15*time.Second)...)

	alerts := []engine.Alert{
		{ID: "al_checkout_p99", Source: engine.SourceAlertmanager, Title: "CheckoutLatencyHigh: p99 above 1s",
			Severity: engine.SeverityCritical, Status: engine.AlertFiring, Resources: []string{checkout}, Service: "checkout",
			Labels: labels("alertname", "CheckoutLatencyHigh", "namespace", "shop"), StartsAt: t0, ReceivedAt: t0},
		{ID: "al_history_p99", Source: engine.SourceAlertmanager, Title: "OrderHistoryLatencyHigh: p99 above 1s",
			Severity: engine.SeverityError, Status: engine.AlertFiring, Resources: []string{orderHistory}, Service: "order-history",
			Labels: labels("alertname", "OrderHistoryLatencyHigh", "namespace", "shop"), StartsAt: t0.Add(time.Minute), ReceivedAt: t0.Add(time.Minute)},
	}
	return st, alerts
}

type runFixture struct {
	store    *enginetest.Store
	tools    *enginetest.Static
	progress *enginetest.Recorder
	runner   *engine.Runner
	inv      engine.Investigation
}

func newRunFixture(t *testing.T, budget engine.Budget) *runFixture {
	t.Helper()
	t0 := time.Date(2026, 2, 3, 4, 30, 0, 0, time.UTC)
	st, alerts := ordersDBIncident(t0)
	store := enginetest.NewStore()
	inv := store.Open("shop", engine.Investigation{ID: "inv_orders", Title: alerts[0].Title, Severity: alerts[0].Severity,
		OpenedAt: t0, UpdatedAt: t0, LastAlertAt: alerts[1].ReceivedAt}, alerts...)
	rec := &enginetest.Recorder{}
	all := skills.Builtin()
	runner := engine.NewRunner(engine.RunnerOptions{
		Store:    store,
		Spaces:   []engine.RunSpace{{Name: "shop", Env: st.Env(), Skills: all, Budget: budget}},
		Reasoner: &engine.EvidenceReasoner{Checks: all},
		Progress: rec,
		Consumer: "test",
	})
	return &runFixture{store: store, tools: st, progress: rec, runner: runner, inv: inv}
}

// collapse folds runs of the same kind into one.
func collapse(kinds []engine.EventKind) []engine.EventKind {
	var out []engine.EventKind
	for _, k := range kinds {
		if len(out) == 0 || out[len(out)-1] != k {
			out = append(out, k)
		}
	}
	return out
}

var phaseOrder = map[engine.Phase]int{engine.PhaseTriage: 0, engine.PhaseGather: 1, engine.PhaseAnalyse: 2,
	engine.PhaseMitigate: 3, engine.PhaseReport: 4, engine.PhaseDone: 5}

func TestRunnerInvestigate(t *testing.T) {
	f := newRunFixture(t, engine.Budget{})
	ctx := context.Background()
	rep, err := f.runner.Investigate(ctx, "shop", f.inv.ID, false)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("events", func(t *testing.T) {
		evs := f.progress.Events()
		want := []engine.EventKind{engine.EventOpened, engine.EventLinked, engine.EventStatus, engine.EventFinding,
			engine.EventStatus, engine.EventReport}
		if diff := cmp.Diff(collapse(f.progress.Kinds()), want); diff != "" {
			t.Errorf("event kinds, runs folded (-got +want):\n%s", diff)
		}
		for i, e := range evs {
			if e.Space != "shop" || e.Investigation != f.inv.ID {
				t.Errorf("event %d (%s) is for %s/%s", i, e.Kind, e.Space, e.Investigation)
			}
			if e.At.IsZero() {
				t.Errorf("event %d (%s) has no time", i, e.Kind)
			}
		}
		if evs[0].Alert == nil || evs[0].Alert.ID != "al_checkout_p99" {
			t.Errorf("opened event carries alert %+v, want the trigger al_checkout_p99", evs[0].Alert)
		}
		if evs[1].Alert == nil || evs[1].Alert.ID != "al_history_p99" {
			t.Errorf("linked event carries alert %+v, want al_history_p99", evs[1].Alert)
		}
		last := -1
		for _, e := range evs {
			if e.Kind != engine.EventStatus {
				continue
			}
			p, ok := phaseOrder[e.Phase]
			if !ok {
				t.Errorf("status %q has unexpected phase %q", e.Text, e.Phase)
			}
			if p < last {
				t.Errorf("status %q (phase %s) goes back to an earlier phase", e.Text, e.Phase)
			}
			last = p
			if e.Text == "" {
				t.Errorf("status event of phase %s has no text", e.Phase)
			}
		}
		for _, e := range evs {
			if e.Kind == engine.EventFinding && (e.Finding == nil || e.Finding.Summary == "" || e.Text != e.Finding.Summary) {
				t.Errorf("finding event without its evidence: %+v", e)
			}
		}
		end := evs[len(evs)-1]
		if end.Report == nil || end.Report.Investigation != f.inv.ID {
			t.Errorf("report event carries %+v", end.Report)
		}
	})

	t.Run("report", func(t *testing.T) {
		top := rep.Top()
		if top == nil {
			t.Fatalf("no hypothesis; summary %q, gaps %q", rep.Summary, rep.Gaps)
		}
		if top.Resource != ordersDB || top.Category != "database" {
			t.Errorf("top hypothesis = %s (%s), want %s (database)\n%s", top.Resource, top.Category, ordersDB, describeReport(rep))
		}
		if len(rep.Hypotheses) > 1 && rep.Hypotheses[1].Confidence > top.Confidence {
			t.Errorf("runner-up confidence %v above the top's %v", rep.Hypotheses[1].Confidence, top.Confidence)
		}
		for _, h := range rep.Hypotheses {
			if h.Resource != checkout {
				continue
			}
			if h.Category == "bad-deploy" {
				t.Errorf("the red-herring deployment is checkout's category: %+v", h)
			}
			blamed := false
			for _, e := range h.Evidence {
				blamed = blamed || e.Kind == "topology" && e.Weight < 0 && strings.Contains(e.Summary, ordersDB)
			}
			if !blamed {
				t.Errorf("checkout's hypothesis does not say that %s went bad first:\n%s", ordersDB, describeEvidence(h.Evidence))
			}
		}
		if len(rep.Plan) == 0 {
			t.Error("report has no mitigation plan")
		}
		if rep.Investigation != f.inv.ID || rep.Reasoner != "evidence" || !rep.Incident.Equal(f.inv.OpenedAt) {
			t.Errorf("report identity: investigation %q reasoner %q incident %v", rep.Investigation, rep.Reasoner, rep.Incident)
		}
		if rep.Cost.ToolCalls != len(f.tools.Calls()) {
			t.Errorf("report counts %d tool calls, the tools saw %d", rep.Cost.ToolCalls, len(f.tools.Calls()))
		}
		saved, err := f.store.Report(ctx, "shop", f.inv.ID)
		if err != nil || saved == nil {
			t.Fatalf("saved report: %v, %v", saved, err)
		}
		if saved.Top() == nil || saved.Top().Resource != top.Resource {
			t.Errorf("saved report's top is %+v", saved.Top())
		}
		st, err := f.store.Investigation(ctx, "shop", f.inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase != engine.PhaseDone {
			t.Errorf("phase after the run = %q, want done", st.Phase)
		}
	})

	t.Run("journal", func(t *testing.T) {
		entries, err := f.store.Journal(ctx, "shop", f.inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := journal.Verify(entries); err != nil {
			t.Fatalf("journal does not verify: %v", err)
		}
		calls := f.tools.Calls()
		var toolCalls []map[string]any
		types := map[string]int{}
		for _, e := range entries {
			types[e.Type]++
			if e.Type != engine.EntryToolCall {
				continue
			}
			var d map[string]any
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatalf("tool_call entry %d: %v", e.Seq, err)
			}
			toolCalls = append(toolCalls, d)
		}
		if len(toolCalls) != len(calls) {
			t.Fatalf("journal has %d tool_call entries, the tools saw %d calls", len(toolCalls), len(calls))
		}
		for i, d := range toolCalls {
			c := calls[i]
			if d["tool"] != c.Tool {
				t.Errorf("tool_call %d names %v, call was %s", i, d["tool"], c.Tool)
			}
			sum := sha256.Sum256(c.Result.Data)
			if got := d["result_sha256"]; got != hex.EncodeToString(sum[:]) {
				t.Errorf("tool_call %d (%s) result_sha256 = %v, want the digest of what the tool returned", i, c.Tool, got)
			}
			if ref, _ := d["call"].(string); !strings.HasPrefix(ref, c.Tool+"#") {
				t.Errorf("tool_call %d reference %q", i, ref)
			}
			var args, sent any
			_ = json.Unmarshal(c.Args, &sent)
			b, _ := json.Marshal(d["args"])
			_ = json.Unmarshal(b, &args)
			if !cmp.Equal(args, sent) {
				t.Errorf("tool_call %d journals args %s, the tool got %s", i, b, c.Args)
			}
		}
		for _, typ := range []string{engine.EntryPlanning, engine.EntryFinding, engine.EntryRootCause, engine.EntryMitigation} {
			if types[typ] == 0 {
				t.Errorf("no %s entry in the journal (types: %v)", typ, types)
			}
		}
	})
}

func TestRunnerBudgetStopsToolCalls(t *testing.T) {
	f := newRunFixture(t, engine.Budget{ToolCalls: 3})
	rep, err := f.runner.Investigate(context.Background(), "shop", f.inv.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.tools.Calls()); n != 3 {
		t.Errorf("tools ran %d times with a budget of 3", n)
	}
	if rep.Cost.ToolCalls != 3 {
		t.Errorf("report counts %d tool calls, want 3", rep.Cost.ToolCalls)
	}
	if !slices.ContainsFunc(rep.Gaps, func(g string) bool { return strings.Contains(g, "budget") }) {
		t.Errorf("report gaps %q do not mention the spent budget", rep.Gaps)
	}
	entries, _ := f.store.Journal(context.Background(), "shop", f.inv.ID)
	n := 0
	for _, e := range entries {
		if e.Type == engine.EntryToolCall {
			n++
		}
	}
	if n != 3 {
		t.Errorf("journal has %d tool_call entries, want 3", n)
	}
	if err := journal.Verify(entries); err != nil {
		t.Errorf("journal: %v", err)
	}
}

func TestTaskCallBudget(t *testing.T) {
	st := &enginetest.Static{Resources: []engine.ResourceInfo{{ID: ordersDB}}}
	store := enginetest.NewStore()
	inv := store.Open("shop", engine.Investigation{ID: "inv_1"}, engine.Alert{ID: "al_1", Resources: []string{ordersDB}})
	task := engine.NewTask("shop", inv, nil, st.Registry(), store, &enginetest.Recorder{})
	ctx := context.Background()
	limit := task.Budget().ToolCalls
	if limit <= 0 {
		t.Fatalf("default budget allows %d calls", limit)
	}
	for i := 0; i < limit; i++ {
		if _, _, err := task.Call(ctx, enginetest.ToolDescribe, engine.DescribeQuery{Resource: ordersDB}); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, ref, err := task.Call(ctx, enginetest.ToolDescribe, engine.DescribeQuery{Resource: ordersDB})
	if !errors.Is(err, engine.ErrBudget) || ref != "" {
		t.Errorf("call past the budget: ref %q, error %v; want ErrBudget", ref, err)
	}
	if n := len(st.Calls()); n != limit {
		t.Errorf("tools ran %d times, want %d", n, limit)
	}
}

func TestTaskCallJournalsErrors(t *testing.T) {
	st := &enginetest.Static{Resources: []engine.ResourceInfo{{ID: ordersDB}}}
	store := enginetest.NewStore()
	inv := store.Open("shop", engine.Investigation{ID: "inv_1"}, engine.Alert{ID: "al_1", Resources: []string{ordersDB}})
	task := engine.NewTask("shop", inv, nil, st.Registry(), store, nil)
	ctx := context.Background()

	_, ref, err := task.Call(ctx, "restart_pod", map[string]string{"pod": "x"})
	if !errors.Is(err, engine.ErrToolNotFound) {
		t.Errorf("unknown tool: %v", err)
	}
	if ref != "restart_pod#1" {
		t.Errorf("reference %q", ref)
	}
	_, _, err = task.Call(ctx, enginetest.ToolDescribe, engine.DescribeQuery{Resource: "aws/rds/nope"})
	if engine.ErrorCode(err) != engine.CodeNotFound {
		t.Errorf("unknown resource: %v", err)
	}
	entries, _ := store.Journal(ctx, "shop", "inv_1")
	if len(entries) != 2 {
		t.Fatalf("journal has %d entries, want 2", len(entries))
	}
	for _, e := range entries {
		var d map[string]any
		_ = json.Unmarshal(e.Data, &d)
		if e.Type != engine.EntryToolCall || d["error"] == nil || d["result_sha256"] != nil {
			t.Errorf("failed call journaled as %s %s", e.Type, e.Data)
		}
	}
	if err := journal.Verify(entries); err != nil {
		t.Error(err)
	}
}

func TestRunnerUnknownSpaceAndInvestigation(t *testing.T) {
	f := newRunFixture(t, engine.Budget{})
	ctx := context.Background()
	if _, err := f.runner.Investigate(ctx, "nope", f.inv.ID, false); engine.ErrorCode(err) != engine.CodeNotFound {
		t.Errorf("unknown space: %v", err)
	}
	if _, err := f.runner.Investigate(ctx, "shop", "inv_missing", false); engine.ErrorCode(err) != engine.CodeNotFound {
		t.Errorf("unknown investigation: %v", err)
	}
	if n := len(f.progress.Events()); n != 0 {
		t.Errorf("%d events emitted for investigations that do not exist", n)
	}
	if n := len(f.tools.Calls()); n != 0 {
		t.Errorf("%d tool calls for investigations that do not exist", n)
	}
}

func TestRunnerReasonerFailure(t *testing.T) {
	t0 := time.Date(2026, 2, 3, 4, 30, 0, 0, time.UTC)
	st, alerts := ordersDBIncident(t0)
	store := enginetest.NewStore()
	inv := store.Open("shop", engine.Investigation{ID: "inv_fail", OpenedAt: t0}, alerts[0])
	rec := &enginetest.Recorder{}
	boom := errors.New("model provider unavailable")
	runner := engine.NewRunner(engine.RunnerOptions{Store: store, Progress: rec,
		Spaces:   []engine.RunSpace{{Name: "shop", Env: st.Env()}},
		Reasoner: reasonerFunc(func(context.Context, *engine.Task) (*engine.Report, error) { return nil, boom })})
	rep, err := runner.Investigate(context.Background(), "shop", inv.ID, false)
	if !errors.Is(err, boom) || rep != nil {
		t.Fatalf("Investigate = %v, %v; want the reasoner's error", rep, err)
	}
	kinds := collapse(rec.Kinds())
	if kinds[len(kinds)-1] != engine.EventFailed || slices.Contains(kinds, engine.EventReport) {
		t.Errorf("events %v, want to end with failed and carry no report", kinds)
	}
	if r, _ := store.Report(context.Background(), "shop", inv.ID); r != nil {
		t.Errorf("a failed run saved a report: %+v", r)
	}
	if st, _ := store.Investigation(context.Background(), "shop", inv.ID); st.Phase != engine.PhaseFailed {
		t.Errorf("phase = %q, want failed", st.Phase)
	}
}

func TestRunnerRunWorksQueue(t *testing.T) {
	f := newRunFixture(t, engine.Budget{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := f.store.Enqueue(ctx, "shop", f.inv.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.runner.Run(ctx) }()
	deadline := time.After(30 * time.Second)
	for {
		r, _ := f.store.Report(ctx, "shop", f.inv.ID)
		if r != nil && len(f.store.Pending("shop")) == 0 {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the queued investigation was not run and acknowledged")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

type reasonerFunc func(context.Context, *engine.Task) (*engine.Report, error)

func (f reasonerFunc) Reason(ctx context.Context, t *engine.Task) (*engine.Report, error) {
	return f(ctx, t)
}

func describeEvidence(evs []engine.Evidence) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  [%s %.2f] %s\n", e.Kind, e.Weight, e.Summary)
	}
	return b.String()
}

// describeReport renders a report's ranking for failure messages.
func describeReport(r *engine.Report) string {
	var b strings.Builder
	for i, h := range r.Hypotheses {
		b.WriteString(strings.Repeat(" ", 2))
		b.WriteString(h.Resource + " " + h.Category + " " + strings.TrimSpace(h.Statement))
		b.WriteString("\n")
		if i == 4 {
			break
		}
	}
	for _, g := range r.Gaps {
		b.WriteString("  gap: " + g + "\n")
	}
	return b.String()
}

// learnedMap is a LearnedSource with fixed counts.
type learnedMap map[string]int

func (l learnedMap) Learned(context.Context, string) (map[string]int, error) { return l, nil }

func TestRunnerTriesLearnedSkillsFirst(t *testing.T) {
	ctx := context.Background()
	f := newRunFixture(t, engine.Budget{})
	plain, err := f.runner.Investigate(ctx, "shop", f.inv.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Skills) < 2 {
		t.Fatalf("skills %v", plain.Skills)
	}
	// The space confirmed the last selected skill before (and rejected
	// the first): it moves to the front, and the report says why.
	last, first := plain.Skills[len(plain.Skills)-1], plain.Skills[0]
	g := newRunFixture(t, engine.Budget{})
	t0 := time.Date(2026, 2, 3, 4, 30, 0, 0, time.UTC)
	st, _ := ordersDBIncident(t0)
	g.runner = engine.NewRunner(engine.RunnerOptions{
		Store:    g.store,
		Spaces:   []engine.RunSpace{{Name: "shop", Env: st.Env(), Skills: skills.Builtin()}},
		Reasoner: &engine.EvidenceReasoner{Checks: skills.Builtin()},
		Learned:  learnedMap{"skill:" + last: 3, "skill:" + first: -2},
	})
	learned, err := g.runner.Investigate(ctx, "shop", g.inv.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if learned.Skills[0] != last {
		t.Errorf("skills %v: want %s first", learned.Skills, last)
	}
	noted := false
	for _, n := range learned.Notes {
		noted = noted || strings.Contains(n, last)
	}
	if !noted {
		t.Errorf("notes do not say %s was tried first: %v", last, learned.Notes)
	}
	// Learning reorders what is tried; it does not change the verdict here.
	if learned.Top().Resource != plain.Top().Resource {
		t.Errorf("root cause changed: %s vs %s", learned.Top().Resource, plain.Top().Resource)
	}
}
