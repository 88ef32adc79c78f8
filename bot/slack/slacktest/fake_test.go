package slacktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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

// runSocket runs a socketmode handler, set up by setup, against the fake
// until the returned stop is called (or the test ends).
func runSocket(t *testing.T, fake *slacktest.Server, setup func(h *socketmode.SocketmodeHandler)) (stop func()) {
	t.Helper()
	h := socketmode.NewSocketmodeHandler(socketmode.New(fake.Client()))
	h.HandleDefault(func(*socketmode.Event, *socketmode.Client) {})
	setup(h)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.RunEventLoopContext(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(3 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestChatMessages(t *testing.T) {
	fake := slacktest.New(t)
	api := fake.Client()
	ctx := t.Context()

	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*hi*", false, false), nil, nil, slack.SectionBlockOptionBlockID("b1")))
	ch, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false), blocks, slack.MsgOptionTS("1699999999.000100"))
	if err != nil || ch != "C1" || ts == "" {
		t.Fatalf("chat.postMessage = %q %q %v", ch, ts, err)
	}
	post := fake.CallsTo("chat.postMessage")[0]
	var got []map[string]any
	if err := json.Unmarshal([]byte(post.Form.Get("blocks")), &got); err != nil || len(got) != 1 || got[0]["block_id"] != "b1" {
		t.Errorf("blocks recorded = %s (%v)", post.Form.Get("blocks"), err)
	}
	if post.Form.Get("thread_ts") != "1699999999.000100" {
		t.Errorf("thread_ts = %q", post.Form.Get("thread_ts"))
	}
	if _, uts, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("edited", false)); err != nil || uts != ts {
		t.Errorf("chat.update = %q, %v", uts, err)
	}

	ets, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("only you", false))
	if err != nil || ets == "" || ets == ts {
		t.Errorf("chat.postEphemeral = %q, %v; want a fresh message_ts", ets, err)
	}
	if e := fake.CallsTo("chat.postEphemeral"); len(e) != 1 || e[0].Form.Get("user") != "U1" || e[0].Form.Get("channel") != "C1" {
		t.Errorf("chat.postEphemeral calls = %+v", e)
	}
}

func TestStreaming(t *testing.T) {
	fake := slacktest.New(t)
	api := fake.Client()
	ctx := t.Context()

	if _, _, err := api.StartStreamContext(ctx, "C1", slack.MsgOptionTS("1699999999.000100")); err == nil || err.Error() != "unknown_method" {
		t.Errorf("startStream with streaming off = %v, want unknown_method", err)
	}
	fake.SetStreaming(true)
	_, ts, err := api.StartStreamContext(ctx, "C1", slack.MsgOptionTS("1699999999.000100"),
		slack.MsgOptionRecipientTeamID("T1"), slack.MsgOptionRecipientUserID("U1"))
	if err != nil || ts == "" {
		t.Fatalf("startStream = %q, %v", ts, err)
	}
	if _, _, err := api.AppendStreamContext(ctx, "C1", ts, slack.MsgOptionMarkdownText("**part**")); err != nil {
		t.Errorf("appendStream: %v", err)
	}
	if _, _, err := api.AppendStreamContext(ctx, "C1", "1.000000", slack.MsgOptionMarkdownText("x")); err == nil {
		t.Error("appendStream to an unknown ts succeeded")
	}
	if _, sts, err := api.StopStreamContext(ctx, "C1", ts); err != nil || sts != ts {
		t.Errorf("stopStream = %q, %v", sts, err)
	}
	if _, _, err := api.AppendStreamContext(ctx, "C1", ts, slack.MsgOptionMarkdownText("late")); err == nil || err.Error() != "message_not_in_streaming_state" {
		t.Errorf("appendStream after stop = %v", err)
	}
	start := fake.CallsTo("chat.startStream")[1]
	if start.Form.Get("thread_ts") != "1699999999.000100" || start.Form.Get("recipient_user_id") != "U1" || start.Form.Get("recipient_team_id") != "T1" {
		t.Errorf("startStream form = %v", start.Form)
	}
	if app := fake.CallsTo("chat.appendStream")[0]; app.Form.Get("ts") != ts || app.Form.Get("markdown_text") != "**part**" {
		t.Errorf("appendStream form = %v", app.Form)
	}
}

