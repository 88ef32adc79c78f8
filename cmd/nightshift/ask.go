package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/store"
)

func askCmd(e env) *cobra.Command {
	var configPath, space, inv, thread string
	var lf llmFlags
	c := &cobra.Command{
		Use:   `ask --config FILE --space S [--investigation ID] "question"`,
		Short: "Ask an on-demand SRE question answered from the space's read-only tools",
		Long: `Answers what /devops ask answers in chat: deployment and change history, active
alarms, resource configuration, topology ("what depends on orders-db?") and
incident history. Without a model a deterministic intent router answers these;
with one (llm: in the config, or --llm-* flags) any question works and the
answer cites the tool calls it used. With --investigation the question is a
follow-up in that investigation's thread: it is answered with the
investigation's report as context and remembered in the thread's
conversation (Redis), like a reply in Slack or Teams.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			question := strings.TrimSpace(strings.Join(args, " "))
			cfg, err := LoadConfig(configPath, e.getenv)
			if err != nil {
				return err
			}
			lc, err := lf.resolve(cfg.LLM, e.getenv)
			if err != nil {
				return err
			}
			model, err := modelOf(ctx, lc)
			if err != nil {
				return err
			}
			var sc *SpaceConfig
			for i := range cfg.Spaces {
				if cfg.Spaces[i].Name == space {
					sc = &cfg.Spaces[i]
				}
			}
			if sc == nil {
				return fmt.Errorf("--space: no space %q in %s", space, configPath)
			}
			if inv != "" && cfg.Redis.URL == "" {
				return errors.New("--investigation needs redis.url: the embedded store only lives inside a running serve")
			}
			log := slog.New(slog.DiscardHandler)
			st, err := store.Open(cfg.Redis, log)
			if err != nil {
				return err
			}
			defer st.Close()
			envr, _, err := environmentOf(*sc, cfg.file)
			if err != nil {
				return err
			}
			var investigation engine.Investigation
			var alerts []engine.Alert
			var report *engine.Report
			if inv != "" {
				state, err := st.Investigation(ctx, space, inv)
				if err != nil {
					return err
				}
				investigation = state.Investigation
				links, err := st.Links(ctx, space, inv)
				if err != nil {
					return err
				}
				for _, l := range links {
					if a, err := st.Alert(ctx, space, l.AlertID); err == nil {
						alerts = append(alerts, a)
					}
				}
				if report, err = st.Report(ctx, space, inv); err != nil {
					return err
				}
				if thread == "" {
					thread = inv
				}
			}
			reg, err := envr.Tools(ctx, investigation, alerts)
			if err != nil {
				reg = engine.NewRegistry()
			}
			if err := reg.Add(engine.HistoryTool(st, space)); err != nil {
				return err
			}
			var js engine.RunStore
			if inv != "" {
				js = st // follow-ups are journaled in the investigation
			}
			task := engine.NewTask(space, investigation, alerts, reg, js, nil)
			ac := engine.AskContext{Task: task, Report: report, Question: question}
			if thread != "" {
				if ac.Summary, ac.History, err = st.Conversation(ctx, space, thread); err != nil {
					return err
				}
			}
			if inv != "" {
				task.Note(ctx, engine.EntryUserRequest, map[string]any{"actor": "cli", "question": question})
			}
			asker := &engine.Asker{Model: model, ModelName: lc.Model, MaxSteps: lc.MaxSteps}
			ans, err := asker.Ask(ctx, ac)
			if err != nil {
				return err
			}
			if thread != "" {
				now := time.Now()
				if err := st.AddTurns(ctx, space, thread, engine.Turn{Role: "user", Who: "cli", Text: question, At: now},
					engine.Turn{Role: "assistant", Text: ans.Text, At: now}); err != nil {
					return err
				}
			}
			if inv != "" {
				task.Note(ctx, engine.EntryMessagePosted, map[string]any{"intent": ans.Intent, "citations": ans.Citations, "chars": len(ans.Text)})
			}
			fmt.Fprintln(e.stdout, ans.Text)
			return nil
		},
	}
	c.Flags().StringVar(&configPath, "config", "nightshift.yaml", "configuration file")
	c.Flags().StringVar(&space, "space", "", "space name")
	c.Flags().StringVar(&inv, "investigation", "", "ask in this investigation's thread (a follow-up with its context)")
	c.Flags().StringVar(&thread, "thread", "", "conversation thread id (default: the investigation)")
	lf.add(c)
	_ = c.MarkFlagRequired("space")
	return c
}
