package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nightshift-ops/nightshift/engine/guard"
	"github.com/nightshift-ops/nightshift/engine/journal"
	"github.com/nightshift-ops/nightshift/engine/skills"
)

// Journal entry types written while investigating.
const (
	EntryPlanning      = "planning"
	EntryToolCall      = "tool_call"
	EntryObservation   = "observation"
	EntryFinding       = "finding"
	EntryRootCause     = "root_cause"
	EntryMitigation    = "mitigation"
	EntryModelCall     = "model_call"
	EntryInjection     = "injection_suspected"
	EntryUserRequest   = "user_request"
	EntryMessagePosted = "message_posted"
)

// Job is one queued investigation.
type Job struct {
	ID            string
	Space         string
	Investigation string
	Resumed       bool // taken over from a replica that did not finish it
}

// ErrNoJob says the queue had nothing within the wait.
var ErrNoJob = errors.New("no job queued")

// RunStore is the storage port of the Runner.
type RunStore interface {
	InvestigationReader
	NextJob(ctx context.Context, space, consumer string, block, stale time.Duration) (Job, error)
	AckJob(ctx context.Context, j Job) error
	Enqueue(ctx context.Context, space, id string) error
	SetPhase(ctx context.Context, space, id string, p Phase) error
	SaveReport(ctx context.Context, space, id string, r *Report) error
	Report(ctx context.Context, space, id string) (*Report, error)
	AppendJournal(ctx context.Context, space, id string, head journal.Head, entries []journal.Entry) error
}

// Environment is what a space offers an investigation: its read-only tools.
// The sandbox, AWS, Kubernetes and the rest implement it (in cmd, by
// combining integrations).
type Environment interface {
	Tools(ctx context.Context, inv Investigation, alerts []Alert) (*Registry, error)
}

// Reasoner ranks root causes and plans mitigation for one task.
type Reasoner interface {
	Reason(ctx context.Context, t *Task) (*Report, error)
}

// Budget caps what one investigation may spend.
type Budget struct {
	ToolCalls int           // default 200
	Wall      time.Duration // default 5m
	Tokens    int           // for model-driven reasoners; 0: unlimited
}

func (b Budget) withDefaults() Budget {
	if b.ToolCalls <= 0 {
		b.ToolCalls = 200
	}
	if b.Wall <= 0 {
		b.Wall = 5 * time.Minute
	}
	return b
}

// ErrBudget is returned by Task.Call when the tool-call budget is spent.
var ErrBudget = Errorf(CodeConflict, "tool-call budget spent")

// RunSpace is the runner's view of one space.
type RunSpace struct {
	Name   string
	Env    Environment
	Skills []skills.Skill // the space's skills (built-in plus its folders)
	Budget Budget
}

// Runner takes queued investigations and runs them: triage → gather →
// analyse → mitigate → report, journaling every step and emitting progress.
// Several runners (replicas) can share a store: each job goes to one of them,
// and a job left unfinished by a crashed replica is taken over and rerun
// (tools are read-only, so a rerun is safe).
type Runner struct {
	store    RunStore
	spaces   map[string]RunSpace
	indexes  map[string]*skills.Index
	reasoner Reasoner
	progress Progress
	log      *slog.Logger
	now      func() time.Time
	consumer string
	learned  LearnedSource
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	Store    RunStore
	Spaces   []RunSpace
	Reasoner Reasoner
	Progress Progress // may be nil
	Log      *slog.Logger
	Now      func() time.Time
	Consumer string // this replica's name in the work queue
	// Learned, when set, says what each space confirmed in feedback
	// before; skills it confirmed are tried first.
	Learned LearnedSource
}