func TestUploadFile(t *testing.T) {
	fake := slacktest.New(t)
	api := fake.Client()
	ctx := t.Context()

	data := "line 1\nline 2\n"
	f, err := api.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader: strings.NewReader(data), FileSize: len(data), Filename: "logs.txt", Title: "Logs",
		Channel: "C1", ThreadTimestamp: "1699999999.000100", InitialComment: "here",
	})
	if err != nil {
		t.Fatal(err)
	}
	up := fake.Uploads()
	if len(up) != 1 {
		t.Fatalf("uploads = %+v", up)
	}
	u := up[0]
	if u.FileID != f.ID || f.Title != "Logs" || u.Filename != "logs.txt" || u.Title != "Logs" || u.Channel != "C1" ||
		u.ThreadTS != "1699999999.000100" || u.InitialComment != "here" || string(u.Data) != data || u.Length != len(data) {
		t.Errorf("upload = %+v (file %+v)", u, f)
	}
	var methods []string
	for _, c := range fake.Calls() {
		methods = append(methods, c.Method)
	}
	if want := []string{"files.getUploadURLExternal", "files.completeUploadExternal"}; !slices.Equal(methods, want) {
		t.Errorf("calls = %v, want %v", methods, want)
	}

	// A raw body works too, and completing a file never uploaded fails.
	u2, err := api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: "a.bin", FileSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: u2.FileID}}, Channel: "C1"}); err == nil {
		t.Error("completeUploadExternal before the upload succeeded")
	}
	resp, err := http.Post(u2.UploadURL, "application/octet-stream", strings.NewReader("abc"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("raw upload = %v, %v", resp, err)
	}
	resp.Body.Close()
	if _, err := api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: u2.FileID}}, Channel: "C1"}); err != nil {
		t.Fatal(err)
	}
	if up := fake.Uploads(); len(up) != 2 || string(up[1].Data) != "abc" || up[1].Title != "a.bin" {
		t.Errorf("uploads = %+v", up)
	}
}

func TestUsersGroupsConversations(t *testing.T) {
	fake := slacktest.New(t)
	api := fake.Client()
	ctx := t.Context()

	fake.SetUserGroup("S0ONCALL", "U1", "U2")
	users, err := api.GetUserGroupMembersContext(ctx, "S0ONCALL")
	if err != nil || !slices.Equal(users, []string{"U1", "U2"}) {
		t.Errorf("usergroups.users.list = %v, %v", users, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S0NONE"); err == nil || err.Error() != "no_such_subteam" {
		t.Errorf("unknown group = %v, want no_such_subteam", err)
	}
	fake.SetUserGroup("S0EMPTY")
	if users, err := api.GetUserGroupMembersContext(ctx, "S0EMPTY"); err != nil || len(users) != 0 {
		t.Errorf("empty group = %v, %v", users, err)
	}

	u, err := api.GetUserInfoContext(ctx, "U7")
	if err != nil || u.ID != "U7" || u.Name == "" || u.RealName == "" {
		t.Errorf("users.info = %+v, %v", u, err)
	}
	fake.SetUser("U8", "ana", "Ana Lima")
	if u, err := api.GetUserInfoContext(ctx, "U8"); err != nil || u.Name != "ana" || u.RealName != "Ana Lima" || u.Profile.RealName != "Ana Lima" {
		t.Errorf("users.info U8 = %+v, %v", u, err)
	}

	c, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C9"})
	if err != nil || c.ID != "C9" || c.Name == "" || !c.IsMember {
		t.Errorf("conversations.info = %+v, %v", c, err)
	}
}

func TestResponseURL(t *testing.T) {
	fake := slacktest.New(t)
	ctx := t.Context()

	u1 := fake.ResponseURL()
	if u2 := fake.ResponseURL(); u2 == u1 || !strings.HasPrefix(u1, fake.URL()+"/") {
		t.Fatalf("response URLs %q, %q", u1, u2)
	}
	err := slack.PostWebhookContext(ctx, u1, &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: "on it",
		Blocks: &slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}}, ReplaceOriginal: true})
	if err != nil {
		t.Fatal(err)
	}
	// slack-go's chat options can target a response URL too.
	_, _, err = fake.Client().PostMessageContext(ctx, "", slack.MsgOptionResponseURL(u1, slack.ResponseTypeInChannel), slack.MsgOptionText("done", false))
	if err != nil {
		t.Fatal(err)
	}
	if err := slack.PostWebhookContext(ctx, fake.URL()+"/respond/99", &slack.WebhookMessage{Text: "x"}); err == nil {
		t.Error("a response URL never handed out accepted a post")
	}
	got, ok := fake.WaitResponses(2, time.Second)
	if !ok {
		t.Fatalf("responses = %+v", got)
	}
	b := got[0].Body
	if got[0].URL != u1 || b["response_type"] != "ephemeral" || b["text"] != "on it" || b["replace_original"] != true {
		t.Errorf("first response = %+v", got[0])
	}
	if blocks, _ := b["blocks"].([]any); len(blocks) != 1 {
		t.Errorf("blocks = %v", b["blocks"])
	}
	if got[1].Body["response_type"] != "in_channel" || got[1].Body["text"] != "done" {
		t.Errorf("second response = %+v", got[1])
	}
	if got, ok := fake.WaitResponses(3, 50*time.Millisecond); ok || len(got) != 2 {
		t.Errorf("WaitResponses(3) = %d, %v", len(got), ok)
	}
}

