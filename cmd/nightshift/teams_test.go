package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/bot/slack/slacktest"
	"github.com/nightshift-ops/nightshift/bot/teams/teamstest"
	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/store"
)

const teamsConfig = `
listen: 127.0.0.1:0
redis: {url: %q, prefix: %q}
api: {token: tok}
log: {level: debug}
teams:
  app_id: %s
  app_password: %s
  tenant_id: %s
  openid_metadata_url: %s
  token_url: %s
  graph_url: %s/graph/v1.0/
  edit_interval: 50ms
%s
spaces:
  - name: retail-prod
    sources: {alertmanager: {token: am}}
    providers: {sandbox: {scenarios: builtin}}
    teams:
      service_url: %s
      incident_channels: [%q]
      alert_channels: ["19:alerts@thread.tacv2"]
%s
    operators:
      - {teams: %s, role: operator}
      - {slack: U0ALICE, role: operator}
`

type teamsEnv struct {
	fake  *teamstest.Server
	slack *slacktest.Server // when both surfaces run
	st    *store.Store
	cfg   string
	alice teamstest.User
}

func newTeamsEnv(t *testing.T, withSlack bool) *teamsEnv {
	t.Helper()
	redisURL := testRedisURL(t)
	if redisURL == "" {
		t.Skip("the Teams end-to-end tests need a real Redis")
	}
	fake := teamstest.New(t, teamstest.Options{})
	e := &teamsEnv{fake: fake, alice: teamstest.TestUser("Alice Example")}
	o := fake.Options()
	prefix := fmt.Sprintf("teams:%d:", time.Now().UnixNano())
	slackTop, slackSpace := "", ""
	if withSlack {
		e.slack = slacktest.New(t)
		slackTop = fmt.Sprintf("slack: {app_token: xapp-test, bot_token: xoxb-test, api_url: %q, edit_interval: 50ms}", e.slack.APIURL())
		slackSpace = "    slack: {incident_channels: [C0INCIDENT]}"
	}
	path := filepath.Join(t.TempDir(), "nightshift.yaml")
	body := fmt.Sprintf(teamsConfig, redisURL, prefix, o.AppID, o.AppPassword, o.TenantID, fake.MetadataURL(), fake.TokenURL(), fake.URL(),
		slackTop, fake.ServiceURL(), teamstest.DefaultChannelID, slackSpace, e.alice.AADObjectID)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
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
	e.st, e.cfg = st, path
	return e
}

// cardText is everything an Adaptive Card says, flattened.
func cardText(a teamstest.Activity) string {
	b, _ := json.Marshal(a.Cards())
	return a.Text + " " + string(b)
}