// NewRunner builds a Runner.
func NewRunner(o RunnerOptions) *Runner {
	r := &Runner{store: o.Store, spaces: map[string]RunSpace{}, indexes: map[string]*skills.Index{},
		reasoner: o.Reasoner, progress: o.Progress, log: o.Log, now: o.Now, consumer: o.Consumer, learned: o.Learned}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.progress == nil {
		r.progress = ProgressFunc(func(context.Context, Event) {})
	}
	if r.consumer == "" {
		r.consumer = NewID("runner", time.Now())
	}
	for _, s := range o.Spaces {
		s.Budget = s.Budget.withDefaults()
		r.spaces[s.Name] = s
		r.indexes[s.Name] = skills.NewIndex(s.Skills)
	}
	return r
}

// staleAfter is how long a job may stay unacknowledged before another
// replica takes it over.
const staleAfter = 10 * time.Minute

// Run works the queues of every space until ctx ends: one goroutine per
// space, one investigation at a time each. It returns when all have stopped.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for name := range r.spaces {
		wg.Go(func() {
			for ctx.Err() == nil {
				job, err := r.store.NextJob(ctx, name, r.consumer, 2*time.Second, staleAfter)
				if errors.Is(err, ErrNoJob) {
					continue
				}
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					r.log.Error("read work queue; retrying", "space", name, "err", err)
					sleep(ctx, 2*time.Second)
					continue
				}
				if _, err := r.Investigate(ctx, job.Space, job.Investigation, job.Resumed); err != nil {
					r.log.Error("investigation failed", "space", name, "investigation", job.Investigation, "err", err)
				}
				if ctx.Err() != nil {
					return // not acknowledged: another replica (or the next start) resumes it
				}
				if err := r.store.AckJob(ctx, job); err != nil {
					r.log.Error("acknowledge job", "space", name, "err", err)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Investigate runs one investigation to its report and saves it.
func (r *Runner) Investigate(ctx context.Context, space, id string, resumed bool) (*Report, error) {
	sp, ok := r.spaces[space]
	if !ok {
		return nil, Errorf(CodeNotFound, "unknown space %q", space)
	}
	st, err := r.store.Investigation(ctx, space, id)
	if err != nil {
		return nil, err
	}
	links, err := r.store.Links(ctx, space, id)
	if err != nil {
		return nil, err
	}
	var alerts []Alert
	for _, l := range links {
		if l.Decision == DecisionUnlinked && !strings.HasPrefix(l.Reasons, "unlinked from") {
			continue // moved out of this investigation
		}
		a, err := r.store.Alert(ctx, space, l.AlertID)
		if err != nil {
			return nil, err
		}
		alerts = append(alerts, a)
	}
	if len(alerts) == 0 {
		return nil, fmt.Errorf("investigation %s has no alerts", id)
	}
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].StartsAt.Before(alerts[j].StartsAt) })

	start := r.now()
	budget := sp.Budget
	ctx, cancel := context.WithTimeout(ctx, budget.Wall)
	defer cancel()
	t := &Task{
		Space: space, Investigation: st.Investigation, Alerts: alerts, Incident: alerts[0].StartsAt,
		budget: budget, store: r.store, now: r.now, start: start, progress: r.progress, log: r.log,
	}
	emit := func(kind EventKind, phase Phase, text string) {
		r.progress.Emit(ctx, Event{Space: space, Investigation: id, Kind: kind, Phase: phase, Text: text, At: r.now()})
	}
	r.progress.Emit(ctx, Event{Space: space, Investigation: id, Kind: EventOpened, Phase: PhaseTriage,
		Alert: &alerts[0], Text: alerts[0].Title, At: r.now()})
	for _, a := range alerts[1:] {
		a := a
		r.progress.Emit(ctx, Event{Space: space, Investigation: id, Kind: EventLinked, Alert: &a, At: r.now()})
	}
	setPhase := func(p Phase, text string) {
		if err := r.store.SetPhase(ctx, space, id, p); err != nil {
			r.log.Warn("set phase", "investigation", id, "err", err)
		}
		emit(EventStatus, p, text)
	}

	setPhase(PhaseTriage, "Triaging "+alerts[0].Title)
	reg, err := sp.Env.Tools(ctx, st.Investigation, alerts)
	if err != nil {
		r.log.Warn("no tools for the investigation", "space", space, "investigation", id, "err", err)
		t.gap("no tools for this space: " + SafeError(err))
		reg = NewRegistry()
	}
	t.tools = reg
	var learned map[string]int
	if r.learned != nil {
		if learned, err = r.learned.Learned(ctx, space); err != nil {
			r.log.Warn("read learned feedback; going on without it", "space", space, "err", err)
		}
	}
	var first []string
	t.Skills, first = r.selectSkills(sp, alerts, learned)
	names := make([]string, len(t.Skills))
	for i, s := range t.Skills {
		names[i] = s.Name
	}
	planning := map[string]any{"step": "triage", "resumed": resumed, "alerts": len(alerts),
		"incident": t.Incident, "skills": names, "tools": len(reg.List())}
	if len(first) > 0 {
		planning["learned_first"] = first
	}
	t.Note(ctx, EntryPlanning, planning)

	t.setPhase = setPhase
	report, err := r.reasoner.Reason(ctx, t)
	if err != nil {
		setPhase(PhaseFailed, "Investigation failed: "+err.Error())
		r.progress.Emit(ctx, Event{Space: space, Investigation: id, Kind: EventFailed, Text: err.Error(), At: r.now()})
		t.Note(ctx, EntryObservation, map[string]any{"failed": err.Error()})
		return nil, err
	}
	report.Investigation = id
	report.Skills = names
	report.Gaps = append(t.gaps, report.Gaps...)
	report.Notes = append(report.Notes, t.injections...)
	if len(first) > 0 {
		report.Notes = append(report.Notes, "Tried first because this space confirmed them in earlier feedback: "+strings.Join(first, ", "))
	}
	RedactReport(report)
	report.Cost.ToolCalls = t.calls
	report.Cost.ModelCalls += t.modelCalls
	report.Cost.Tokens += t.tokens
	report.Cost.Wall = r.now().Sub(start)
	report.Incident = t.Incident
	if !t.firstFinding.IsZero() {
		report.FirstFinding = t.firstFinding.Sub(start)
	}
	report.RootCause = r.now().Sub(start)
	if top := report.Top(); top != nil {
		t.Note(ctx, EntryRootCause, map[string]any{"resource": top.Resource, "category": top.Category,
			"confidence": top.Confidence, "statement": top.Statement, "alternatives": len(report.Hypotheses) - 1})
	}
	t.Note(ctx, EntryMitigation, map[string]any{"steps": len(report.Plan), "plan": report.Plan})
	if err := r.store.SaveReport(ctx, space, id, report); err != nil {
		return nil, err
	}
	if err := r.store.SetPhase(ctx, space, id, PhaseDone); err != nil {
		r.log.Warn("set phase", "investigation", id, "err", err)
	}
	r.progress.Emit(ctx, Event{Space: space, Investigation: id, Kind: EventReport, Phase: PhaseReport, Report: report, At: r.now()})
	return report, nil
}