// TestEnvelopes checks that slack-go decodes each envelope helper into the
// right event, and that the acks come back.
func TestEnvelopes(t *testing.T) {
	fake := slacktest.New(t)
	mentions := make(chan *slackevents.AppMentionEvent, 1)
	messages := make(chan *slackevents.MessageEvent, 1)
	reactions := make(chan *slackevents.ReactionAddedEvent, 1)
	outer := make(chan slackevents.EventsAPIEvent, 3)
	cmds := make(chan slack.SlashCommand, 1)
	clicks := make(chan slack.InteractionCallback, 1)
	runSocket(t, fake, func(h *socketmode.SocketmodeHandler) {
		h.HandleEvents(slackevents.AppMention, func(evt *socketmode.Event, c *socketmode.Client) {
			c.Ack(*evt.Request)
			ev := evt.Data.(slackevents.EventsAPIEvent)
			outer <- ev
			mentions <- ev.InnerEvent.Data.(*slackevents.AppMentionEvent)
		})
		h.HandleEvents(slackevents.Message, func(evt *socketmode.Event, c *socketmode.Client) {
			c.Ack(*evt.Request)
			ev := evt.Data.(slackevents.EventsAPIEvent)
			outer <- ev
			messages <- ev.InnerEvent.Data.(*slackevents.MessageEvent)
		})
		h.HandleEvents(slackevents.ReactionAdded, func(evt *socketmode.Event, c *socketmode.Client) {
			c.Ack(*evt.Request)
			ev := evt.Data.(slackevents.EventsAPIEvent)
			outer <- ev
			reactions <- ev.InnerEvent.Data.(*slackevents.ReactionAddedEvent)
		})
		h.HandleSlashCommand("/devops", func(evt *socketmode.Event, c *socketmode.Client) {
			c.Ack(*evt.Request, map[string]any{"text": "on it"})
			cmds <- evt.Data.(slack.SlashCommand)
		})
		h.HandleInteractionBlockAction("ack_incident", func(evt *socketmode.Event, c *socketmode.Client) {
			c.Ack(*evt.Request)
			clicks <- evt.Data.(slack.InteractionCallback)
		})
	})

	send := func(env map[string]any) {
		t.Helper()
		if err := fake.Send(env); err != nil {
			t.Fatal(err)
		}
	}
	send(fake.EventEnvelope("env-m", "Ev1", map[string]any{"type": "app_mention", "user": "U1", "text": "<@U0BOT> why",
		"ts": "1700000001.000100", "thread_ts": "1700000000.000100", "channel": "C1"}))
	m := receive(t, mentions, "app_mention")
	if m.User != "U1" || m.Text != "<@U0BOT> why" || m.TimeStamp != "1700000001.000100" || m.ThreadTimeStamp != "1700000000.000100" || m.Channel != "C1" || m.EventTimeStamp != "1700000001.000100" {
		t.Errorf("mention = %+v", m)
	}
	o := receive(t, outer, "outer event")
	if cb, ok := o.Data.(*slackevents.EventsAPICallbackEvent); !ok || cb.EventID != "Ev1" || cb.TeamID != slacktest.TeamID || cb.APIAppID != slacktest.AppID || cb.EventTime != 1700000001 {
		t.Errorf("outer event = %+v", o.Data)
	}

	send(fake.EventEnvelope("env-msg", "Ev2", map[string]any{"type": "message", "channel_type": "channel", "user": "U2",
		"text": "hello", "ts": "1700000002.000100", "channel": "C1"}))
	if msg := receive(t, messages, "message"); msg.ChannelType != "channel" || msg.Text != "hello" || msg.User != "U2" {
		t.Errorf("message = %+v", msg)
	}
	receive(t, outer, "outer event")

	send(fake.EventEnvelope("env-r", "Ev3", map[string]any{"type": "reaction_added", "user": "U3", "reaction": "eyes",
		"item": map[string]any{"type": "message", "channel": "C1", "ts": "1700000001.000100"}, "item_user": "U0BOT", "event_ts": "1700000003.000100"}))
	if r := receive(t, reactions, "reaction_added"); r.Reaction != "eyes" || r.User != "U3" || r.Item.Channel != "C1" || r.Item.Timestamp != "1700000001.000100" {
		t.Errorf("reaction = %+v", r)
	}
	receive(t, outer, "outer event")

	slash := fake.SlashEnvelope("env-s", map[string]string{"text": "ask why 5xx", "channel_id": "C2"})
	send(slash)
	cmd := receive(t, cmds, "slash command")
	if cmd.Command != "/devops" || cmd.Text != "ask why 5xx" || cmd.ChannelID != "C2" || cmd.UserID == "" || cmd.TeamID != slacktest.TeamID || cmd.TriggerID == "" ||
		cmd.ResponseURL != slash["payload"].(map[string]any)["response_url"] || !strings.HasPrefix(cmd.ResponseURL, fake.URL()+"/respond/") {
		t.Errorf("slash command = %+v", cmd)
	}
	if err := slack.PostWebhookContext(t.Context(), cmd.ResponseURL, &slack.WebhookMessage{Text: "answer", ResponseType: slack.ResponseTypeEphemeral}); err != nil {
		t.Errorf("posting to the command's response_url: %v", err)
	}

	send(fake.BlockActionEnvelope("env-b", "U4", "C3", "1700000005.000100", "ack_incident", "INC-42"))
	cb := receive(t, clicks, "block action")
	if len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("block actions = %+v", cb.ActionCallback)
	}
	a := cb.ActionCallback.BlockActions[0]
	if cb.Type != slack.InteractionTypeBlockActions || a.ActionID != "ack_incident" || a.Value != "INC-42" || a.Type != "button" ||
		cb.User.ID != "U4" || cb.Channel.ID != "C3" || cb.Container.MessageTs != "1700000005.000100" || cb.Container.ChannelID != "C3" ||
		cb.Message.Timestamp != "1700000005.000100" || !strings.HasPrefix(cb.ResponseURL, fake.URL()+"/respond/") || cb.TriggerID == "" {
		t.Errorf("interaction = %+v, action %+v", cb, a)
	}

	for _, id := range []string{"env-m", "env-msg", "env-r", "env-s", "env-b"} {
		if _, ok := fake.WaitAck(id, 3*time.Second); !ok {
			t.Errorf("no ack for %s", id)
		}
	}
	if ack, _ := fake.WaitAck("env-s", 0); string(ack.Payload) != `{"text":"on it"}` {
		t.Errorf("slash ack payload = %s", ack.Payload)
	}
}

