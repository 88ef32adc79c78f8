package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/spf13/cobra"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/skills"
	"github.com/nightshift-ops/nightshift/integrations/alertmanager"
	"github.com/nightshift-ops/nightshift/integrations/cloudwatch"
	"github.com/nightshift-ops/nightshift/integrations/datadog"
	"github.com/nightshift-ops/nightshift/integrations/generic"
	"github.com/nightshift-ops/nightshift/integrations/grafana"
	"github.com/nightshift-ops/nightshift/integrations/pagerduty"
	"github.com/nightshift-ops/nightshift/server"
	"github.com/nightshift-ops/nightshift/store"
)

func serveCmd(e env) *cobra.Command {
	var configPath, listen string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: webhook intake, correlation, read API, metrics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := LoadConfig(configPath, e.getenv)
			if err != nil {
				return err
			}
			if listen != "" {
				cfg.Listen = listen
			}
			return serve(cmd.Context(), cfg, e, nil)
		},
	}
	c.Flags().StringVar(&configPath, "config", "nightshift.yaml", "configuration file")
	c.Flags().StringVar(&listen, "listen", "", "listen address, overriding the file's listen:")
	return c
}

// newLogger builds the process logger from the log: block.
func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// app is a running set of the server's parts, for serve and bench.
type app struct {
	store    *store.Store
	intake   *engine.Intake
	server   *server.Server
	runner   *engine.Runner
	log      *slog.Logger
	surfaces []*surface // chat surfaces that are configured
}

// build composes the server's parts from a configuration.
func build(cfg *Config, log *slog.Logger) (*app, error) {
	st, err := store.Open(cfg.Redis, log)
	if err != nil {
		return nil, err
	}
	a, err := buildWithStore(cfg, st, log)
	if err != nil {
		st.Close()
	}
	return a, err
}

// buildWithStore composes the server's parts around an open store.
func buildWithStore(cfg *Config, st *store.Store, log *slog.Logger) (*app, error) {
	intake := engine.NewIntake(st, nil, log)
	spaces := map[string]server.Space{}
	var runSpaces []engine.RunSpace
	var checks []skills.Skill
	envs := map[string]engine.Environment{}
	chatSpaces := map[string]chatSpace{}
	base := filepath.Dir(cfg.file)
	lc, err := (&llmFlags{}).resolve(cfg.LLM, os.Getenv)
	if err != nil {
		return nil, err
	}
	model, err := modelOf(context.Background(), lc)
	if err != nil {
		return nil, err
	}
	for _, sc := range cfg.Spaces {
		sources, err := buildSources(sc.Sources, log.With("space", sc.Name))
		if err != nil {
			return nil, fmt.Errorf("space %s: %w", sc.Name, err)
		}
		space := engine.Space{Name: sc.Name, Correlation: sc.Correlation.WithDefaults()}
		envr, graph, err := environmentOf(sc, cfg.file)
		if err != nil {
			return nil, fmt.Errorf("space %s: %w", sc.Name, err)
		}
		if graph != nil {
			space.Topology = engine.GraphNeighbourer{G: graph}
		}
		sk, err := spaceSkills(sc.Skills, base)
		if err != nil {
			return nil, fmt.Errorf("space %s: %w", sc.Name, err)
		}
		checks = sk
		envs[sc.Name] = envr
		chatSpaces[sc.Name] = chatSpace{space: space, env: envr, graph: graph}
		spaces[sc.Name] = server.Space{Space: space, Sources: sources}
		runSpaces = append(runSpaces, engine.RunSpace{Name: sc.Name, Env: envr, Skills: sk})
	}
	host, _ := os.Hostname()
	consumer := fmt.Sprintf("%s-%d", host, os.Getpid())
	a := &app{store: st, intake: intake, log: log}
	notify := &notifyingIntake{Intake: intake, st: st}
	deps := surfaceDeps{st: st, notify: notify, spaces: chatSpaces, envs: envs, consumer: consumer, log: log,
		answerer: &answerer{st: st, model: model, llm: lc, envs: envs}}
	var err2 error
	if a.surfaces, err2 = buildSurfaces(cfg, deps); err2 != nil {
		return nil, err2
	}
	progress := engine.Fanout{logProgress{log}}
	var chats engine.Fanout
	extra := map[string]http.Handler{}
	for _, sf := range a.surfaces {
		progress = append(progress, sf.threads)
		chats = append(chats, sf.threads)
		if sf.handler != nil {
			extra[sf.pattern] = sf.handler
		}
	}
	if len(chats) > 0 {
		notify.progress = chats
	}
	runner := engine.NewRunner(engine.RunnerOptions{
		Store:    st,
		Spaces:   runSpaces,
		Reasoner: reasonerOf(lc, model, checks, log),
		Progress: progress,
		Log:      log,
		Consumer: consumer,
		Learned:  st,
	})
	srv := server.New(server.Options{
		Spaces: spaces,
		Intake: notify,
		Unlink: func(ctx context.Context, space, alertID, actor string) (engine.Outcome, error) {
			return intake.Unlink(ctx, st, space, alertID, actor)
		},
		Reader:   st,
		Reports:  st,
		Store:    st,
		APIToken: cfg.API.Token,
		Log:      log,
		Extra:    extra,
	})
	a.server, a.runner = srv, runner
	return a, nil
}

