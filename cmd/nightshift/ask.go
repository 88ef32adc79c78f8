package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

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
			if inv != "" && thread == "" {
				thread = inv
			}
			a := &answerer{st: st, model: model, llm: lc, envs: map[string]engine.Environment{space: envr}}
			ans, err := a.answer(ctx, space, inv, thread, "cli", question)
			if err != nil {
				return err
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
