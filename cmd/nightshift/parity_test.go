package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/bot"
	slackbot "github.com/nightshift-ops/nightshift/bot/slack"
	"github.com/nightshift-ops/nightshift/bot/slack/slacktest"
	"github.com/nightshift-ops/nightshift/bot/teams"
	"github.com/nightshift-ops/nightshift/bot/teams/botframework"
	"github.com/nightshift-ops/nightshift/bot/teams/teamstest"
	"github.com/nightshift-ops/nightshift/engine"
)

// neutralRecorder records the platform-neutral messages a surface is asked
// to show, then hands them to the real poster.
type neutralRecorder struct {
	bot.Poster
	mu   sync.Mutex
	msgs []string // "post"/"update" and the message
}

func (n *neutralRecorder) rec(kind string, m bot.Message) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, fmt.Sprintf("%s %#v", kind, m))
}

func (n *neutralRecorder) Post(ctx context.Context, channel, thread string, m bot.Message) (bot.Ref, error) {
	n.rec("post", m)
	return n.Poster.Post(ctx, channel, thread, m)
}

func (n *neutralRecorder) Update(ctx context.Context, ref bot.Ref, m bot.Message) error {
	n.rec("update", m)
	return n.Poster.Update(ctx, ref, m)
}

type fixedURL string

func (f fixedURL) ServiceURL(context.Context, string) (string, error) { return string(f), nil }
func (f fixedURL) Remember(context.Context, string, string) error     { return nil }

// One investigation rendered to Slack and to Teams: the same neutral
// messages, in the same order, reach both real posters (and both fakes
// accept them).
func TestOneInvestigationSameMessagesOnSlackAndTeams(t *testing.T) {
	ctx := context.Background()
	l, err := loadScenario(defaultDemoScenario)
	if err != nil {
		t.Fatal(err)
	}
	w, err := newWorld(l, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	sf := slacktest.New(t)
	slackRec := &neutralRecorder{Poster: slackbot.NewPoster(sf.Client())}
	tf := teamstest.New(t, teamstest.Options{})
	o := tf.Options()
	tokens, err := botframework.NewTokenSource(botframework.TokenSourceConfig{AppID: o.AppID, AppSecret: o.AppPassword, TokenURL: tf.TokenURL()})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := botframework.NewConnector(botframework.ConnectorConfig{Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	teamsRec := &neutralRecorder{Poster: teams.NewPoster(conn, fixedURL(tf.ServiceURL()), o.TenantID)}

	onSlack := bot.NewThreads(bot.ThreadsOptions{Poster: slackRec, Channel: func(string) string { return "C0INCIDENT" }})
	onTeams := bot.NewThreads(bot.ThreadsOptions{Poster: teamsRec, Channel: func(string) string { return teamstest.DefaultChannelID }})
	_, opened, err := w.deliver(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.investigate(ctx, opened[0], engine.Fanout{onSlack, onTeams}); err != nil {
		t.Fatal(err)
	}
	if len(slackRec.msgs) < 4 {
		t.Fatalf("only %d messages", len(slackRec.msgs))
	}
	if d := cmp.Diff(slackRec.msgs, teamsRec.msgs); d != "" {
		t.Errorf("Slack and Teams were asked to show different things (-slack +teams):\n%s", d)
	}
	// And both platforms took every one of them.
	var slackOK, teamsOK int
	for _, c := range sf.Calls() {
		if c.Status == 200 {
			slackOK++
		}
	}
	for _, c := range tf.Calls() {
		if c.Status < 300 {
			teamsOK++
		}
	}
	if slackOK != len(slackRec.msgs) || teamsOK != len(teamsRec.msgs) {
		t.Errorf("accepted: slack %d of %d, teams %d of %d", slackOK, len(slackRec.msgs), teamsOK, len(teamsRec.msgs))
	}
}
