package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/engine"
)

// op is one call a recordingPoster received.
type op struct {
	Kind    string // "post" or "update"
	Channel string
	Thread  string // post: the thread replied in; update: the edited message's thread
	ID      string // post: the new message's id; update: the edited message's id
	Text    string // the message's header and text
}

// recordingPoster is a bot.Poster that records every call and can be told
// to fail.
type recordingPoster struct {
	mu   sync.Mutex
	ops  []op
	msgs []bot.Message
	next int
	fail func(op) error
}

func (p *recordingPoster) Post(_ context.Context, channel, thread string, m bot.Message) (bot.Ref, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := op{Kind: "post", Channel: channel, Thread: thread, Text: msgText(m)}
	if p.fail != nil {
		if err := p.fail(o); err != nil {
			return bot.Ref{}, err
		}
	}
	p.next++
	o.ID = fmt.Sprintf("%s-%d", channel, p.next)
	p.ops = append(p.ops, o)
	p.msgs = append(p.msgs, m)
	return bot.Ref{Channel: channel, ID: o.ID, Thread: thread}, nil
}

func (p *recordingPoster) Update(_ context.Context, ref bot.Ref, m bot.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := op{Kind: "update", Channel: ref.Channel, Thread: ref.Thread, ID: ref.ID, Text: msgText(m)}
	if p.fail != nil {
		if err := p.fail(o); err != nil {
			return err
		}
	}
	p.ops = append(p.ops, o)
	p.msgs = append(p.msgs, m)
	return nil
}

func (p *recordingPoster) Ops() []op {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]op(nil), p.ops...)
}

func (p *recordingPoster) Messages() []bot.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bot.Message(nil), p.msgs...)
}

func (p *recordingPoster) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ops, p.msgs = nil, nil
}

func msgText(m bot.Message) string {
	if m.Header != "" {
		return m.Header + " | " + m.Text
	}
	return m.Text
}

var _ bot.Poster = (*recordingPoster)(nil)

// channels maps the space "shop" to the channel C-INC; other spaces have none.
func channels(space string) string {
	if space == "shop" {
		return "C-INC"
	}
	return ""
}

func triggerAlert() *engine.Alert {
	return &engine.Alert{ID: "al_1", Source: engine.SourceAlertmanager, Title: "CheckoutLatencyHigh: p99 above 1s",
		Severity: engine.SeverityCritical, Resources: []string{"k8s/shop/deployment/checkout"}, Region: "eu-west-1"}
}

func ev(kind engine.EventKind, phase engine.Phase, text string) engine.Event {
	return engine.Event{Space: "shop", Investigation: "inv_1", Kind: kind, Phase: phase, Text: text}
}

func opened() engine.Event {
	e := ev(engine.EventOpened, engine.PhaseTriage, "CheckoutLatencyHigh: p99 above 1s")
	e.Alert = triggerAlert()
	return e
}

func finding(summary string) engine.Event {
	e := ev(engine.EventFinding, "", summary)
	e.Finding = &engine.Evidence{Kind: "metric", Resource: "aws/rds/orders-db", Summary: summary, Call: "query_metrics#5"}
	return e
}

func statusText(phase engine.Phase, text string) string { return bot.StatusMessage(phase, text).Text }

func TestThreadsOpenedPostsParentAndStatus(t *testing.T) {
	p := &recordingPoster{}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels})
	ctx := context.Background()
	th.Emit(ctx, opened())

	want := []op{
		{Kind: "post", Channel: "C-INC", Thread: "", ID: "C-INC-1", Text: msgText(bot.ParentMessage("inv_1", triggerAlert(), 0))},
		{Kind: "post", Channel: "C-INC", Thread: "C-INC-1", ID: "C-INC-2", Text: statusText(engine.PhaseTriage, "Investigation started")},
	}
	if diff := cmp.Diff(p.Ops(), want); diff != "" {
		t.Errorf("posts (-got +want):\n%s", diff)
	}
	ref, ok := th.ThreadOf("inv_1")
	if !ok || ref.ID != "C-INC-1" || ref.Channel != "C-INC" {
		t.Errorf("ThreadOf = %+v, %v", ref, ok)
	}

	// A rerun of the same investigation keeps its thread.
	p.reset()
	th.Emit(ctx, opened())
	if ops := p.Ops(); len(ops) != 0 {
		t.Errorf("a second opened event posted %+v", ops)
	}
}