// TestBadMessage: an envelope slack-go cannot decode (here a slash command
// whose text is a number) reaches the app as EventTypeErrorBadMessage with
// *socketmode.ErrorBadMessage and no Request, so nothing acks it unless the
// app pulls envelope_id out of the raw message and calls AckCtx itself.
func TestBadMessage(t *testing.T) {
	fake := slacktest.New(t)
	bad := make(chan *socketmode.Event, 1)
	runSocket(t, fake, func(h *socketmode.SocketmodeHandler) {
		h.Handle(socketmode.EventTypeErrorBadMessage, func(evt *socketmode.Event, c *socketmode.Client) {
			bad <- evt
			var env struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if err := json.Unmarshal(evt.Data.(*socketmode.ErrorBadMessage).Message, &env); err == nil && env.EnvelopeID != "" {
				_ = c.AckCtx(context.Background(), env.EnvelopeID, nil)
			}
		})
	})
	env := fake.SlashEnvelope("env-bad", nil)
	env["payload"].(map[string]any)["text"] = 42
	if err := fake.Send(env); err != nil {
		t.Fatal(err)
	}
	evt := receive(t, bad, "error_bad_message")
	if evt.Request != nil {
		t.Errorf("bad message has a request: %+v", evt.Request)
	}
	if e, ok := evt.Data.(*socketmode.ErrorBadMessage); !ok || e.Cause == nil || !strings.Contains(string(e.Message), "env-bad") {
		t.Errorf("bad message data = %#v", evt.Data)
	}
	if _, ok := fake.WaitAck("env-bad", 3*time.Second); !ok {
		t.Error("the app's own ack of the bad envelope never arrived")
	}
}