// logProgress writes investigation progress to the log until a chat surface
// is configured.
type logProgress struct{ log *slog.Logger }

func (p logProgress) Emit(_ context.Context, e engine.Event) {
	switch e.Kind {
	case engine.EventReport:
		top := e.Report.Top()
		if top == nil {
			p.log.Info("investigation reported", "space", e.Space, "investigation", e.Investigation, "root_cause", "none")
			return
		}
		p.log.Info("investigation reported", "space", e.Space, "investigation", e.Investigation,
			"root_cause", top.Resource, "category", top.Category, "confidence", top.Confidence, "tool_calls", e.Report.Cost.ToolCalls)
	case engine.EventFinding:
		p.log.Info("finding", "space", e.Space, "investigation", e.Investigation, "finding", e.Text)
	case engine.EventStatus:
		p.log.Debug("status", "space", e.Space, "investigation", e.Investigation, "phase", e.Phase, "status", e.Text)
	case engine.EventFailed:
		p.log.Warn("investigation failed", "space", e.Space, "investigation", e.Investigation, "err", e.Text)
	}
}

// buildSources turns a space's sources: block into alert sources by URL name.
func buildSources(c SourcesConfig, log *slog.Logger) (map[string]engine.AlertSource, error) {
	out := map[string]engine.AlertSource{}
	add := func(name string, src engine.AlertSource, err error) error {
		if err != nil {
			return fmt.Errorf("source %s: %w", name, err)
		}
		out[name] = src
		return nil
	}
	var err error
	if c.PagerDuty != nil {
		w, e := pagerduty.NewWebhook(*c.PagerDuty)
		err = add(engine.SourcePagerDuty, w, e)
	}
	if c.Alertmanager != nil && err == nil {
		w, e := alertmanager.NewWebhook(*c.Alertmanager)
		err = add(engine.SourceAlertmanager, w, e)
	}
	if c.Grafana != nil && err == nil {
		w, e := grafana.NewWebhook(*c.Grafana)
		err = add(engine.SourceGrafana, w, e)
	}
	if c.Datadog != nil && err == nil {
		w, e := datadog.NewWebhook(*c.Datadog)
		err = add(engine.SourceDatadog, w, e)
	}
	if c.CloudWatch != nil && err == nil {
		w, e := cloudwatch.NewWebhook(*c.CloudWatch, cloudwatch.WithLogger(log))
		err = add(engine.SourceCloudWatch, w, e)
	}
	if c.Generic != nil && err == nil {
		w, e := generic.NewWebhook(*c.Generic)
		err = add(engine.SourceGeneric, w, e)
	}
	return out, err
}

// serve runs the server until ctx ends. ready, if set, receives the bound
// address once the listener is open (tests listen on port 0).
func serve(ctx context.Context, cfg *Config, e env, ready func(addr string)) error {
	log := newLogger(cfg.Log, e.stderr)
	store.SetLogger(log)
	a, err := build(cfg, log)
	if err != nil {
		return err
	}
	defer a.store.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := a.store.Ping(pctx); err != nil {
		// Not fatal: intake answers 503 until Redis is back, and senders retry.
		log.Error("store not reachable at start; webhooks get 503 until it is", "err", err)
	}
	cancel()
	addr := cfg.Listen
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	log.Info("nightshift serving", "version", version, "listen", addr, "spaces", len(cfg.Spaces), "embedded_store", a.store.Embedded())
	var g errgroup.Group
	rctx, stopRunner := context.WithCancel(ctx)
	g.Go(func() error { return a.runner.Run(rctx) })
	for _, sf := range a.surfaces {
		g.Go(func() error { return sf.run(rctx) })
	}
	err = a.server.Run(ctx, addr, 20*time.Second, func(bound string) {
		log.Info("listening", "bound", bound)
		if ready != nil {
			ready(bound)
		}
	})
	stopRunner()
	for _, sf := range a.surfaces {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		sf.threads.Flush(fctx)
		cancel()
	}
	if werr := g.Wait(); werr != nil && err == nil {
		err = werr
	}
	if err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("nightshift stopped")
	return nil
}