// selectSkills ranks the space's skills against the alerts (BM25) and keeps
// the few most relevant to root-cause analysis. Among the relevant ones,
// skills the space confirmed in feedback (learned["skill:NAME"] > 0) go
// first; they are returned as first.
func (r *Runner) selectSkills(sp RunSpace, alerts []Alert, learned map[string]int) (out []skills.Skill, first []string) {
	var q strings.Builder
	for _, a := range alerts {
		q.WriteString(a.Title + " " + a.Description + " " + strings.Join(a.Resources, " ") + " " + a.Service + " ")
		for k, v := range a.Labels {
			q.WriteString(k + " " + v + " ")
		}
	}
	const keep = 4
	matches := r.indexes[sp.Name].Select(q.String(), skills.AgentRCA, 2*keep)
	score := func(m skills.Match) int { return max(learned["skill:"+m.Skill.Name], 0) }
	sort.SliceStable(matches, func(i, j int) bool { return score(matches[i]) > score(matches[j]) })
	for i, m := range matches {
		if i == keep {
			break
		}
		out = append(out, m.Skill)
		if score(m) > 0 {
			first = append(first, m.Skill.Name)
		}
	}
	return out, first
}

// Task is one running investigation as a reasoner sees it: the alerts, the
// tools (every call journaled and counted against the budget), the selected
// skills, and ways to report progress. Safe for concurrent use.
type Task struct {
	Space         string
	Investigation Investigation
	Alerts        []Alert
	Incident      time.Time // t0: when the first alert began
	Skills        []skills.Skill

	tools    *Registry
	budget   Budget
	store    RunStore
	now      func() time.Time
	start    time.Time
	progress Progress
	setPhase func(Phase, string)
	log      *slog.Logger

	mu           sync.Mutex
	calls        int
	modelCalls   int
	tokens       int
	gaps         []string
	injections   []string
	firstFinding time.Time
}

