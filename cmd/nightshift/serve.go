package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightshift-ops/nightshift/engine"
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
	store  *store.Store
	intake *engine.Intake
	server *server.Server
	log    *slog.Logger
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
	for _, sc := range cfg.Spaces {
		sources, err := buildSources(sc.Sources, log.With("space", sc.Name))
		if err != nil {
			return nil, fmt.Errorf("space %s: %w", sc.Name, err)
		}
		spaces[sc.Name] = server.Space{
			Space:   engine.Space{Name: sc.Name, Correlation: sc.Correlation.WithDefaults()},
			Sources: sources,
		}
	}
	srv := server.New(server.Options{
		Spaces: spaces,
		Intake: intake,
		Unlink: func(ctx context.Context, space, alertID, actor string) (engine.Outcome, error) {
			return intake.Unlink(ctx, st, space, alertID, actor)
		},
		Reader:   st,
		Store:    st,
		APIToken: cfg.API.Token,
		Log:      log,
	})
	return &app{store: st, intake: intake, server: srv, log: log}, nil
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
	err = a.server.Run(ctx, addr, 20*time.Second, ready)
	if err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("nightshift stopped")
	return nil
}
