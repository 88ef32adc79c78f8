package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/engine"
)

// flakyIntake is down for the first calls, like Redis during a failover.
type flakyIntake struct {
	down  int
	calls int
}

func (f *flakyIntake) Receive(_ context.Context, _ engine.Space, a engine.Alert) (engine.Outcome, error) {
	f.calls++
	if f.calls <= f.down {
		return engine.Outcome{}, engine.Unavailable("store alert", errors.New("connection refused"))
	}
	return engine.Outcome{AlertID: "al_1", Investigation: "inv_1", Decision: engine.DecisionNew}, nil
}

func (f *flakyIntake) Unlink(context.Context, engine.UnlinkStore, string, string, string) (engine.Outcome, error) {
	return engine.Outcome{}, nil
}

// An alert read from an alert channel was already acknowledged to the
// platform: while the store is down it is retried, not dropped.
func TestChannelAlertWaitsForTheStore(t *testing.T) {
	in := &flakyIntake{down: 3}
	c := &chatEngine{intake: in, spaces: map[string]chatSpace{"s": {space: engine.Space{Name: "s"}}}, platform: "slack",
		log: slog.New(slog.DiscardHandler), retryWait: 5e6}
	outs, err := c.ChannelAlerts(context.Background(), "s", bot.ChannelMessage{Channel: "C", ID: "1.1", FromApp: true, BotID: "B1",
		Author: "alertmanager", Text: "[FIRING:1] DiskFull (db-1 critical)\n*Alert:* DiskFull - `critical`\n*Details:*\n  • *alertname:* `DiskFull`\n  • *instance:* `db-1`\n"})
	if err != nil || len(outs) != 1 || outs[0].Investigation != "inv_1" {
		t.Fatalf("outcomes %+v, err %v", outs, err)
	}
	if in.calls != 4 {
		t.Errorf("%d intake calls, want 4 (three while down)", in.calls)
	}
	// Other errors are not retried.
	bad := &chatEngine{intake: &failingIntake{}, spaces: c.spaces, platform: "slack", log: c.log, retryWait: 5e6}
	if _, err := bad.ChannelAlerts(context.Background(), "s", bot.ChannelMessage{Channel: "C", ID: "1.2", FromApp: true, BotID: "B1",
		Author: "alertmanager", Text: "[FIRING:1] DiskFull (db-2 critical)\n*Alert:* DiskFull - `critical`\n"}); err == nil {
		t.Errorf("an invalid alert was not reported")
	}
}

type failingIntake struct{ flakyIntake }

func (f *failingIntake) Receive(context.Context, engine.Space, engine.Alert) (engine.Outcome, error) {
	f.calls++
	if f.calls > 1 {
		panic("retried an error that is not an outage")
	}
	return engine.Outcome{}, engine.Invalid("title", "required")
}