// NewTask builds a task outside a Runner (tests, the LLM agent's ask mode).
func NewTask(space string, inv Investigation, alerts []Alert, tools *Registry, store RunStore, progress Progress) *Task {
	t := &Task{Space: space, Investigation: inv, Alerts: alerts, tools: tools, store: store, progress: progress,
		now: time.Now, start: time.Now(), budget: Budget{}.withDefaults(), log: slog.New(slog.DiscardHandler)}
	if len(alerts) > 0 {
		t.Incident = alerts[0].StartsAt
	}
	return t
}

// Tools lists the tools the task may call.
func (t *Task) Tools() []Tool { return t.tools.List() }

// ToolsOf lists the tools of one category.
func (t *Task) ToolsOf(c ToolCategory) []Tool { return t.tools.ByCategory(c) }

// Call runs a tool by name with args (a value marshalled to JSON, or
// json.RawMessage), journals it as tool_call with the arguments and a digest
// of the result, and returns the result and the call's reference
// ("query_metrics#12") for evidence to cite.
func (t *Task) Call(ctx context.Context, name string, args any) (Result, string, error) {
	raw, ok := args.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(args)
		if err != nil {
			return Result{}, "", fmt.Errorf("marshal %s arguments: %w", name, err)
		}
		raw = b
	}
	t.mu.Lock()
	if t.calls >= t.budget.ToolCalls {
		t.mu.Unlock()
		return Result{}, "", ErrBudget
	}
	t.calls++
	n := t.calls
	t.mu.Unlock()
	ref := fmt.Sprintf("%s#%d", name, n)
	res, err := t.tools.Call(ctx, name, raw)
	data := map[string]any{"call": ref, "tool": name, "args": json.RawMessage(raw)}
	if err != nil {
		data["error"] = SafeError(err)
	} else {
		sum := sha256.Sum256(res.Data)
		data["result_sha256"] = hex.EncodeToString(sum[:])
		data["summary"], _ = guard.Redact(res.Summary)
		data["bytes"] = len(res.Data)
	}
	t.Note(ctx, EntryToolCall, data)
	if err == nil {
		t.scan(ctx, ref, res)
	}
	return res, ref, err
}

// scan flags instructions aimed at an agent inside a tool result: they are
// data, never obeyed, but people should know someone planted them.
func (t *Task) scan(ctx context.Context, ref string, res Result) {
	found := guard.DetectInjection(res.Summary + "\n" + string(res.Data))
	if len(found) == 0 {
		return
	}
	excerpts := make([]string, 0, len(found))
	for _, f := range found {
		ex, _ := guard.Redact(f.Excerpt)
		excerpts = append(excerpts, ex)
	}
	t.Note(ctx, EntryInjection, map[string]any{"call": ref, "patterns": len(found), "excerpts": excerpts})
	quoted := make([]string, 0, len(excerpts))
	for i, ex := range excerpts {
		if i == 3 {
			break
		}
		quoted = append(quoted, fmt.Sprintf("%q", clip(ex, 120)))
	}
	msg := fmt.Sprintf("Suspected prompt injection in the result of %s (%d matches), treated as data and ignored: %s",
		ref, len(found), strings.Join(quoted, ", "))
	t.mu.Lock()
	t.injections = append(t.injections, msg)
	t.mu.Unlock()
}