func TestThreadsLinked(t *testing.T) {
	p := &recordingPoster{}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels})
	ctx := context.Background()
	th.Emit(ctx, opened())
	p.reset()

	second := &engine.Alert{ID: "al_2", Source: engine.SourceCloudWatch, Title: "orders-db DatabaseConnections > 700"}
	out := &engine.Outcome{AlertID: "al_2", Investigation: "inv_1", Decision: engine.DecisionLinked, Score: 0.8, Reasons: "topology neighbours, 2 min apart"}
	e := ev(engine.EventLinked, "", "")
	e.Alert, e.Outcome = second, out
	th.Emit(ctx, e)
	third := ev(engine.EventLinked, "", "")
	third.Alert = &engine.Alert{ID: "al_3", Source: engine.SourceDatadog, Title: "order-history p99"}
	th.Emit(ctx, third)

	want := []op{
		{Kind: "post", Channel: "C-INC", Thread: "C-INC-1", ID: "C-INC-3", Text: bot.LinkedMessage(second, out).Text},
		{Kind: "update", Channel: "C-INC", ID: "C-INC-1", Text: msgText(bot.ParentMessage("inv_1", triggerAlert(), 1))},
		{Kind: "post", Channel: "C-INC", Thread: "C-INC-1", ID: "C-INC-4", Text: bot.LinkedMessage(third.Alert, nil).Text},
		{Kind: "update", Channel: "C-INC", ID: "C-INC-1", Text: msgText(bot.ParentMessage("inv_1", triggerAlert(), 2))},
	}
	if diff := cmp.Diff(p.Ops(), want); diff != "" {
		t.Errorf("calls (-got +want):\n%s", diff)
	}
	msgs := p.Messages()
	if f := msgs[3].Fields; len(f) == 0 || f[len(f)-1] != (bot.Field{Title: "Linked alerts", Value: "2"}) {
		t.Errorf("parent fields after two links = %+v", f)
	}
	if b := msgs[0].Buttons; len(b) != 1 || b[0].ID != bot.ActionUnlink || b[0].Value != "al_2" {
		t.Errorf("linked message buttons = %+v, want one unlink of al_2", b)
	}
}

