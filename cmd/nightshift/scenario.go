package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/skills"
	"github.com/nightshift-ops/nightshift/engine/topology"
	"github.com/nightshift-ops/nightshift/integrations/llm"
	"github.com/nightshift-ops/nightshift/integrations/sandbox"
	"github.com/nightshift-ops/nightshift/store"
)

// sandboxEnv serves one scenario's tools to the runner.
type sandboxEnv struct{ env *sandbox.Env }

func (s sandboxEnv) Tools(context.Context, engine.Investigation, []engine.Alert) (*engine.Registry, error) {
	reg := engine.NewRegistry()
	if err := reg.Add(s.env.Tools()...); err != nil {
		return nil, err
	}
	return reg, nil
}

// graphOf builds the topology graph of a sandbox environment.
func graphOf(env *sandbox.Env) *topology.Graph {
	g := topology.New()
	for _, r := range env.Resources() {
		g.AddNode(topology.Node{ID: r.ID, Type: r.Type, Name: r.Name, Labels: r.Labels})
	}
	for _, e := range env.Edges() {
		g.AddEdge(e.From, e.To)
	}
	return g
}

// loadScenario finds a scenario by built-in name or file path.
func loadScenario(ref string) (sandbox.Loaded, error) {
	if strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml") || strings.ContainsRune(ref, os.PathSeparator) {
		sc, tr, err := sandbox.Load(ref)
		if err != nil {
			return sandbox.Loaded{}, err
		}
		return sandbox.Loaded{Path: ref, Scenario: sc, Truth: tr}, nil
	}
	all, err := sandbox.Builtin()
	if err != nil {
		return sandbox.Loaded{}, err
	}
	var names []string
	for _, l := range all {
		if l.Scenario.Name == ref {
			return l, nil
		}
		names = append(names, l.Scenario.Name)
	}
	return sandbox.Loaded{}, fmt.Errorf("no built-in scenario %q (have: %s)", ref, strings.Join(names, ", "))
}

// loadScenarios reads a folder, or the built-in library when dir is empty.
func loadScenarios(dir string) ([]sandbox.Loaded, error) {
	if dir == "" {
		return sandbox.Builtin()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return sandbox.LoadDir(abs)
}

// scenarioRun is the outcome of playing one scenario through the pipeline.
type scenarioRun struct {
	loaded         sandbox.Loaded
	investigations []string
	report         *engine.Report
	outcomes       []engine.Outcome
	wall           time.Duration
}

// investigationDelay is when, after the first alert, the simulated
// investigation runs: the telemetry it sees ends there, as it would live.
const investigationDelay = 5 * time.Minute

// world is one scenario played in an embedded store.
type world struct {
	loaded sandbox.Loaded
	store  *store.Store
	env    *sandbox.Env
	space  engine.Space
	log    *slog.Logger
	llm    llm.Config // provider none: the evidence reasoner alone
	model  llms.Model
}

func newWorld(l sandbox.Loaded, log *slog.Logger) (*world, error) {
	st, err := store.Open(store.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	sc := l.Scenario
	t0 := sc.IncidentAt
	env := sandbox.NewEnv(sc, t0, sandbox.WithClock(func() time.Time { return t0.Add(investigationDelay) }))
	space := engine.Space{Name: sc.Space, Correlation: engine.CorrelationConfig{}.WithDefaults(),
		Topology: engine.GraphNeighbourer{G: graphOf(env)}}
	return &world{loaded: l, store: st, env: env, space: space, log: log}, nil
}

func (w *world) Close() { w.store.Close() }

// deliver sends the scenario's alerts through intake and correlation, each
// at its scenario time, up to when the investigation runs.
func (w *world) deliver(ctx context.Context, onAlert func(engine.Alert, engine.Outcome)) ([]engine.Outcome, []string, error) {
	t0 := w.loaded.Scenario.IncidentAt
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	intake := engine.NewIntake(w.store, clock, w.log)
	var outs []engine.Outcome
	var opened []string
	for _, a := range w.env.Alerts() {
		if a.StartsAt.After(t0.Add(investigationDelay)) {
			continue // not fired yet when the investigation runs
		}
		mu.Lock()
		if a.Status == engine.AlertResolved {
			now = a.EndsAt
		} else {
			now = a.StartsAt
		}
		mu.Unlock()
		out, err := intake.Receive(ctx, w.space, a)
		if err != nil {
			return nil, nil, fmt.Errorf("deliver alert %q: %w", a.Title, err)
		}
		outs = append(outs, out)
		if out.Decision == engine.DecisionNew {
			opened = append(opened, out.Investigation)
		}
		if onAlert != nil {
			onAlert(a, out)
		}
	}
	if len(opened) == 0 {
		return nil, nil, fmt.Errorf("scenario %s: its alerts opened no investigation", w.loaded.Scenario.Name)
	}
	return outs, opened, nil
}

// investigate runs one investigation with the evidence reasoner.
func (w *world) investigate(ctx context.Context, id string, progress engine.Progress) (*engine.Report, error) {
	all := skills.Builtin()
	runner := engine.NewRunner(engine.RunnerOptions{
		Store:    w.store,
		Spaces:   []engine.RunSpace{{Name: w.space.Name, Env: sandboxEnv{w.env}, Skills: all}},
		Reasoner: reasonerOf(w.llm, w.model, all, w.log),
		Progress: progress,
		Log:      w.log,
	})
	return runner.Investigate(ctx, w.space.Name, id, false)
}

// playScenario delivers a scenario's alerts through intake and correlation
// into an embedded store, then runs the investigation of the first
// investigation they opened with the evidence reasoner.
func playScenario(ctx context.Context, l sandbox.Loaded, progress engine.Progress, log *slog.Logger, lc llm.Config, model llms.Model) (*scenarioRun, error) {
	start := time.Now()
	w, err := newWorld(l, log)
	if err != nil {
		return nil, err
	}
	w.llm, w.model = lc, model
	defer w.Close()
	outs, opened, err := w.deliver(ctx, nil)
	if err != nil {
		return nil, err
	}
	rep, err := w.investigate(ctx, opened[0], progress)
	if err != nil {
		return nil, err
	}
	return &scenarioRun{loaded: l, investigations: opened, report: rep, outcomes: outs, wall: time.Since(start)}, nil
}
