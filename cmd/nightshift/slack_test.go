package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/bot/slack/slacktest"
	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/store"
)

const slackConfig = `
listen: 127.0.0.1:0
redis: {url: %q, prefix: %q}
api: {token: tok}
log: {level: debug}
slack: {app_token: xapp-test, bot_token: xoxb-test, api_url: %q, edit_interval: 50ms}
spaces:
  - name: retail-prod
    sources: {alertmanager: {token: am}}
    providers: {sandbox: {scenarios: builtin}}
    slack: {incident_channels: [C0INCIDENT], alert_channels: [C0ALERTS]}
    operators:
      - {slack: U0ALICE, role: operator}
      - {slack: S0ONCALL, role: admin}
      - {slack: U0VIEWER, role: viewer}
  - name: payments
    sources: {alertmanager: {token: am2}}
    slack: {incident_channels: [C0PAY]}
`

// replica is one `nightshift serve` running in the test process.
type replica struct {
	addr string
	logs *syncBuffer
	stop func()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startReplica runs `nightshift serve --config F` (the binary's code path)
// until the test ends.
func startReplica(t *testing.T, cfgPath string) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{logs: &syncBuffer{}}
	ready := make(chan string, 1)
	cfg, err := LoadConfig(cfgPath, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, env{getenv: os.Getenv, stdout: io.Discard, stderr: r.logs}, func(a string) { ready <- a })
	}()
	select {
	case r.addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, r.logs)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Errorf("serve did not stop")
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// slackEnv is a fake Slack, real Redis and a config file for it.
type slackEnv struct {
	fake   *slacktest.Server
	st     *store.Store
	cfg    string
	prefix string
}

func newSlackEnv(t *testing.T) *slackEnv {
	t.Helper()
	redisURL := testRedisURL(t)
	if redisURL == "" {
		t.Skip("the Slack end-to-end tests need a real Redis (replicas share it)")
	}
	fake := slacktest.New(t)
	fake.SetUser("U0ALICE", "alice", "Alice Example")
	fake.SetUserGroup("S0ONCALL", "U0BOB")
	prefix := fmt.Sprintf("slack:%d:", time.Now().UnixNano())
	path := filepath.Join(t.TempDir(), "nightshift.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(slackConfig, redisURL, prefix, fake.APIURL())), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Config{URL: redisURL, Prefix: prefix}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cleanup(context.Background(), st.Client(), prefix)
		st.Close()
	})
	return &slackEnv{fake: fake, st: st, cfg: path, prefix: prefix}
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// posts returns chat.postMessage calls in channel (thread "" = parents only,
// "*" = any).
func posts(fake *slacktest.Server, channel, thread string) []slacktest.Call {
	var out []slacktest.Call
	for _, c := range fake.CallsTo("chat.postMessage") {
		if c.Status != http.StatusOK || c.Form.Get("channel") != channel {
			continue
		}
		if thread == "*" || c.Form.Get("thread_ts") == thread {
			out = append(out, c)
		}
	}
	return out
}

func amAlert(name, resource, service string) []byte {
	return amAlertStatus(name, resource, service, "firing", "0a0b")
}

func amAlertStatus(name, resource, service, status, fp string) []byte {
	return []byte(fmt.Sprintf(`{"version":"4","status":%q,"receiver":"n","groupLabels":{},"commonLabels":{},"commonAnnotations":{},
"externalURL":"http://am","alerts":[{"status":%q,"labels":{"alertname":%q,"resource":%q,
"service":%q,"severity":"critical"},"annotations":{"summary":%q},"startsAt":%q,
"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom","fingerprint":%q}]}`, status, status, name, resource, service,
		name+" on "+service, time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), fp))
}

// tsOf returns the ts Slack answered a recorded postMessage with: the fake
// numbers them in order, so find it through the thread replies instead.
func threadTS(fake *slacktest.Server, channel string) string {
	for _, c := range fake.CallsTo("chat.postMessage") {
		if c.Form.Get("channel") == channel && c.Form.Get("thread_ts") != "" {
			return c.Form.Get("thread_ts")
		}
	}
	return ""
}

