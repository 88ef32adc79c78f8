package engine

import (
	"context"
	"time"
)

// Root-cause categories: the fixed vocabulary of docs/SCENARIOS.md.
var Categories = []string{
	"bad-deploy", "config-change", "resource-limits", "memory-leak", "capacity", "dependency",
	"database", "network", "certificate", "quota", "disk-full", "feature-flag",
}

// Evidence is one observation that supports a hypothesis, citing the tool
// call it came from so that anyone can check it.
type Evidence struct {
	Kind     string    `json:"kind"` // metric, log, change, spec, rule, topology, alarm
	Resource string    `json:"resource"`
	Summary  string    `json:"summary"`
	At       time.Time `json:"at,omitzero"`
	Call     string    `json:"call,omitempty"` // the tool call behind it ("query_metrics#4")
	Weight   float64   `json:"weight,omitempty"`
}

// Hypothesis is one ranked candidate root cause.
type Hypothesis struct {
	Resource   string     `json:"resource"`
	Category   string     `json:"category"`
	Confidence float64    `json:"confidence"` // 0..1
	Statement  string     `json:"statement"`  // one sentence: what went wrong
	Evidence   []Evidence `json:"evidence"`
	Onset      time.Time  `json:"onset,omitzero"`
}

// PlanStep is one step of a mitigation plan.
type PlanStep struct {
	Action     string `json:"action"`
	Validation string `json:"validation"`
	Rollback   string `json:"rollback"`
	Risk       string `json:"risk"` // low, medium, high
}

// Cost is what an investigation spent.
type Cost struct {
	ToolCalls  int           `json:"tool_calls"`
	ModelCalls int           `json:"model_calls"`
	Tokens     int           `json:"tokens"`
	Wall       time.Duration `json:"wall"`
}

// Report is the outcome of an investigation: ranked hypotheses, the plan,
// what could not be checked, and what it cost.
type Report struct {
	Investigation string        `json:"investigation"`
	Title         string        `json:"title"`
	Summary       string        `json:"summary"` // the root cause in a few sentences
	Hypotheses    []Hypothesis  `json:"hypotheses"`
	Plan          []PlanStep    `json:"plan"`
	Gaps          []string      `json:"gaps"`
	Skills        []string      `json:"skills,omitempty"`
	Reasoner      string        `json:"reasoner"` // "evidence" or "llm:<model>"
	Notes         []string      `json:"notes,omitempty"`
	Cost          Cost          `json:"cost"`
	FirstFinding  time.Duration `json:"first_finding"` // from start to the first confirmed finding
	RootCause     time.Duration `json:"root_cause"`    // from start to the ranked root cause
	Incident      time.Time     `json:"incident"`      // t0: when the first alert fired
}

// Top returns the best hypothesis, or nil.
func (r *Report) Top() *Hypothesis {
	if r == nil || len(r.Hypotheses) == 0 {
		return nil
	}
	return &r.Hypotheses[0]
}

// EventKind names a progress event.
type EventKind string

// Progress event kinds, in the order an investigation usually emits them.
const (
	EventOpened   EventKind = "opened"   // a new investigation (its trigger alert)
	EventLinked   EventKind = "linked"   // another alert joined
	EventStatus   EventKind = "status"   // what it is doing now (replaces the previous status)
	EventFinding  EventKind = "finding"  // a confirmed finding
	EventReport   EventKind = "report"   // the final report
	EventResolved EventKind = "resolved" // all alerts resolved
	EventFailed   EventKind = "failed"   // the investigation could not finish
)

// Event is one progress event of one investigation.
type Event struct {
	Space         string    `json:"space"`
	Investigation string    `json:"investigation"`
	Kind          EventKind `json:"kind"`
	Phase         Phase     `json:"phase,omitempty"`
	Text          string    `json:"text,omitempty"`
	Alert         *Alert    `json:"alert,omitempty"`
	Finding       *Evidence `json:"finding,omitempty"`
	Report        *Report   `json:"report,omitempty"`
	Outcome       *Outcome  `json:"outcome,omitempty"`
	At            time.Time `json:"at"`
}

// Progress receives the events of investigations as they happen. Chat
// surfaces implement it; Emit must not block for long (buffer and coalesce).
type Progress interface {
	Emit(ctx context.Context, e Event)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(ctx context.Context, e Event)

// Emit calls f.
func (f ProgressFunc) Emit(ctx context.Context, e Event) { f(ctx, e) }

// Fanout sends every event to several sinks, in order.
type Fanout []Progress

// Emit implements Progress.
func (f Fanout) Emit(ctx context.Context, e Event) {
	for _, p := range f {
		if p != nil {
			p.Emit(ctx, e)
		}
	}
}
