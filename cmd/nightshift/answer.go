package main

import (
	"context"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/llm"
	"github.com/nightshift-ops/nightshift/store"
)

// answerer answers on-demand questions and follow-ups the same way for the
// CLI (`nightshift ask`) and chat: the space's read-only tools plus
// incident history, the investigation's report and the thread's memory.
type answerer struct {
	st    *store.Store
	model llms.Model
	llm   llm.Config
	envs  map[string]engine.Environment
}

// investigationContext reads an investigation's alerts and report.
func investigationContext(ctx context.Context, st *store.Store, space, inv string) (engine.Investigation, []engine.Alert, *engine.Report, error) {
	state, err := st.Investigation(ctx, space, inv)
	if err != nil {
		return engine.Investigation{}, nil, nil, err
	}
	links, err := st.Links(ctx, space, inv)
	if err != nil {
		return engine.Investigation{}, nil, nil, err
	}
	var alerts []engine.Alert
	for _, l := range links {
		if a, err := st.Alert(ctx, space, l.AlertID); err == nil {
			alerts = append(alerts, a)
		}
	}
	report, err := st.Report(ctx, space, inv)
	if err != nil {
		return engine.Investigation{}, nil, nil, err
	}
	return state.Investigation, alerts, report, nil
}

// answer answers question in space; inv makes it a follow-up (journaled as
// user_request and message_posted), thread keys the conversation memory.
func (a *answerer) answer(ctx context.Context, space, inv, thread, actor, question string) (engine.Answer, error) {
	var investigation engine.Investigation
	var alerts []engine.Alert
	var report *engine.Report
	if inv != "" {
		var err error
		if investigation, alerts, report, err = investigationContext(ctx, a.st, space, inv); err != nil {
			return engine.Answer{}, err
		}
	}
	reg := engine.NewRegistry()
	if envr := a.envs[space]; envr != nil {
		if r, err := envr.Tools(ctx, investigation, alerts); err == nil {
			reg = r
		}
	}
	if err := reg.Add(engine.HistoryTool(a.st, space)); err != nil {
		return engine.Answer{}, err
	}
	var js engine.RunStore
	if inv != "" {
		js = a.st // follow-ups are journaled in the investigation
	}
	task := engine.NewTask(space, investigation, alerts, reg, js, nil)
	ac := engine.AskContext{Task: task, Report: report, Question: question}
	if thread != "" {
		var err error
		if ac.Summary, ac.History, err = a.st.Conversation(ctx, space, thread); err != nil {
			return engine.Answer{}, err
		}
	}
	if inv != "" {
		task.Note(ctx, engine.EntryUserRequest, map[string]any{"actor": actor, "question": question})
	}
	asker := &engine.Asker{Model: a.model, ModelName: a.llm.Model, MaxSteps: a.llm.MaxSteps}
	ans, err := asker.Ask(ctx, ac)
	if err != nil {
		return engine.Answer{}, err
	}
	if thread != "" {
		now := time.Now()
		if err := a.st.AddTurns(ctx, space, thread, engine.Turn{Role: "user", Who: actor, Text: question, At: now},
			engine.Turn{Role: "assistant", Text: ans.Text, At: now}); err != nil {
			return engine.Answer{}, err
		}
	}
	if inv != "" {
		task.Note(ctx, engine.EntryMessagePosted, map[string]any{"intent": ans.Intent, "citations": ans.Citations, "chars": len(ans.Text)})
	}
	return ans, nil
}