// reportTS finds the root-cause message: its ts is the one chat.update
// never edits and whose blocks carry the Accurate button; the fake echoes
// ts values, so it is read back from the store's index instead.
func reportTS(t *testing.T, e *slackEnv, inv string) string {
	t.Helper()
	f, err := e.st.ChatThread(context.Background(), "slack", "retail-prod", inv)
	if err != nil {
		t.Fatal(err)
	}
	return f["report"]
}

func journalOf(t *testing.T, addr, inv string) []struct {
	Type  string          `json:"type"`
	Actor string          `json:"actor"`
	Data  json.RawMessage `json:"data"`
} {
	var view struct {
		Journal []struct {
			Type  string          `json:"type"`
			Actor string          `json:"actor"`
			Data  json.RawMessage `json:"data"`
		} `json:"journal"`
	}
	getJSON(t, "http://"+addr+"/api/v1/spaces/retail-prod/investigations/"+inv, "tok", 200, &view)
	return view.Journal
}

func TestSlackEndToEnd(t *testing.T) {
	e := newSlackEnv(t)
	fake := e.fake
	// The first status edit is rate limited: it must still land, later.
	fake.RateLimit("chat.update", 1, time.Second)
	r := startReplica(t, e.cfg)
	if !fake.WaitConnections(1, 10*time.Second) {
		t.Fatalf("no Socket Mode connection\n%s", r.logs)
	}

	// 1. A webhook alert opens a thread: parent, status edits, findings,
	// the root cause with buttons, the chart.
	code, hr, _ := post(t, "http://"+r.addr+"/hooks/retail-prod/alertmanager",
		amAlert("OrdersOOM", "eks/retail/orders/deployment/orders", "orders"), map[string]string{"Authorization": "Bearer am"})
	if code != 200 || hr.Alerts[0].Decision != "new" {
		t.Fatalf("intake: %d %+v", code, hr)
	}
	inv := hr.Alerts[0].Investigation
	waitFor(t, 30*time.Second, "the root-cause message", func() bool { return reportTS(t, e, inv) != "" })
	parents := posts(fake, "C0INCIDENT", "")
	if len(parents) != 1 || !strings.Contains(parents[0].Form.Get("text"), "OrdersOOM") {
		t.Fatalf("parent messages: %+v", parents)
	}
	parent := threadTS(fake, "C0INCIDENT")
	replies := posts(fake, "C0INCIDENT", parent)
	var sawFinding, sawReport bool
	for _, c := range replies {
		sawFinding = sawFinding || strings.Contains(c.Form.Get("text"), "Finding")
		if strings.Contains(c.Form.Get("blocks"), `"action_id":"accurate"`) {
			sawReport = true
			for _, b := range []string{"inaccurate", "reinvestigate", "escalate"} {
				if !strings.Contains(c.Form.Get("blocks"), `"action_id":"`+b+`"`) {
					t.Errorf("report has no %s button", b)
				}
			}
			if !strings.Contains(c.Form.Get("blocks"), "tool calls") {
				t.Errorf("report has no cost footer")
			}
		}
	}
	if !sawFinding || !sawReport {
		t.Fatalf("thread replies lack a finding (%v) or the report (%v): %d replies\n%s", sawFinding, sawReport, len(replies), r.logs)
	}
	var limited, edited int
	for _, c := range fake.CallsTo("chat.update") {
		if c.Status == http.StatusTooManyRequests {
			limited++
		} else {
			edited++
		}
	}
	if limited != 1 || edited == 0 {
		t.Errorf("chat.update: %d rate limited, %d done; want 1 and some", limited, edited)
	}
	waitFor(t, 10*time.Second, "the chart", func() bool { return len(fake.Uploads()) > 0 })
	ups := fake.Uploads()
	if len(ups) != 1 || ups[0].ThreadTS != parent || !bytes.HasPrefix(ups[0].Data, []byte("\x89PNG")) {
		t.Errorf("chart upload: %+v\n%s", ups, r.logs)
	}

	send := func(env map[string]any) string {
		t.Helper()
		id, _ := env["envelope_id"].(string)
		if err := fake.Send(env); err != nil {
			t.Fatal(err)
		}
		if _, ok := fake.WaitAck(id, 5*time.Second); !ok {
			t.Fatalf("envelope %s not acked", id)
		}
		return id
	}

	// 1b. Another alert of the same service joins: a "linked" reply with an
	// Unlink button, the parent's count updated; Unlink moves it out.
	code, hr, _ = post(t, "http://"+r.addr+"/hooks/retail-prod/alertmanager",
		amAlertStatus("OrdersErrors", "eks/retail/orders/deployment/orders", "orders", "firing", "0c0d"), map[string]string{"Authorization": "Bearer am"})
	if code != 200 || hr.Alerts[0].Decision != "linked" || hr.Alerts[0].Investigation != inv {
		t.Fatalf("second alert: %d %+v", code, hr)
	}
	linkedAlert := hr.Alerts[0].ID
	var linkedReply slacktest.Call
	waitFor(t, 10*time.Second, "the linked reply", func() bool {
		for _, c := range posts(fake, "C0INCIDENT", parent) {
			if strings.Contains(c.Form.Get("text"), "Linked") {
				linkedReply = c
				return true
			}
		}
		return false
	})
	if !strings.Contains(linkedReply.Form.Get("blocks"), `"action_id":"unlink"`) || !strings.Contains(linkedReply.Form.Get("blocks"), linkedAlert) {
		t.Errorf("linked reply has no Unlink button for %s: %s", linkedAlert, linkedReply.Form.Get("blocks"))
	}
	act := fake.BlockActionEnvelope("env-u1", "U0ALICE", "C0INCIDENT", "1700000000.999999", "unlink", linkedAlert)
	act["payload"].(map[string]any)["message"].(map[string]any)["thread_ts"] = parent
	send(act)
	waitFor(t, 10*time.Second, "the unlink answer", func() bool {
		for _, c := range posts(fake, "C0INCIDENT", parent) {
			if strings.Contains(c.Form.Get("text"), "Unlinked alert") {
				return true
			}
		}
		return false
	})

	// 2. 👍 on the root cause from an operator: feedback journaled and
	// stored; learned by the space.
	report := reportTS(t, e, inv)
	send(fake.EventEnvelope("env-r1", "Ev-r1", map[string]any{"type": "reaction_added", "user": "U0ALICE", "reaction": "+1",
		"item": map[string]any{"type": "message", "channel": "C0INCIDENT", "ts": report}, "item_user": slacktest.BotUserID, "event_ts": "1700000300.000100"}))
	var fbEntry string
	waitFor(t, 5*time.Second, "feedback journaled", func() bool {
		for _, j := range journalOf(t, r.addr, inv) {
			if j.Type == engine.EntryFeedback && j.Actor == "slack:U0ALICE" {
				fbEntry = string(j.Data)
				return true
			}
		}
		return false
	})
	if !strings.Contains(fbEntry, `"verdict":"accurate"`) {
		t.Errorf("feedback entry: %s", fbEntry)
	}
	// The thanks is private, in the thread (the reaction event does not
	// say which thread; the index does).
	waitFor(t, 5*time.Second, "the private thanks in the thread", func() bool {
		for _, c := range fake.CallsTo("chat.postEphemeral") {
			if c.Form.Get("user") == "U0ALICE" && c.Form.Get("thread_ts") == parent && strings.Contains(c.Form.Get("text"), "accurate") {
				return true
			}
		}
		return false
	})
	learned, _ := e.st.Learned(context.Background(), "retail-prod")
	if len(learned) == 0 {
		t.Errorf("nothing learned from the feedback")
	}
	// A viewer's 👍 is refused privately and not stored.
	send(fake.EventEnvelope("env-r2", "Ev-r2", map[string]any{"type": "reaction_added", "user": "U0VIEWER", "reaction": "+1",
		"item": map[string]any{"type": "message", "channel": "C0INCIDENT", "ts": report}, "event_ts": "1700000301.000100"}))
	waitFor(t, 5*time.Second, "viewer refusal", func() bool {
		for _, c := range fake.CallsTo("chat.postEphemeral") {
			if c.Form.Get("user") == "U0VIEWER" && strings.Contains(c.Form.Get("text"), "operator") {
				return true
			}
		}
		return false
	})
	// The same event delivered again (another envelope, same event id) is
	// handled once.
	before := len(fake.CallsTo("chat.postEphemeral"))
	send(fake.EventEnvelope("env-r2b", "Ev-r2", map[string]any{"type": "reaction_added", "user": "U0VIEWER", "reaction": "+1",
		"item": map[string]any{"type": "message", "channel": "C0INCIDENT", "ts": report}, "event_ts": "1700000301.000100"}))
	time.Sleep(300 * time.Millisecond)
	if n := len(fake.CallsTo("chat.postEphemeral")); n != before {
		t.Errorf("a duplicate event was handled again: %d ephemeral messages, want %d", n, before)
	}

	// 3. A mention in the thread is a follow-up answered with the
	// investigation's context.
	nBefore := len(posts(fake, "C0INCIDENT", parent))
	send(fake.EventEnvelope("env-m1", "Ev-m1", map[string]any{"type": "app_mention", "user": "U0ALICE",
		"text": "<@U0BOT> why?", "ts": "1700000400.000100", "thread_ts": parent, "channel": "C0INCIDENT"}))
	waitFor(t, 10*time.Second, "follow-up answer", func() bool { return len(posts(fake, "C0INCIDENT", parent)) > nBefore })
	ans := posts(fake, "C0INCIDENT", parent)[nBefore]
	rep, _ := e.st.Report(context.Background(), "retail-prod", inv)
	if !strings.Contains(ans.Form.Get("text")+ans.Form.Get("blocks"), rep.Top().Resource) {
		t.Errorf("follow-up does not name the root cause %s: %s", rep.Top().Resource, ans.Form.Get("text"))
	}

	// 4. /devops subcommands, answered through the response URL.
	slash := func(id, user, channel, text string) map[string]any {
		t.Helper()
		n := len(fake.Responses())
		send(fake.SlashEnvelope(id, map[string]string{"user_id": user, "channel_id": channel, "text": text}))
		rs, ok := fake.WaitResponses(n+1, 10*time.Second)
		if !ok {
			t.Fatalf("/devops %s: no response\n%s", text, r.logs)
		}
		return rs[n].Body
	}
	body := slash("env-s1", "U0ALICE", "C0INCIDENT", "help")
	if body["response_type"] != "ephemeral" || !strings.Contains(fmt.Sprint(body["blocks"]), "/devops ask") {
		t.Errorf("help: %v", body)
	}
	body = slash("env-s2", "U0ALICE", "C0INCIDENT", "frobnicate")
	if !strings.Contains(fmt.Sprint(body["blocks"]), "I don't know `/devops frobnicate`") {
		t.Errorf("unknown: %v", body)
	}
	body = slash("env-s3", "U0ALICE", "C0INCIDENT", "status")
	if !strings.Contains(fmt.Sprint(body["blocks"]), inv) {
		t.Errorf("status does not list %s: %v", inv, body)
	}
	body = slash("env-s4", "U0ALICE", "C0INCIDENT", "ask what depends on orders-db?")
	if body["response_type"] != "ephemeral" || !strings.Contains(fmt.Sprint(body["blocks"]), "orders") {
		t.Errorf("ask: %v", body)
	}
	body = slash("env-s5", "U0ALICE", "C0INCIDENT", "topology orders-db")
	if !strings.Contains(fmt.Sprint(body["blocks"]), "orders") {
		t.Errorf("topology: %v", body)
	}
	body = slash("env-s6", "U0VIEWER", "C0INCIDENT", "investigate checkout is slow")
	if !strings.Contains(fmt.Sprint(body["text"]), "Only operators") {
		t.Errorf("viewer investigate: %v", body)
	}
	body = slash("env-s7", "U0ELSE", "C0RANDOM", "status")
	if !strings.Contains(fmt.Sprint(body["text"]), "not connected to a Nightshift space") {
		t.Errorf("unbound channel: %v", body)
	}
	// Another space's channel never sees this space's investigations.
	body = slash("env-s8", "U0ALICE", "C0PAY", "status")
	if strings.Contains(fmt.Sprint(body), inv) {
		t.Errorf("payments status leaks retail-prod: %v", body)
	}
	// A member of the admin user group starts one with a preset: public.
	// The original and the unlinked alert's own investigation.
	if invs, _ := e.st.Investigations(context.Background(), "retail-prod", engine.StatusActive, 10); len(invs) != 2 {
		for _, i := range invs {
			t.Logf("investigation %s %q", i.ID, i.Title)
		}
		t.Fatalf("%d active investigations before the preset, want 2", len(invs))
	}
	waitFor(t, 10*time.Second, "the unlinked alert's thread", func() bool { return len(posts(fake, "C0INCIDENT", "")) == 2 })
	body = slash("env-s9", "U0BOB", "C0INCIDENT", "investigate high-cpu catalog")
	if body["response_type"] != "in_channel" || !strings.Contains(fmt.Sprint(body["text"]), "started an investigation") {
		t.Errorf("investigate: %v", body)
	}
	waitFor(t, 10*time.Second, "the preset investigation's thread", func() bool { return len(posts(fake, "C0INCIDENT", "")) == 3 })

	// An envelope slack-go cannot decode is acknowledged anyway (else
	// Slack redelivers it forever) and the bot goes on.
	bad := fake.SlashEnvelope("env-bad", map[string]string{"user_id": "U0ALICE", "channel_id": "C0INCIDENT"})
	bad["payload"].(map[string]any)["text"] = 42
	send(bad)

	// 5. A dropped websocket: the bot reconnects and goes on.
	opens := fake.Opens()
	fake.DropConnections()
	if !fake.WaitOpens(opens+1, 20*time.Second) || !fake.WaitConnections(1, 10*time.Second) {
		t.Fatalf("no reconnect after a drop\n%s", r.logs)
	}
	body = slash("env-s10", "U0ALICE", "C0INCIDENT", "help")
	if body["response_type"] != "ephemeral" {
		t.Errorf("after reconnect: %v", body)
	}
	// And after Slack's own "disconnect" (refresh).
	opens = fake.Opens()
	fake.Disconnect("refresh_requested")
	if !fake.WaitOpens(opens+1, 20*time.Second) {
		t.Fatalf("no reconnect after disconnect\n%s", r.logs)
	}

	// 6. 👎 by button: the bot asks what was wrong; the next reply in the
	// thread is kept with the feedback.
	act = fake.BlockActionEnvelope("env-b1", "U0ALICE", "C0INCIDENT", report, "inaccurate", inv)
	act["payload"].(map[string]any)["message"].(map[string]any)["thread_ts"] = parent
	send(act)
	waitFor(t, 5*time.Second, "what-was-wrong question", func() bool {
		for _, c := range posts(fake, "C0INCIDENT", parent) {
			if strings.Contains(c.Form.Get("text"), "What was wrong") {
				return true
			}
		}
		return false
	})
	send(fake.EventEnvelope("env-c1", "Ev-c1", map[string]any{"type": "message", "user": "U0ALICE", "channel_type": "channel",
		"text": "it was the payments-db failover", "ts": "1700000500.000100", "thread_ts": parent, "channel": "C0INCIDENT"}))
	waitFor(t, 5*time.Second, "comment kept", func() bool {
		fbs, _ := e.st.Feedback(context.Background(), "retail-prod", inv)
		return len(fbs) == 1 && fbs[0].Verdict == engine.VerdictInaccurate && fbs[0].Comment == "it was the payments-db failover"
	})
	// Removing the reaction withdraws the verdict.
	send(fake.EventEnvelope("env-r3", "Ev-r3", map[string]any{"type": "reaction_removed", "user": "U0ALICE", "reaction": "+1",
		"item": map[string]any{"type": "message", "channel": "C0INCIDENT", "ts": report}, "event_ts": "1700000600.000100"}))
	waitFor(t, 5*time.Second, "withdrawal", func() bool {
		fbs, _ := e.st.Feedback(context.Background(), "retail-prod", inv)
		return len(fbs) == 0
	})

	// 7. An app's alert in the alert channel goes through intake.
	send(fake.EventEnvelope("env-a1", "Ev-a1", map[string]any{"type": "message", "subtype": "bot_message", "bot_id": "B0AM",
		"username": "alertmanager", "channel_type": "channel", "channel": "C0ALERTS", "ts": "1700000700.000100",
		"text": "[FIRING:1] PaymentsLatencyHigh (payments-api critical)",
		"attachments": []any{map[string]any{"color": "danger", "title": "[FIRING:1] PaymentsLatencyHigh (payments-api critical)",
			"text": "*Alert:* PaymentsLatencyHigh - `critical`\n*Description:* p99 latency above 2s\n*Details:*\n  • *alertname:* `PaymentsLatencyHigh`\n  • *service:* `payments-api`\n  • *severity:* `critical`\n"}}}))
	waitFor(t, 10*time.Second, "a thread for the channel alert", func() bool {
		for _, c := range posts(fake, "C0INCIDENT", "") {
			if strings.Contains(c.Form.Get("text"), "PaymentsLatencyHigh") {
				return true
			}
		}
		return false
	})
	// Human chatter in the alert channel is left alone.
	n := len(fake.Calls())
	send(fake.EventEnvelope("env-a2", "Ev-a2", map[string]any{"type": "message", "user": "U0ALICE", "channel_type": "channel",
		"channel": "C0ALERTS", "ts": "1700000800.000100", "text": "did anyone see the deploy?"}))
	time.Sleep(300 * time.Millisecond)
	for _, c := range fake.Calls()[n:] {
		if strings.HasPrefix(c.Method, "chat.") && (c.Form.Get("channel") == "C0ALERTS" || c.Form.Get("user") == "U0ALICE") {
			t.Errorf("chatter answered: %s %v", c.Method, c.Form)
		}
	}

	// 8. A mention in the incident channel starts an investigation from
	// free text, naming the resource it mentions.
	send(fake.EventEnvelope("env-m2", "Ev-m2", map[string]any{"type": "app_mention", "user": "U0ALICE",
		"text": "<@U0BOT> carts is returning errors since 10:40", "ts": "1700000900.000100", "channel": "C0INCIDENT"}))
	waitFor(t, 10*time.Second, "a thread for the mention", func() bool {
		for _, c := range posts(fake, "C0INCIDENT", "") {
			if strings.Contains(c.Form.Get("text"), "carts is returning errors") {
				return true
			}
		}
		return false
	})
	waitFor(t, 5*time.Second, "the started answer under the mention", func() bool {
		for _, c := range posts(fake, "C0INCIDENT", "1700000900.000100") {
			if strings.Contains(c.Form.Get("text"), "started an investigation") {
				return true
			}
		}
		return false
	})

	writeTranscript(t, fake, parent)

	// 9. When every alert of the investigation resolves, the parent says so.
	code, hr, _ = post(t, "http://"+r.addr+"/hooks/retail-prod/alertmanager",
		amAlertStatus("OrdersOOM", "eks/retail/orders/deployment/orders", "orders", "resolved", "0a0b"), map[string]string{"Authorization": "Bearer am"})
	if code != 200 || hr.Alerts[0].Decision != "resolved" {
		t.Fatalf("resolve: %d %+v", code, hr)
	}
	waitFor(t, 10*time.Second, "the resolved parent", func() bool {
		for _, c := range fake.CallsTo("chat.update") {
			if c.Form.Get("ts") == parent && strings.Contains(c.Form.Get("text"), "Resolved") {
				return true
			}
		}
		return false
	})
}