// socketClient runs a socketmode handler that acks everything and reports
// each request it sees on seen.
func socketClient(t *testing.T, fake *slacktest.Server, seen chan<- socketmode.Request, ack bool) (stop func()) {
	return runSocket(t, fake, func(h *socketmode.SocketmodeHandler) {
		h.Handle(socketmode.EventTypeEventsAPI, func(evt *socketmode.Event, c *socketmode.Client) {
			if ack {
				c.Ack(*evt.Request)
			}
			seen <- *evt.Request
		})
	})
}

func mention(fake *slacktest.Server, n int) map[string]any {
	return fake.EventEnvelope(fmt.Sprintf("env-%d", n), fmt.Sprintf("Ev%d", n), map[string]any{
		"type": "app_mention", "user": "U1", "text": "<@U0BOT> hi", "ts": fmt.Sprintf("1700000000.%06d", n), "channel": "C1"})
}

func TestDisconnectReconnects(t *testing.T) {
	fake := slacktest.New(t)
	seen := make(chan socketmode.Request, 10)
	socketClient(t, fake, seen, true)
	if !fake.WaitConnections(1, 3*time.Second) || fake.Opens() != 1 {
		t.Fatalf("connections %d, opens %d", fake.Connections(), fake.Opens())
	}
	_ = fake.Send(mention(fake, 1))
	receive(t, seen, "event before the disconnect")
	if _, ok := fake.WaitAck("env-1", 3*time.Second); !ok {
		t.Fatal("no ack before the disconnect")
	}

	start := time.Now()
	fake.Disconnect("refresh_requested")
	if n := fake.Connections(); n != 0 {
		t.Errorf("%d connections get envelopes right after Disconnect, want 0", n)
	}
	if !fake.WaitOpens(2, 3*time.Second) || !fake.WaitConnections(1, 3*time.Second) {
		t.Fatalf("no reconnect: connections %d, opens %d", fake.Connections(), fake.Opens())
	}
	t.Logf("reconnected %v after Disconnect", time.Since(start))
	_ = fake.Send(mention(fake, 2))
	if r := receive(t, seen, "event after reconnect"); r.EnvelopeID != "env-2" {
		t.Errorf("request = %+v, want env-2 (env-1 was acked: no redelivery)", r)
	}
	if _, ok := fake.WaitAck("env-2", 3*time.Second); !ok {
		t.Error("no ack after reconnect")
	}
	time.Sleep(100 * time.Millisecond) // room for a wrong redelivery
	select {
	case r := <-seen:
		t.Errorf("unexpected delivery %+v", r)
	default:
	}
	if n := len(fake.CallsTo("apps.connections.open")); n != 2 || fake.Connections() != 1 {
		t.Errorf("connections %d, opens %d", fake.Connections(), n)
	}
}

// TestDisconnectFrame reads the frames with a bare websocket: hello, then
// the disconnect message; an envelope sent after it waits for the next
// connection.
func TestDisconnectFrame(t *testing.T) {
	fake := slacktest.New(t)
	wsURL := "ws" + strings.TrimPrefix(fake.URL(), "http") + "/ws"
	dial := func() *websocket.Conn {
		t.Helper()
		c, _, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		var hello map[string]any
		if err := c.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
			t.Fatalf("hello = %v, %v", hello, err)
		}
		return c
	}
	c1 := dial()
	if !fake.WaitConnections(1, time.Second) {
		t.Fatal("no connection")
	}
	fake.Disconnect("refresh_requested")
	var msg map[string]any
	if err := c1.ReadJSON(&msg); err != nil || msg["type"] != "disconnect" || msg["reason"] != "refresh_requested" ||
		msg["debug_info"].(map[string]any)["host"] != "fake" {
		t.Fatalf("disconnect frame = %v, %v", msg, err)
	}
	_ = fake.Send(mention(fake, 1))
	c2 := dial()
	if err := c2.ReadJSON(&msg); err != nil || msg["envelope_id"] != "env-1" {
		t.Errorf("new connection got %v, %v", msg, err)
	}
	// The old connection stays open, for the client to close, but gets
	// nothing more.
	_ = c1.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if err := c1.ReadJSON(&msg); err == nil {
		t.Errorf("the disconnected connection got %v", msg)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("the disconnected connection ended: %v", err)
	}
}

