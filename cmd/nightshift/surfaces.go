package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/nightshift-ops/nightshift/bot"
	slackbot "github.com/nightshift-ops/nightshift/bot/slack"
	"github.com/nightshift-ops/nightshift/bot/teams"
	"github.com/nightshift-ops/nightshift/bot/teams/botframework"
	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/store"
)

// surface is one configured chat platform: its threads (progress), its
// service (input) and how it runs.
type surface struct {
	platform string
	service  *bot.Service
	threads  *bot.Threads
	run      func(ctx context.Context) error
	pattern  string       // an HTTP route it serves ("POST /api/messages"), or ""
	handler  http.Handler // for pattern
}

// surfaceDeps is what every surface is built from.
type surfaceDeps struct {
	st       *store.Store
	notify   *notifyingIntake
	spaces   map[string]chatSpace
	envs     map[string]engine.Environment
	answerer *answerer
	consumer string
	log      *slog.Logger
}

func (d surfaceDeps) engine(platform string) *chatEngine {
	return &chatEngine{st: d.st, intake: d.notify, spaces: d.spaces, platform: platform, log: d.log, now: time.Now, answerer: d.answerer}
}

// buildSurfaces builds Slack and Teams when configured.
func buildSurfaces(cfg *Config, d surfaceDeps) ([]*surface, error) {
	var out []*surface
	for _, sc := range cfg.Spaces {
		if !cfg.Slack.Enabled() && sc.Slack != nil && len(sc.Slack.IncidentChannels)+len(sc.Slack.AlertChannels) > 0 {
			d.log.Warn("space binds Slack channels but slack: has no tokens; Slack is off", "space", sc.Name)
		}
		if !cfg.Teams.Enabled() && sc.Teams != nil && len(sc.Teams.IncidentChannels)+len(sc.Teams.AlertChannels) > 0 {
			d.log.Warn("space binds Teams channels but teams: has no app_id; Teams is off", "space", sc.Name)
		}
	}
	if cfg.Slack.Enabled() {
		out = append(out, buildSlack(cfg, d))
	}
	if cfg.Teams.Enabled() {
		sf, err := buildTeams(cfg, d)
		if err != nil {
			return nil, err
		}
		out = append(out, sf)
	}
	return out, nil
}

func editInterval(d time.Duration) time.Duration {
	if d == 0 {
		return 2 * time.Second
	}
	return d
}

func buildSlack(cfg *Config, d surfaceDeps) *surface {
	log := d.log.With("surface", "slack")
	opts := []slack.Option{slack.OptionAppLevelToken(cfg.Slack.AppToken)}
	if cfg.Slack.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.Slack.APIURL))
	}
	api := slack.New(cfg.Slack.BotToken, opts...)
	sb := slackbot.New(slackbot.Options{API: api, Dedup: d.st.FirstDelivery, Workers: cfg.Slack.Workers, Log: log})
	svc := bot.NewService(bot.ServiceOptions{Platform: "slack", Spaces: chatBindings(cfg, "slack"), Engine: d.engine("slack"),
		Poster: sb.Poster(), Index: d.st, MemberOf: sb.MemberOf, Log: log})
	threads := bot.NewThreads(bot.ThreadsOptions{Poster: sb.Poster(), Channel: svc.IncidentChannel,
		MinEditInterval: editInterval(cfg.Slack.EditInterval), Platform: "slack", Store: d.st, Owner: d.consumer,
		Chart: keyChart(d.st, d.envs, log), Stream: cfg.Slack.Streaming, Log: log})
	return &surface{platform: "slack", service: svc, threads: threads, run: func(ctx context.Context) error { return sb.Run(ctx, svc) }}
}

// serviceURLs implements teams.ServiceURLs: learned from activities (in
// Redis), else the space's configured service_url.
type serviceURLs struct {
	st       *store.Store
	fallback map[string]string // channel → the space's service_url
}

func (s serviceURLs) ServiceURL(ctx context.Context, channel string) (string, error) {
	v, err := s.st.ChatValue(ctx, "teams", "serviceurl:"+channel)
	if err != nil || v != "" {
		return v, err
	}
	return s.fallback[channel], nil
}

func (s serviceURLs) Remember(ctx context.Context, channel, serviceURL string) error {
	return s.st.SetChatValue(ctx, "teams", "serviceurl:"+channel, serviceURL, 90*24*time.Hour)
}

func buildTeams(cfg *Config, d surfaceDeps) (*surface, error) {
	log := d.log.With("surface", "teams")
	tc := cfg.Teams
	val, err := botframework.NewValidator(botframework.ValidatorConfig{AppID: tc.AppID, OpenIDMetadataURL: tc.OpenIDMetadataURL, Log: log})
	if err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	tokens, err := botframework.NewTokenSource(botframework.TokenSourceConfig{AppID: tc.AppID, AppSecret: tc.AppPassword,
		TenantID: tc.TenantID, TokenURL: tc.TokenURL, Log: log})
	if err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	conn, err := botframework.NewConnector(botframework.ConnectorConfig{Tokens: tokens, Log: log})
	if err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	urls := serviceURLs{st: d.st, fallback: map[string]string{}}
	for _, sc := range cfg.Spaces {
		if sc.Teams == nil {
			continue
		}
		for _, ch := range append(append([]string(nil), sc.Teams.IncidentChannels...), sc.Teams.AlertChannels...) {
			urls.fallback[ch] = sc.Teams.ServiceURL
		}
	}
	poster := teams.NewPoster(conn, urls, tc.TenantID)
	tb := teams.New(teams.Options{Validator: val, Poster: poster, URLs: urls, Dedup: d.st.FirstDelivery, Workers: tc.Workers, Log: log})
	graphTokens, err := botframework.NewTokenSource(botframework.TokenSourceConfig{AppID: tc.AppID, AppSecret: tc.AppPassword,
		TenantID: tc.TenantID, TokenURL: tc.TokenURL, Scope: teams.GraphScope, Log: log})
	if err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	groups := teams.NewGroups(graphTokens, tc.GraphURL, nil)
	svc := bot.NewService(bot.ServiceOptions{Platform: "teams", Spaces: chatBindings(cfg, "teams"), Engine: d.engine("teams"),
		Poster: poster, Index: d.st, MemberOf: groups.MemberOf, Log: log})
	threads := bot.NewThreads(bot.ThreadsOptions{Poster: poster, Channel: svc.IncidentChannel,
		MinEditInterval: editInterval(tc.EditInterval), Platform: "teams", Store: d.st, Owner: d.consumer,
		Chart: keyChart(d.st, d.envs, log), Log: log})
	return &surface{platform: "teams", service: svc, threads: threads, pattern: "POST /api/messages", handler: tb,
		run: func(ctx context.Context) error { return tb.Run(ctx, svc) }}, nil
}