func TestThreadsCoalescesStatusEdits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &recordingPoster{}
		th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels, MinEditInterval: 2 * time.Second, Now: time.Now})
		ctx := context.Background()
		th.Emit(ctx, opened())
		p.reset()
		status := func(phase engine.Phase, text string) {
			th.Emit(ctx, ev(engine.EventStatus, phase, text))
			time.Sleep(300 * time.Millisecond)
		}
		update := func(phase engine.Phase, text string) op {
			return op{Kind: "update", Channel: "C-INC", Thread: "C-INC-1", ID: "C-INC-2", Text: statusText(phase, text)}
		}

		// The first edit goes out at once; the next ones inside the
		// interval are held back, the latest replacing the earlier.
		status(engine.PhaseTriage, "Triaging CheckoutLatencyHigh")
		status(engine.PhaseGather, "Mapping the topology")
		status(engine.PhaseGather, "Reading metrics of 4 resources")
		status(engine.PhaseGather, "Searching the logs")
		if diff := cmp.Diff(p.Ops(), []op{update(engine.PhaseTriage, "Triaging CheckoutLatencyHigh")}); diff != "" {
			t.Fatalf("edits inside the interval (-got +want):\n%s", diff)
		}

		// A finding flushes the held-back edit before it is posted.
		th.Emit(ctx, finding("DatabaseConnections rose from 118 to 796"))
		want := []op{
			update(engine.PhaseTriage, "Triaging CheckoutLatencyHigh"),
			update(engine.PhaseGather, "Searching the logs"),
			{Kind: "post", Channel: "C-INC", Thread: "C-INC-1", ID: "C-INC-3",
				Text: bot.FindingMessage(&engine.Evidence{Kind: "metric", Resource: "aws/rds/orders-db", Summary: "DatabaseConnections rose from 118 to 796"}).Text},
		}
		if diff := cmp.Diff(p.Ops(), want); diff != "" {
			t.Fatalf("after a finding (-got +want):\n%s", diff)
		}

		// The flush counted as an edit: the next status waits again.
		p.reset()
		status(engine.PhaseAnalyse, "Looking for anomaly onsets")
		if ops := p.Ops(); len(ops) != 0 {
			t.Fatalf("a status right after a flushed edit went out: %+v", ops)
		}
		// When the interval ends the held-back edit goes out by itself: a
		// quiet investigation does not show a stale status.
		time.Sleep(2 * time.Second)
		if diff := cmp.Diff(p.Ops(), []op{update(engine.PhaseAnalyse, "Looking for anomaly onsets")}); diff != "" {
			t.Fatalf("held-back edit at the end of the interval (-got +want):\n%s", diff)
		}
		// Once the interval has passed, a status goes out at once.
		p.reset()
		time.Sleep(2 * time.Second)
		status(engine.PhaseMitigate, "Writing the plan")
		if diff := cmp.Diff(p.Ops(), []op{update(engine.PhaseMitigate, "Writing the plan")}); diff != "" {
			t.Fatalf("a status after the interval (-got +want):\n%s", diff)
		}

		// Flush sends what is held back, once.
		p.reset()
		status(engine.PhaseMitigate, "Checking the plan")
		status(engine.PhaseMitigate, "Checking the plan again")
		th.Flush(ctx)
		th.Flush(ctx)
		if diff := cmp.Diff(p.Ops(), []op{update(engine.PhaseMitigate, "Checking the plan again")}); diff != "" {
			t.Errorf("Flush (-got +want):\n%s", diff)
		}
	})
}

func TestThreadsZeroIntervalEditsEveryTime(t *testing.T) {
	p := &recordingPoster{}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels})
	ctx := context.Background()
	th.Emit(ctx, opened())
	p.reset()
	for _, s := range []string{"a", "b", "c"} {
		th.Emit(ctx, ev(engine.EventStatus, engine.PhaseGather, s))
	}
	if n := len(p.Ops()); n != 3 {
		t.Errorf("%d edits for 3 statuses with no interval, want 3", n)
	}
}

func testReport() *engine.Report {
	return &engine.Report{Investigation: "inv_1", Reasoner: "evidence",
		Hypotheses: []engine.Hypothesis{{Resource: "aws/rds/orders-db", Category: "database", Confidence: 0.9, Statement: "orders-db ran out of connections."}},
		Plan:       []engine.PlanStep{{Action: "Kill idle sessions.", Validation: "Connections fall.", Rollback: "None.", Risk: "medium"}}}
}

func TestThreadsReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &recordingPoster{}
		th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels, MinEditInterval: time.Minute, Now: time.Now})
		ctx := context.Background()
		th.Emit(ctx, opened())
		th.Emit(ctx, ev(engine.EventStatus, engine.PhaseGather, "Reading metrics"))
		th.Emit(ctx, ev(engine.EventStatus, engine.PhaseMitigate, "Writing the plan")) // held back
		p.reset()
		rep := testReport()
		e := ev(engine.EventReport, engine.PhaseReport, "")
		e.Report = rep
		th.Emit(ctx, e)
		want := []op{
			{Kind: "update", Channel: "C-INC", Thread: "C-INC-1", ID: "C-INC-2", Text: statusText(engine.PhaseDone, "Root cause and plan posted below")},
			{Kind: "post", Channel: "C-INC", Thread: "C-INC-1", ID: "C-INC-3", Text: msgText(bot.ReportMessage(rep))},
		}
		if diff := cmp.Diff(p.Ops(), want); diff != "" {
			t.Errorf("report (-got +want):\n%s", diff)
		}
		// The held-back status was superseded by the report: nothing left to flush.
		p.reset()
		th.Flush(ctx)
		if ops := p.Ops(); len(ops) != 0 {
			t.Errorf("Flush after the report sent %+v", ops)
		}
	})
}