// Two replicas on one Redis: one parent message per investigation, and a
// delivery that reaches both is handled once.
func TestSlackTwoReplicas(t *testing.T) {
	e := newSlackEnv(t)
	fake := e.fake
	r1 := startReplica(t, e.cfg)
	r2 := startReplica(t, e.cfg)
	if !fake.WaitConnections(2, 10*time.Second) {
		t.Fatal("both replicas should connect")
	}
	// The same alert to both replicas at once.
	var wg sync.WaitGroup
	body := amAlert("CatalogLatency", "eks/retail/catalog/deployment/catalog", "catalog")
	invs := make([]string, 2)
	for i, r := range []*replica{r1, r2} {
		wg.Go(func() {
			code, hr, _ := post(t, "http://"+r.addr+"/hooks/retail-prod/alertmanager", body, map[string]string{"Authorization": "Bearer am"})
			if code == 200 {
				invs[i] = hr.Alerts[0].Investigation
			}
		})
	}
	wg.Wait()
	if invs[0] == "" || invs[0] != invs[1] {
		t.Fatalf("investigations %v", invs)
	}
	waitFor(t, 30*time.Second, "the report", func() bool { return reportTS(t, e, invs[0]) != "" })
	if p := posts(fake, "C0INCIDENT", ""); len(p) != 1 {
		t.Fatalf("%d parent messages, want 1", len(p))
	}
	// One event id in several envelopes: whichever replicas get them,
	// one answer.
	for i := range 4 {
		if err := fake.Send(fake.EventEnvelope(fmt.Sprintf("env-d%d", i), "Ev-dup", map[string]any{"type": "app_mention",
			"user": "U0ALICE", "text": "<@U0BOT> status", "ts": "1700000900.000100", "channel": "C0INCIDENT"})); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		if _, ok := fake.WaitAck(fmt.Sprintf("env-d%d", i), 5*time.Second); !ok {
			t.Fatalf("env-d%d not acked", i)
		}
	}
	waitFor(t, 5*time.Second, "the status answer", func() bool { return len(posts(fake, "C0INCIDENT", "1700000900.000100")) >= 1 })
	time.Sleep(300 * time.Millisecond)
	if n := len(posts(fake, "C0INCIDENT", "1700000900.000100")); n != 1 {
		t.Errorf("%d answers to one mention delivered 4 times, want 1", n)
	}
}

