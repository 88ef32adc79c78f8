package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/enginetest"
	"github.com/nightshift-ops/nightshift/integrations/llm/llmtest"
)

// staticReasoner returns a fixed report: the seed the agent starts from.
type staticReasoner struct{}

func (staticReasoner) Reason(context.Context, *engine.Task) (*engine.Report, error) {
	return &engine.Report{Reasoner: "evidence", Summary: "seed", Hypotheses: []engine.Hypothesis{{Resource: "db", Category: "database", Confidence: 0.6, Statement: "db slow"}}}, nil
}

type emptyEnv struct{}

func (emptyEnv) Tools(context.Context, engine.Investigation, []engine.Alert) (*engine.Registry, error) {
	return engine.NewRegistry(), nil
}

func runAgent(t *testing.T, a *engine.AgentReasoner) (*engine.Report, *enginetest.Store, string) {
	t.Helper()
	st := enginetest.NewStore()
	inv := st.Open("s", engine.Investigation{ID: "inv_1", OpenedAt: time.Now()},
		engine.Alert{ID: "al_1", Title: "db latency", Resources: []string{"db"}, StartsAt: time.Now()})
	r := engine.NewRunner(engine.RunnerOptions{Store: st, Spaces: []engine.RunSpace{{Name: "s", Env: emptyEnv{}}}, Reasoner: a})
	rep, err := r.Investigate(context.Background(), "s", inv.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	return rep, st, inv.ID
}

func TestAgentBudgets(t *testing.T) {
	tests := []struct {
		name  string
		agent func(*llmtest.Scripted) *engine.AgentReasoner
		want  string
	}{
		{"step budget", func(m *llmtest.Scripted) *engine.AgentReasoner {
			return &engine.AgentReasoner{Model: m, ModelName: "m", Seed: staticReasoner{}, MaxSteps: 2}
		}, "step budget of 2"},
		{"token budget", func(m *llmtest.Scripted) *engine.AgentReasoner {
			return &engine.AgentReasoner{Model: m, ModelName: "m", Seed: staticReasoner{}, MaxTokens: 1000}
		}, "token budget of 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := llmtest.NewScripted()
			for range 3 {
				m.AddReplies(llmtest.Tools(llmtest.Call("c", "drop_table", `{}`)).WithUsage(800, 10))
			}
			rep, st, id := runAgent(t, tt.agent(m))
			if rep.Reasoner != "evidence" || !strings.Contains(strings.Join(rep.Notes, " "), tt.want) {
				t.Fatalf("report: %s %q", rep.Reasoner, rep.Notes)
			}
			entries, _ := st.Journal(context.Background(), "s", id)
			calls, refused := 0, 0
			for _, e := range entries {
				switch e.Type {
				case engine.EntryModelCall:
					calls++
					if !strings.Contains(string(e.Data), `"prompt_tokens":800`) {
						t.Errorf("model_call without tokens: %s", e.Data)
					}
				case engine.EntryObservation:
					if strings.Contains(string(e.Data), "refused_tool") {
						refused++
					}
				}
			}
			if calls == 0 || refused == 0 {
				t.Errorf("journal: %d model calls, %d refusals", calls, refused)
			}
		})
	}
}