func TestDropReconnectsAndKeepsEnvelopes(t *testing.T) {
	fake := slacktest.New(t)
	seen := make(chan socketmode.Request, 10)
	socketClient(t, fake, seen, true)
	if !fake.WaitConnections(1, 3*time.Second) {
		t.Fatal("never connected")
	}
	start := time.Now()
	fake.DropConnections()
	_ = fake.Send(mention(fake, 1)) // sent while the client is cut off
	if !fake.WaitOpens(2, 3*time.Second) {
		t.Fatalf("no reconnect after a drop: opens %d", fake.Opens())
	}
	t.Logf("reconnected %v after DropConnections", time.Since(start))
	if r := receive(t, seen, "event sent during the drop"); r.EnvelopeID != "env-1" || r.RetryAttempt != 0 {
		t.Errorf("request = %+v", r)
	}
	if _, ok := fake.WaitAck("env-1", 3*time.Second); !ok {
		t.Error("no ack")
	}
}

// TestReplicas: with two clients connected, each envelope goes to exactly
// one of them.
func TestReplicas(t *testing.T) {
	fake := slacktest.New(t)
	seenA := make(chan socketmode.Request, 50)
	seenB := make(chan socketmode.Request, 50)
	socketClient(t, fake, seenA, true)
	socketClient(t, fake, seenB, true)
	if !fake.WaitConnections(2, 3*time.Second) {
		t.Fatalf("connections = %d, want 2", fake.Connections())
	}
	const n = 20
	for i := range n {
		if err := fake.Send(mention(fake, i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if _, ok := fake.WaitAck(fmt.Sprintf("env-%d", i), 3*time.Second); !ok {
			t.Fatalf("no ack for env-%d", i)
		}
	}
	time.Sleep(50 * time.Millisecond) // room for a wrong second delivery
	got := map[string]int{}
	a, b := len(seenA), len(seenB)
	for range a {
		got[(<-seenA).EnvelopeID]++
	}
	for range b {
		got[(<-seenB).EnvelopeID]++
	}
	if len(got) != n || a+b != n {
		t.Errorf("%d deliveries of %d envelopes (replica A %d, B %d), want %d each once", a+b, len(got), a, b, n)
	}
	t.Logf("replica A got %d, B got %d", a, b)
	if len(fake.Acks()) != n {
		t.Errorf("%d acks, want %d", len(fake.Acks()), n)
	}
}

// TestRedelivery: an envelope whose connection ends before its ack is sent
// again, to another connection, with retry_attempt 1.
func TestRedelivery(t *testing.T) {
	fake := slacktest.New(t)
	seenA := make(chan socketmode.Request, 5)
	stopA := socketClient(t, fake, seenA, false) // receives, never acks
	if !fake.WaitConnections(1, 3*time.Second) {
		t.Fatal("A never connected")
	}
	_ = fake.Send(mention(fake, 1))
	if r := receive(t, seenA, "first delivery"); r.EnvelopeID != "env-1" || r.RetryAttempt != 0 {
		t.Errorf("first delivery = %+v", r)
	}
	seenB := make(chan socketmode.Request, 5)
	socketClient(t, fake, seenB, true)
	if !fake.WaitConnections(2, 3*time.Second) {
		t.Fatal("B never connected")
	}
	stopA()
	r := receive(t, seenB, "redelivery")
	if r.EnvelopeID != "env-1" || r.RetryAttempt != 1 || r.RetryReason != "timeout" {
		t.Errorf("redelivery = %+v", r)
	}
	if _, ok := fake.WaitAck("env-1", 3*time.Second); !ok {
		t.Error("no ack of the redelivery")
	}
}