// Status replaces the investigation's status line ("Checking metrics of 14 resources").
func (t *Task) Status(ctx context.Context, phase Phase, text string) {
	if t.setPhase != nil {
		t.setPhase(phase, text)
		return
	}
	t.progress.Emit(ctx, Event{Space: t.Space, Investigation: t.Investigation.ID, Kind: EventStatus, Phase: phase, Text: text, At: t.now()})
}

// Finding reports a confirmed finding: journaled and streamed.
func (t *Task) Finding(ctx context.Context, ev Evidence) {
	ev.Summary, _ = guard.Redact(ev.Summary)
	t.mu.Lock()
	if t.firstFinding.IsZero() {
		t.firstFinding = t.now()
	}
	t.mu.Unlock()
	t.Note(ctx, EntryFinding, ev)
	if t.progress != nil {
		e := ev
		t.progress.Emit(ctx, Event{Space: t.Space, Investigation: t.Investigation.ID, Kind: EventFinding, Finding: &e, Text: ev.Summary, At: t.now()})
	}
}

// Gap records something the investigation could not inspect, and why.
func (t *Task) Gap(msg string) { t.gap(msg) }

func (t *Task) gap(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, g := range t.gaps {
		if g == msg {
			return
		}
	}
	t.gaps = append(t.gaps, msg)
}

// ModelUsage adds one model call's tokens to the task's cost.
func (t *Task) ModelUsage(tokens int) {
	t.mu.Lock()
	t.modelCalls++
	t.tokens += tokens
	t.mu.Unlock()
}

// Budget returns the task's budget.
func (t *Task) Budget() Budget { return t.budget }

// Note appends a journal entry of type typ with data. A failure is logged,
// never fatal to the investigation.
func (t *Task) Note(ctx context.Context, typ string, data any) {
	if t.store == nil {
		return
	}
	if err := AppendEntry(ctx, t.store, t.Space, t.Investigation.ID, typ, "reasoner", data, t.now()); err != nil {
		t.log.Warn("journal entry", "investigation", t.Investigation.ID, "type", typ, "err", err)
	}
}

// RedactReport masks secrets and personal data in every text of a report
// before it reaches a chat message, the store or the read API.
func RedactReport(r *Report) {
	red := func(s *string) { *s, _ = guard.Redact(*s) }
	red(&r.Summary)
	red(&r.Title)
	for i := range r.Hypotheses {
		h := &r.Hypotheses[i]
		red(&h.Statement)
		for j := range h.Evidence {
			red(&h.Evidence[j].Summary)
		}
	}
	for i := range r.Plan {
		red(&r.Plan[i].Action)
		red(&r.Plan[i].Validation)
		red(&r.Plan[i].Rollback)
	}
	for i := range r.Gaps {
		red(&r.Gaps[i])
	}
	for i := range r.Notes {
		red(&r.Notes[i])
	}
}

// JournalStore is what appending to a journal needs.
type JournalStore interface {
	Investigation(ctx context.Context, space, id string) (InvestigationState, error)
	AppendJournal(ctx context.Context, space, id string, head journal.Head, entries []journal.Entry) error
}

// AppendEntry seals and appends one journal entry to an investigation,
// rereading the head and resealing when another writer (intake linking an
// alert, another replica) appended first.
func AppendEntry(ctx context.Context, js JournalStore, space, id, typ, actor string, data any, at time.Time) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("journal entry %s: %w", typ, err)
	}
	for attempt := 1; ; attempt++ {
		st, err := js.Investigation(ctx, space, id)
		if err != nil {
			return err
		}
		e, _, err := journal.Seal(st.Head, journal.Entry{Time: at, Type: typ, Actor: actor, Data: b})
		if err != nil {
			return err
		}
		err = js.AppendJournal(ctx, space, id, st.Head, []journal.Entry{e})
		if err == nil || !errors.Is(err, ErrConflict) || attempt >= maxAttempts {
			return err
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}
