package slacktest_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightshift-ops/nightshift/bot/slack/slacktest"
)

// TestSocketMode runs the real socketmode client against the fake: an
// app_mention envelope reaches the handler, whose ack reaches the fake.
func TestSocketMode(t *testing.T) {
	fake := slacktest.New(t)
	sm := socketmode.New(fake.Client())
	h := socketmode.NewSocketmodeHandler(sm)

	mentions := make(chan *slackevents.AppMentionEvent, 1)
	h.HandleEvents(slackevents.AppMention, func(evt *socketmode.Event, c *socketmode.Client) {
		c.Ack(*evt.Request, map[string]any{"ok": 1})
		mentions <- evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.AppMentionEvent)
	})
	h.HandleDefault(func(*socketmode.Event, *socketmode.Client) {})

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.RunEventLoopContext(ctx) })
	defer wg.Wait()
	defer cancel()

	err := fake.Send(map[string]any{
		"type": "events_api", "envelope_id": "env-1",
		"payload": map[string]any{
			"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A0TEST", "event_id": "Ev1",
			"event": map[string]any{"type": "app_mention", "user": "U1", "text": "<@U0BOT> why", "ts": "1700000000.000001", "channel": "C0INCIDENT"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-mentions:
		if ev.Channel != "C0INCIDENT" || ev.Text != "<@U0BOT> why" {
			t.Errorf("mention = %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never saw the mention")
	}
	ack, ok := fake.WaitAck("env-1", 10*time.Second)
	if !ok {
		t.Fatal("no ack for env-1")
	}
	var payload map[string]int
	if err := json.Unmarshal(ack.Payload, &payload); err != nil || payload["ok"] != 1 {
		t.Errorf("ack payload = %s (%v)", ack.Payload, err)
	}
	opens := fake.CallsTo("apps.connections.open")
	if len(opens) == 0 || opens[0].Token != slacktest.AppToken {
		t.Errorf("apps.connections.open calls = %+v, want one with the app token", opens)
	}
}

func TestWebAPI(t *testing.T) {
	fake := slacktest.New(t)
	api := fake.Client()
	ctx := t.Context()

	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.UserID != "U0BOT" || auth.BotID != "B0BOT" {
		t.Errorf("auth.test = %+v, %v", auth, err)
	}
	_, _, err = slack.New("xoxb-wrong-kind", slack.OptionAPIURL(fake.APIURL())).StartSocketModeContext(ctx)
	if err == nil {
		t.Error("apps.connections.open accepted a bot token")
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	fake.RateLimit("chat.postMessage", 1, 3*time.Second)
	_, _, err = api.PostMessageContext(ctx, "C1", slack.MsgOptionText("again", false))
	if rl, ok := err.(*slack.RateLimitedError); !ok || rl.RetryAfter != 3*time.Second {
		t.Errorf("rate-limited post = %v, want RateLimitedError{3s}", err)
	}
	if got := len(fake.CallsTo("chat.postMessage")); got != 2 {
		t.Errorf("%d chat.postMessage calls recorded, want 2", got)
	}
}