func TestTeamsEndToEnd(t *testing.T) {
	e := newTeamsEnv(t, false)
	fake := e.fake
	// The token endpoint is down for the first two requests, and the first
	// status update is throttled: both must be survived.
	fake.SetTokenDown(2)
	fake.RateLimit("PUT", 1, time.Second)
	r := startReplica(t, e.cfg)
	endpoint := "http://" + r.addr + "/api/messages"
	ctx := context.Background()

	// 1. A webhook alert opens a new thread in the incident channel; the
	// status is updated in place; the root cause arrives as a card.
	code, hr, _ := post(t, "http://"+r.addr+"/hooks/retail-prod/alertmanager",
		amAlert("OrdersOOM", "eks/retail/orders/deployment/orders", "orders"), map[string]string{"Authorization": "Bearer am"})
	if code != 200 {
		t.Fatalf("intake: %d %+v", code, hr)
	}
	inv := hr.Alerts[0].Investigation
	var convs []teamstest.Conversation
	if !fake.Wait(20*time.Second, func() bool { convs = fake.Conversations(); return len(convs) == 1 }) {
		t.Fatalf("no thread created\n%s", r.logs)
	}
	if convs[0].ChannelID != teamstest.DefaultChannelID {
		t.Errorf("thread in %s", convs[0].ChannelID)
	}
	thread := convs[0].ID
	var report teamstest.Activity
	_, ok := fake.WaitThread(thread, 30*time.Second, func(as []teamstest.Activity) bool {
		for _, a := range as {
			if strings.Contains(cardText(a), "Root cause and mitigation plan") {
				report = a
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no root-cause card in the thread\n%s", r.logs)
	}
	rep, _ := e.st.Report(ctx, "retail-prod", inv)
	ct := cardText(report)
	for _, want := range []string{rep.Top().Resource, `"action":"accurate"`, `"action":"inaccurate"`, `"action":"reinvestigate"`, `"action":"escalate"`, "tool calls"} {
		if !strings.Contains(ct, want) {
			t.Errorf("root-cause card lacks %q", want)
		}
	}
	var throttled, updated int
	for _, c := range fake.CallsTo("PUT", "/v3/conversations/") {
		if c.Status == http.StatusTooManyRequests {
			throttled++
		} else if c.Status < 300 {
			updated++
		}
	}
	if throttled != 1 || updated == 0 {
		t.Errorf("status updates: %d throttled, %d done", throttled, updated)
	}
	if !fake.Wait(10*time.Second, func() bool {
		for _, a := range fake.Thread(thread) {
			for _, at := range a.Attachments {
				if at["contentType"] == "image/png" {
					return true
				}
			}
		}
		return false
	}) {
		t.Errorf("no chart in the thread")
	}

	deliver := func(act map[string]any, opts ...teamstest.SignOption) (int, string) {
		t.Helper()
		code, body, err := fake.Deliver(ctx, endpoint, act, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return code, string(body)
	}

	// 2. Tokens that are not the Bot Connector's are refused and never
	// processed.
	before := len(fake.Calls())
	for name, opt := range map[string]teamstest.SignOption{
		"bad signature":         teamstest.WithForeignKey(),
		"wrong audience":        teamstest.WithAudience("00000000-0000-0000-0000-000000000000"),
		"expired":               teamstest.WithExpiry(time.Now().Add(-time.Hour)),
		"mismatched serviceUrl": teamstest.WithServiceURL("https://evil.example/teams/"),
	} {
		code, body := deliver(fake.MessageActivity(teamstest.MessageOptions{Text: "help", From: e.alice}), opt)
		if code != http.StatusUnauthorized || !strings.Contains(body, "error") {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	code, body := deliver(fake.MessageActivity(teamstest.MessageOptions{Text: "help", From: e.alice}), teamstest.WithKid(""))
	if code != http.StatusUnauthorized {
		t.Errorf("no kid: %d %s", code, body)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(fake.Calls()); n != before {
		t.Errorf("a rejected activity was answered: %d calls after, %d before", n, before)
	}
	// A malformed activity is a 400 naming the problem.
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(`{"type":"message"}`))
	req.Header.Set("Authorization", "Bearer x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("activity without serviceUrl: %d", resp.StatusCode)
	}

	// 3. "@Nightshift help" in the channel: help in the post's thread.
	help := fake.MessageActivity(teamstest.MessageOptions{Text: "help", From: e.alice})
	if code, body := deliver(help); code != 200 {
		t.Fatalf("help: %d %s", code, body)
	}
	helpID := help["id"].(string)
	if _, ok := fake.WaitThread(teamstest.DefaultChannelID+";messageid="+helpID, 10*time.Second, func(as []teamstest.Activity) bool {
		for _, a := range as {
			if strings.Contains(cardText(a), "/devops ask") {
				return true
			}
		}
		return false
	}); !ok {
		t.Errorf("no help answer in the post's thread\n%s", r.logs)
	}
	// The same activity delivered again is handled once.
	n := len(fake.CallsTo("POST", "/v3/conversations/"))
	deliver(help)
	time.Sleep(300 * time.Millisecond)
	if m := len(fake.CallsTo("POST", "/v3/conversations/")); m != n {
		t.Errorf("a redelivered activity was answered again (%d → %d posts)", n, m)
	}

	// 4. A mention in the investigation's thread is a follow-up.
	root := strings.TrimPrefix(thread, teamstest.DefaultChannelID+";messageid=")
	why := fake.MessageActivity(teamstest.MessageOptions{Where: teamstest.Where{ThreadRoot: root}, Text: "why?", From: e.alice})
	deliver(why)
	if _, ok := fake.WaitThread(thread, 10*time.Second, func(as []teamstest.Activity) bool {
		for _, a := range as {
			if !a.Inbound && a.ID != report.ID && strings.Contains(cardText(a), rep.Top().Resource) && !strings.Contains(cardText(a), "Root cause and mitigation plan") {
				return true
			}
		}
		return false
	}); !ok {
		t.Errorf("no follow-up answer naming %s\n%s", rep.Top().Resource, r.logs)
	}

	// 5. A like on the root cause is feedback with the Entra object id.
	deliver(fake.ReactionActivity(teamstest.ReactionOptions{Where: teamstest.Where{ThreadRoot: root}, MessageID: report.ID, From: e.alice}))
	if !fake.Wait(10*time.Second, func() bool {
		fbs, _ := e.st.Feedback(ctx, "retail-prod", inv)
		return len(fbs) == 1 && fbs[0].Actor == "teams:"+e.alice.AADObjectID && fbs[0].Verdict == engine.VerdictAccurate
	}) {
		fbs, _ := e.st.Feedback(ctx, "retail-prod", inv)
		t.Fatalf("feedback %+v\n%s", fbs, r.logs)
	}
	// Stored first, then journaled: wait for the journal entry.
	if !fake.Wait(10*time.Second, func() bool {
		for _, j := range journalOf(t, r.addr, inv) {
			if j.Type == engine.EntryFeedback && j.Actor == "teams:"+e.alice.AADObjectID {
				return true
			}
		}
		return false
	}) {
		t.Errorf("no feedback entry by teams:%s in the journal", e.alice.AADObjectID)
	}
	// Someone not in operators is a viewer: their Inaccurate click is refused.
	bob := teamstest.TestUser("Bob Viewer")
	deliver(fake.SubmitActivity(teamstest.ActionOptions{Where: teamstest.Where{ThreadRoot: root}, CardID: report.ID, From: bob,
		Data: map[string]any{"action": "inaccurate", "value": inv}}))
	if _, ok := fake.WaitThread(thread, 10*time.Second, func(as []teamstest.Activity) bool {
		for _, a := range as {
			if strings.Contains(cardText(a), "Only operators") {
				return true
			}
		}
		return false
	}); !ok {
		t.Errorf("viewer's click not refused")
	}
	if fbs, _ := e.st.Feedback(ctx, "retail-prod", inv); len(fbs) != 1 {
		t.Errorf("viewer's verdict stored: %+v", fbs)
	}
	// An Action.Execute invoke gets its invoke response in the body.
	code, body = deliver(fake.InvokeActivity(teamstest.ActionOptions{Where: teamstest.Where{ThreadRoot: root}, CardID: report.ID, From: e.alice,
		Verb: "accurate", Data: map[string]any{"action": "accurate", "value": inv}}))
	if code != 200 || !strings.Contains(body, `"statusCode":200`) {
		t.Errorf("invoke: %d %s", code, body)
	}
	// conversationUpdate and installationUpdate are acknowledged.
	for _, act := range []map[string]any{fake.ConversationUpdate(teamstest.ConversationUpdateOptions{BotAdded: true}), fake.InstallationUpdate(teamstest.InstallationOptions{})} {
		if code, body := deliver(act); code != 200 {
			t.Errorf("%v: %d %s", act["type"], code, body)
		}
	}
	// An app's alert in the alert channel goes through intake: a new thread.
	am := fake.MessageActivity(teamstest.MessageOptions{Where: teamstest.Where{Channel: "19:alerts@thread.tacv2"}, NoMention: true,
		Text: "[FIRING:1] PaymentsLatencyHigh (payments-api critical)\n*Alert:* PaymentsLatencyHigh - `critical`\n*Description:* p99 above 2s\n*Details:*\n  • *alertname:* `PaymentsLatencyHigh`\n  • *service:* `payments-api`\n"})
	am["from"] = map[string]any{"id": "28:alertmanager-connector", "name": "alertmanager", "role": "bot"}
	if code, body := deliver(am); code != 200 {
		t.Fatalf("alert channel: %d %s", code, body)
	}
	if !fake.Wait(10*time.Second, func() bool { return len(fake.Conversations()) >= 2 }) {
		t.Errorf("no thread for the channel alert\n%s", r.logs)
	}
	// A person's message there is chatter.
	n = len(fake.Conversations())
	deliver(fake.MessageActivity(teamstest.MessageOptions{Where: teamstest.Where{Channel: "19:alerts@thread.tacv2"}, NoMention: true,
		Text: "did anyone see the deploy?", From: e.alice}))
	time.Sleep(300 * time.Millisecond)
	if m := len(fake.Conversations()); m != n {
		t.Errorf("chatter opened a thread")
	}
	if fake.TokenRequests() < 3 {
		t.Errorf("%d token requests: the endpoint was down twice, then answered", fake.TokenRequests())
	}
}

// Slack and Teams show the same investigation with the same content.
func TestSlackAndTeamsShowTheSameInvestigation(t *testing.T) {
	e := newTeamsEnv(t, true)
	r := startReplica(t, e.cfg)
	if !e.slack.WaitConnections(1, 10*time.Second) {
		t.Fatal("slack did not connect")
	}
	code, hr, _ := post(t, "http://"+r.addr+"/hooks/retail-prod/alertmanager",
		amAlert("OrdersOOM", "eks/retail/orders/deployment/orders", "orders"), map[string]string{"Authorization": "Bearer am"})
	if code != 200 {
		t.Fatalf("intake: %d", code)
	}
	inv := hr.Alerts[0].Investigation
	var teamsReport, slackReport string
	if !e.fake.Wait(30*time.Second, func() bool {
		for _, c := range e.fake.Conversations() {
			for _, a := range e.fake.Thread(c.ID) {
				if strings.Contains(cardText(a), "Root cause and mitigation plan") {
					teamsReport = cardText(a)
				}
			}
		}
		for _, c := range e.slack.CallsTo("chat.postMessage") {
			if strings.Contains(c.Form.Get("blocks"), `"action_id":"accurate"`) {
				slackReport = c.Form.Get("blocks")
			}
		}
		return teamsReport != "" && slackReport != ""
	}) {
		t.Fatalf("reports: teams %v, slack %v\n%s", teamsReport != "", slackReport != "", r.logs)
	}
	rep, _ := e.st.Report(context.Background(), "retail-prod", inv)
	// Every part of the neutral report message shows on both.
	wants := []string{rep.Top().Resource, rep.Top().Category, "Mitigation plan", "Evidence", "Hypotheses"}
	for _, h := range rep.Hypotheses[:min(3, len(rep.Hypotheses))] { // the message shows the top three
		wants = append(wants, h.Resource)
	}
	for _, s := range rep.Plan {
		wants = append(wants, s.Action[:min(len(s.Action), 40)])
	}
	for _, w := range wants {
		w = strings.NewReplacer("&", "", "<", "", ">", "").Replace(w)
		if !strings.Contains(teamsReport, w) || !strings.Contains(slackReport, w) {
			t.Errorf("%q: on teams %v, on slack %v", w, strings.Contains(teamsReport, w), strings.Contains(slackReport, w))
		}
	}
	for _, a := range []string{"accurate", "inaccurate", "reinvestigate", "escalate"} {
		if !strings.Contains(teamsReport, `"action":"`+a+`"`) || !strings.Contains(slackReport, `"action_id":"`+a+`"`) {
			t.Errorf("button %s missing on one platform", a)
		}
	}
}

func TestTeamsPackage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "app.zip")
	id := "b0775eaa-4e3f-4c2a-9d51-6a7b8c9d0e1f"
	code, stdout, stderr := cli(t, "teams", "package", "--dir", "../../deploy/teams", "--app-id", id, "--domain", "https://nightshift.example.com/", "-o", out)
	if code != 0 {
		t.Fatalf("package: %d %s %s", code, stdout, stderr)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = b
	}
	if len(files) != 3 || files["color.png"] == nil || files["outline.png"] == nil {
		t.Fatalf("zip holds %d files", len(files))
	}
	var m struct {
		ID   string `json:"id"`
		Bots []struct {
			BotID        string   `json:"botId"`
			Scopes       []string `json:"scopes"`
			CommandLists []struct {
				Commands []struct{ Title string } `json:"commands"`
			} `json:"commandLists"`
		} `json:"bots"`
		ValidDomains []string `json:"validDomains"`
	}
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != id || len(m.Bots) != 1 || m.Bots[0].BotID != id || len(m.ValidDomains) != 1 || m.ValidDomains[0] != "nightshift.example.com" {
		t.Errorf("manifest: %+v", m)
	}
	if strings.Join(m.Bots[0].Scopes, ",") != "team,personal" {
		t.Errorf("scopes %v", m.Bots[0].Scopes)
	}
	// The compose box lists exactly the commands the bot understands.
	var titles []string
	for _, c := range m.Bots[0].CommandLists[0].Commands {
		titles = append(titles, c.Title)
		if bot.ParseCommand(c.Title+" x").Kind != c.Title {
			t.Errorf("command %q is not one the bot parses", c.Title)
		}
	}
	if strings.Join(titles, ",") != "ask,investigate,status,topology,unlink,help" {
		t.Errorf("commands %v", titles)
	}
	if code, _, stderr := cli(t, "teams", "package", "--dir", "../../deploy/teams", "--app-id", "not-a-guid", "--domain", "x.example.com", "-o", out); code == 0 || !strings.Contains(stderr, "--app-id") {
		t.Errorf("bad app id accepted: %s", stderr)
	}
}
