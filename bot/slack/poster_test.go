package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/nightshift-ops/nightshift/bot"
	slackbot "github.com/nightshift-ops/nightshift/bot/slack"
	"github.com/nightshift-ops/nightshift/bot/slack/slacktest"
	"github.com/nightshift-ops/nightshift/engine"
)

// sent is what the fake should have received for m.
func sent(t *testing.T, m bot.Message, extra url.Values) url.Values {
	t.Helper()
	blocks, err := json.Marshal(slackbot.Blocks(m))
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{"blocks": {string(blocks)}, "text": {slackutilsx.EscapeMessage(slackbot.Fallback(m))}}
	for k, vs := range extra {
		v[k] = vs
	}
	return v
}

func TestPosterThread(t *testing.T) {
	fake := slacktest.New(t)
	p := slackbot.NewPoster(fake.Client())
	ctx := t.Context()

	alert := &engine.Alert{Title: "p99 < 1s & rising", Severity: engine.SeverityError, Source: engine.SourceGeneric}
	parentMsg := bot.ParentMessage("inv_1", alert, 0)
	parent, err := p.Post(ctx, "C0INCIDENT", "", parentMsg)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bot.Ref{Channel: "C0INCIDENT", ID: "1700000000.000100"}); parent != want {
		t.Errorf("parent ref = %+v, want %+v", parent, want)
	}
	statusMsg := bot.StatusMessage(engine.PhaseTriage, "Investigation started")
	status, err := p.Post(ctx, "C0INCIDENT", parent.ID, statusMsg)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bot.Ref{Channel: "C0INCIDENT", ID: "1700000000.000200", Thread: parent.ID}); status != want {
		t.Errorf("reply ref = %+v, want %+v", status, want)
	}
	doneMsg := bot.StatusMessage(engine.PhaseDone, "Root cause and plan posted below")
	if err := p.Update(ctx, status, doneMsg); err != nil {
		t.Fatal(err)
	}

	calls := fake.Calls()
	var methods []string
	for _, c := range calls {
		methods = append(methods, c.Method)
		if c.Token != slacktest.BotToken {
			t.Errorf("%s sent token %q, want the bot token", c.Method, c.Token)
		}
	}
	if diff := cmp.Diff(methods, []string{"chat.postMessage", "chat.postMessage", "chat.update"}); diff != "" {
		t.Fatalf("methods (-got +want):\n%s", diff)
	}
	want := []url.Values{
		sent(t, parentMsg, url.Values{"channel": {"C0INCIDENT"}}),
		sent(t, statusMsg, url.Values{"channel": {"C0INCIDENT"}, "thread_ts": {parent.ID}}),
		sent(t, doneMsg, url.Values{"channel": {"C0INCIDENT"}, "ts": {status.ID}}),
	}
	for i, c := range calls {
		if diff := cmp.Diff(c.Form, want[i]); diff != "" {
			t.Errorf("%s form (-got +want):\n%s", c.Method, diff)
		}
	}
	if got := calls[0].Form.Get("text"); got != "🟠 p99 &lt; 1s &amp; rising" {
		t.Errorf("fallback text not escaped: %q", got)
	}
}

func TestPosterRetriesRateLimit(t *testing.T) {
	fake := slacktest.New(t)
	p := slackbot.NewPoster(fake.Client())
	ref := bot.Ref{Channel: "C0INCIDENT", ID: "1700000000.000100"}

	fake.RateLimit("chat.update", 1, time.Second)
	start := time.Now()
	if err := p.Update(t.Context(), ref, bot.Message{Text: "step 2/5"}); err != nil {
		t.Fatalf("Update after one 429: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, before Retry-After: 1", d)
	}
	var status []int
	for _, c := range fake.CallsTo("chat.update") {
		status = append(status, c.Status)
	}
	if diff := cmp.Diff(status, []int{429, 200}); diff != "" {
		t.Errorf("chat.update answers (-got +want):\n%s", diff)
	}
}

func TestPosterGivesUpAfterThreeRetries(t *testing.T) {
	fake := slacktest.New(t)
	p := slackbot.NewPoster(fake.Client())

	fake.RateLimit("chat.postMessage", 10, 0)
	_, err := p.Post(t.Context(), "C0INCIDENT", "", bot.Message{Text: "hello"})
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("Post = %v, want a RateLimitedError", err)
	}
	if n := len(fake.CallsTo("chat.postMessage")); n != 4 {
		t.Errorf("%d attempts, want 1 + 3 retries", n)
	}
}

func TestPosterRateLimitWaitEndsWithContext(t *testing.T) {
	fake := slacktest.New(t)
	p := slackbot.NewPoster(fake.Client())

	fake.RateLimit("chat.update", 1, 30*time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Update(ctx, bot.Ref{Channel: "C0INCIDENT", ID: "1"}, bot.Message{Text: "x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Update = %v, want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("waited %v despite the context", d)
	}
}

// Many threads editing at once share the workspace's chat.update budget:
// past the burst, edits are spaced out instead of drawing 429s.
func TestPosterSpacesUpdatesAcrossThreads(t *testing.T) {
	fake := slacktest.New(t)
	p := slackbot.NewPoster(fake.Client())
	ctx := context.Background()
	start := time.Now()
	for i := range 12 {
		if err := p.Update(ctx, bot.Ref{Channel: "C1", ID: fmt.Sprintf("1.%d", i)}, bot.Message{Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	// A burst of 10, then one every 1.2 s: the 12th waits about 2.4 s.
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("12 updates took %v: not spaced", d)
	}
}