func TestThreadsFailedAndResolved(t *testing.T) {
	p := &recordingPoster{}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels})
	ctx := context.Background()
	th.Emit(ctx, opened())
	p.reset()
	th.Emit(ctx, ev(engine.EventFailed, "", "tool-call budget spent"))
	th.Emit(ctx, ev(engine.EventResolved, "", ""))
	want := []op{
		{Kind: "update", Channel: "C-INC", Thread: "C-INC-1", ID: "C-INC-2", Text: statusText(engine.PhaseFailed, "Investigation failed: tool-call budget spent")},
		{Kind: "update", Channel: "C-INC", ID: "C-INC-1", Text: msgText(bot.ResolvedParent("inv_1", triggerAlert()))},
	}
	if diff := cmp.Diff(p.Ops(), want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
}

func TestThreadsSpaceWithoutChannel(t *testing.T) {
	p := &recordingPoster{}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels, MinEditInterval: time.Second})
	ctx := context.Background()
	for _, kind := range []engine.EventKind{engine.EventOpened, engine.EventLinked, engine.EventStatus, engine.EventFinding,
		engine.EventReport, engine.EventFailed, engine.EventResolved} {
		e := ev(kind, engine.PhaseGather, "x")
		e.Space = "payments" // no channel on this platform
		e.Alert = triggerAlert()
		e.Finding = &engine.Evidence{Summary: "x"}
		e.Report = testReport()
		th.Emit(ctx, e)
	}
	th.Flush(ctx)
	if ops := p.Ops(); len(ops) != 0 {
		t.Errorf("posted for a space without a channel: %+v", ops)
	}
	if _, ok := th.ThreadOf("inv_1"); ok {
		t.Error("ThreadOf reports a thread for a space without a channel")
	}
}

func TestThreadsEventsBeforeOpenedPostNothing(t *testing.T) {
	p := &recordingPoster{}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels})
	ctx := context.Background()
	th.Emit(ctx, finding("x"))
	th.Emit(ctx, ev(engine.EventStatus, engine.PhaseGather, "x"))
	if ops := p.Ops(); len(ops) != 0 {
		t.Errorf("events of an investigation without a thread posted %+v", ops)
	}
}

func TestThreadsParentPostFails(t *testing.T) {
	p := &recordingPoster{fail: func(o op) error {
		if o.Kind == "post" && o.Thread == "" {
			return errors.New("slack: channel_not_found")
		}
		return nil
	}}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels})
	ctx := context.Background()
	th.Emit(ctx, opened())
	th.Emit(ctx, finding("x"))
	th.Emit(ctx, ev(engine.EventStatus, engine.PhaseGather, "x"))
	if ops := p.Ops(); len(ops) != 0 {
		t.Errorf("posted without a parent message: %+v", ops)
	}
	if _, ok := th.ThreadOf("inv_1"); ok {
		t.Error("ThreadOf reports a thread whose parent was never posted")
	}
	// The next opened event (a rerun) tries again.
	p.fail = nil
	th.Emit(ctx, opened())
	if ops := p.Ops(); len(ops) != 2 {
		t.Errorf("retry of the parent: %+v", ops)
	}
}

func TestThreadsConcurrentInvestigations(t *testing.T) {
	p := &recordingPoster{}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels, MinEditInterval: time.Millisecond})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			inv := fmt.Sprintf("inv_%d", i)
			o := opened()
			o.Investigation = inv
			th.Emit(ctx, o)
			for j := 0; j < 20; j++ {
				s := ev(engine.EventStatus, engine.PhaseGather, fmt.Sprint(j))
				s.Investigation = inv
				th.Emit(ctx, s)
			}
			f := finding("done")
			f.Investigation = inv
			th.Emit(ctx, f)
		})
	}
	wg.Wait()
	th.Flush(ctx)
	parents := 0
	threads := map[string]int{}
	for _, o := range p.Ops() {
		if o.Kind == "post" && o.Thread == "" {
			parents++
		}
		if o.Kind == "post" && strings.HasPrefix(o.Text, "🔎") {
			threads[o.Thread]++
		}
	}
	if parents != 8 || len(threads) != 8 {
		t.Errorf("%d parents and findings in %d threads, want 8 and 8", parents, len(threads))
	}
}