// writeTranscript writes what the incident channel showed, in order, when
// NIGHTSHIFT_TRANSCRIPT names a file (the README's transcript comes from it).
func writeTranscript(t *testing.T, fake *slacktest.Server, parent string) {
	path := os.Getenv("NIGHTSHIFT_TRANSCRIPT")
	if path == "" {
		return
	}
	var b strings.Builder
	for _, c := range fake.Calls() {
		if c.Status != http.StatusOK || c.Form.Get("channel") != "C0INCIDENT" {
			continue
		}
		th := c.Form.Get("thread_ts")
		if th != "" && th != parent {
			continue
		}
		var blocks []map[string]any
		_ = json.Unmarshal([]byte(c.Form.Get("blocks")), &blocks)
		var lines []string
		for _, bl := range blocks {
			for _, k := range []string{"text"} {
				if m, ok := bl[k].(map[string]any); ok {
					lines = append(lines, fmt.Sprint(m["text"]))
				}
			}
			if fs, ok := bl["fields"].([]any); ok {
				var parts []string
				for _, f := range fs {
					parts = append(parts, strings.ReplaceAll(fmt.Sprint(f.(map[string]any)["text"]), "\n", ": "))
				}
				lines = append(lines, strings.Join(parts, " · "))
			}
			if els, ok := bl["elements"].([]any); ok {
				var parts []string
				for _, el := range els {
					m := el.(map[string]any)
					if tx, ok := m["text"].(map[string]any); ok {
						parts = append(parts, "["+fmt.Sprint(tx["text"])+"]")
					} else if s, ok := m["text"].(string); ok {
						parts = append(parts, s)
					}
				}
				lines = append(lines, strings.Join(parts, " "))
			}
		}
		who := "nightshift"
		switch {
		case c.Method == "chat.update":
			who = "  (edited)"
		case th != "":
			who = "  ↳ nightshift"
		}
		fmt.Fprintf(&b, "%s: %s\n", who, strings.Join(lines, "\n    "))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Error(err)
	}
	for i, u := range fake.Uploads() {
		_ = os.WriteFile(fmt.Sprintf("%s.%d.png", path, i), u.Data, 0o644)
	}
}
