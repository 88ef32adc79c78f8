package botframework_test

import (
	"context"
	"encoding/json"
	"errors"
	"go/build"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/infracloudio/msbotbuilder-go/schema"

	"github.com/nightshift-ops/nightshift/bot/teams/botframework"
)

const (
	channelThread = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2;messageid=1700000000000"
	escapedThread = "19%3A4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2%3Bmessageid%3D1700000000000"
)

// staticTokens is a TokenProvider with a fixed token, counting calls.
type staticTokens struct{ calls atomic.Int32 }

func (s *staticTokens) Token(context.Context) (string, error) {
	s.calls.Add(1)
	return "bot-token", nil
}

// received is one request the fake connector got.
type received struct {
	Method, URI, Auth string
	Body              map[string]any
}

// answer is one scripted response of the fake connector.
type answer struct {
	status     int
	retryAfter string
	body       string
}

// connectorFake is a fake Bot Connector service: it records requests and
// answers from a script (the last answer repeats).
type connectorFake struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	script []answer
}

func newConnectorFake(t *testing.T, script ...answer) *connectorFake {
	t.Helper()
	f := &connectorFake{t: t, script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body: %v", err)
		}
		f.mu.Lock()
		f.got = append(f.got, received{r.Method, r.RequestURI, r.Header.Get("Authorization"), body})
		a := f.script[min(len(f.got), len(f.script))-1]
		f.mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// serviceURL is the fake's URL as Teams gives it: a region path and a
// trailing slash.
func (f *connectorFake) serviceURL() string { return f.srv.URL + "/amer/" }

func (f *connectorFake) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

func newConnector(t *testing.T, tokens botframework.TokenProvider, s *sleeps) *botframework.Connector {
	t.Helper()
	c, err := botframework.NewConnector(botframework.ConnectorConfig{Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	botframework.SetSleep(c, s.sleep)
	return c
}

func TestConnectorCreateConversationStartsAThread(t *testing.T) {
	f := newConnectorFake(t, answer{status: http.StatusCreated,
		body: `{"id":"` + channelThread + `","activityId":"1700000000000"}`})
	c := newConnector(t, &staticTokens{}, &sleeps{})
	convID, actID, err := c.CreateConversation(t.Context(), f.serviceURL(), botframework.ConversationParameters{
		IsGroup: true,
		ChannelData: &botframework.TeamsChannelData{
			Channel: &botframework.TeamsRef{ID: "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"},
			Tenant:  &botframework.TeamsRef{ID: "72f988bf-86f1-41af-91ab-2d7cd011db47"},
		},
		Activity: &schema.Activity{Type: schema.Message, Text: "🔥 checkout-api: p99 latency above 2 s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if convID != channelThread || actID != "1700000000000" {
		t.Errorf("CreateConversation = %q, %q", convID, actID)
	}
	want := []received{{
		Method: "POST", URI: "/amer/v3/conversations", Auth: "Bearer bot-token",
		Body: map[string]any{
			"isGroup": true,
			"channelData": map[string]any{
				"channel": map[string]any{"id": "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"},
				"tenant":  map[string]any{"id": "72f988bf-86f1-41af-91ab-2d7cd011db47"},
			},
			// No zero timestamps, no empty from/recipient/conversation.
			"activity": map[string]any{"type": "message", "text": "🔥 checkout-api: p99 latency above 2 s"},
		},
	}}
	if diff := cmp.Diff(want, f.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestConnectorSendReplyUpdate(t *testing.T) {
	f := newConnectorFake(t,
		answer{status: http.StatusCreated, body: `{"id":"1700000000101"}`},
		answer{status: http.StatusOK, body: `{"id":"1700000000102"}`},
		answer{status: http.StatusOK, body: `{"id":"1700000000101"}`},
	)
	c := newConnector(t, &staticTokens{}, &sleeps{})
	ctx := t.Context()

	sent, err := c.SendToConversation(ctx, f.serviceURL(), channelThread, &schema.Activity{Text: "Investigating…"})
	if err != nil || sent != "1700000000101" {
		t.Fatalf("SendToConversation = %q, %v", sent, err)
	}
	reply, err := c.ReplyToActivity(ctx, f.serviceURL(), channelThread, "1700000000000", &schema.Activity{Type: schema.Message, Text: "Finding 1"})
	if err != nil || reply != "1700000000102" {
		t.Fatalf("ReplyToActivity = %q, %v", reply, err)
	}
	if err := c.UpdateActivity(ctx, f.serviceURL(), channelThread, sent, &schema.Activity{Type: schema.Message, Text: "Root cause found"}); err != nil {
		t.Fatalf("UpdateActivity: %v", err)
	}

	want := []received{
		{"POST", "/amer/v3/conversations/" + escapedThread + "/activities", "Bearer bot-token",
			map[string]any{"type": "message", "text": "Investigating…"}},
		{"POST", "/amer/v3/conversations/" + escapedThread + "/activities/1700000000000", "Bearer bot-token",
			map[string]any{"type": "message", "text": "Finding 1", "replyToId": "1700000000000"}},
		{"PUT", "/amer/v3/conversations/" + escapedThread + "/activities/1700000000101", "Bearer bot-token",
			map[string]any{"type": "message", "text": "Root cause found", "id": "1700000000101"}},
	}
	if diff := cmp.Diff(want, f.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestConnectorKeepsTheCallersData(t *testing.T) {
	f := newConnectorFake(t, answer{status: http.StatusOK, body: `{"id":"1"}`})
	c := newConnector(t, &staticTokens{}, &sleeps{})
	card := map[string]any{"type": "AdaptiveCard", "version": "1.5", "msteams": map[string]any{}, "body": []any{}}
	act := &schema.Activity{
		Type:        schema.Message,
		Attachments: []schema.Attachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}},
		ChannelData: map[string]any{"notification": map[string]any{"alert": true}, "feedback": map[string]any{}},
		Timestamp:   time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
	}
	if _, err := c.SendToConversation(t.Context(), f.serviceURL(), channelThread, act); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":        "message",
		"timestamp":   "2026-03-02T09:30:00Z",
		"attachments": []any{map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}},
		"channelData": map[string]any{"notification": map[string]any{"alert": true}, "feedback": map[string]any{}},
	}
	if diff := cmp.Diff(want, f.requests()[0].Body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestConnectorEscapesIDs(t *testing.T) {
	f := newConnectorFake(t, answer{status: http.StatusOK, body: `{"id":"x"}`})
	c := newConnector(t, &staticTokens{}, &sleeps{})
	for _, tc := range []struct{ conv, act, uri string }{
		{"a:b;c=d@e/f?g#h", "1", "/amer/v3/conversations/a%3Ab%3Bc%3Dd%40e%2Ff%3Fg%23h/activities/1"},
		{"..", "..", "/amer/v3/conversations/%2E%2E/activities/%2E%2E"},
		{"29:1abc-_.~", "f:1/2", "/amer/v3/conversations/29%3A1abc-_.~/activities/f%3A1%2F2"},
	} {
		if _, err := c.ReplyToActivity(t.Context(), f.serviceURL(), tc.conv, tc.act, &schema.Activity{Text: "x"}); err != nil {
			t.Fatal(err)
		}
		got := f.requests()
		if uri := got[len(got)-1].URI; uri != tc.uri {
			t.Errorf("conversation %q, activity %q: request URI %s, want %s", tc.conv, tc.act, uri, tc.uri)
		}
	}
}

func TestConnectorHonoursRetryAfter(t *testing.T) {
	f := newConnectorFake(t,
		answer{status: http.StatusTooManyRequests, retryAfter: "7", body: `{"error":{"code":"Throttled"}}`},
		answer{status: http.StatusTooManyRequests, retryAfter: time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)},
		answer{status: http.StatusCreated, body: `{"id":"1700000000101"}`},
	)
	s := &sleeps{}
	tokens := &staticTokens{}
	c := newConnector(t, tokens, s)
	id, err := c.SendToConversation(t.Context(), f.serviceURL(), channelThread, &schema.Activity{Text: "x"})
	if err != nil || id != "1700000000101" {
		t.Fatalf("SendToConversation = %q, %v", id, err)
	}
	waits := s.all()
	if len(waits) != 2 || waits[0] != 7*time.Second || waits[1] <= time.Second || waits[1] > 3*time.Second {
		t.Errorf("waits = %v, want [7s, about 3s]", waits)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if n := tokens.calls.Load(); n != 3 {
		t.Errorf("token asked %d times, want once per attempt", n)
	}
}

func TestConnectorGivesUpAfterThreeRetries(t *testing.T) {
	f := newConnectorFake(t, answer{status: http.StatusTooManyRequests, retryAfter: "1", body: `{"error":{"code":"Throttled"}}`})
	s := &sleeps{}
	c := newConnector(t, &staticTokens{}, s)
	_, err := c.SendToConversation(t.Context(), f.serviceURL(), channelThread, &schema.Activity{Text: "x"})
	var apiErr *botframework.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.RetryAfter != time.Second {
		t.Fatalf("error = %v, want a 429 APIError", err)
	}
	if n := len(f.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestConnectorDoesNotWaitForALongRetryAfter(t *testing.T) {
	f := newConnectorFake(t, answer{status: http.StatusTooManyRequests, retryAfter: "3600"})
	s := &sleeps{}
	c := newConnector(t, &staticTokens{}, s)
	if err := c.UpdateActivity(t.Context(), f.serviceURL(), channelThread, "1", &schema.Activity{Text: "x"}); err == nil || !strings.Contains(err.Error(), "1h0m0s") {
		t.Fatalf("error = %v, want one naming the wait", err)
	}
	if len(s.all()) != 0 {
		t.Errorf("waited %v", s.all())
	}
}

func TestConnectorRetries5xx(t *testing.T) {
	f := newConnectorFake(t,
		answer{status: http.StatusBadGateway, body: "bad gateway"},
		answer{status: http.StatusServiceUnavailable},
		answer{status: http.StatusCreated, body: `{"id":"1700000000101"}`},
	)
	s := &sleeps{}
	c := newConnector(t, &staticTokens{}, s)
	id, err := c.SendToConversation(t.Context(), f.serviceURL(), channelThread, &schema.Activity{Text: "x"})
	if err != nil || id != "1700000000101" {
		t.Fatalf("SendToConversation = %q, %v", id, err)
	}
	// Jittered exponential backoff from 500 ms.
	if w := s.all(); len(w) != 2 || w[0] < 250*time.Millisecond || w[0] > 500*time.Millisecond ||
		w[1] < 500*time.Millisecond || w[1] > time.Second {
		t.Errorf("waits = %v, want two growing backoffs", w)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestConnectorErrorHasStatusAndBody(t *testing.T) {
	long := `{"error":{"code":"BotNotInConversationRoster","message":"The bot is not part of the conversation roster."}}` +
		strings.Repeat(" padding", 2000)
	f := newConnectorFake(t, answer{status: http.StatusForbidden, body: long})
	c := newConnector(t, &staticTokens{}, &sleeps{})
	_, err := c.SendToConversation(t.Context(), f.serviceURL(), channelThread, &schema.Activity{Text: "x"})
	var apiErr *botframework.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
		t.Fatalf("error = %v, want a 403 APIError", err)
	}
	for _, want := range []string{"403 Forbidden", "BotNotInConversationRoster", "POST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if len(apiErr.Body) > 512 || len(err.Error()) > 1024 {
		t.Errorf("error body not bounded: %d bytes, message %d bytes", len(apiErr.Body), len(err.Error()))
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("a 403 was sent %d times, want once", n)
	}
}

func TestConnectorRejectsBadServiceURLs(t *testing.T) {
	tokens := &staticTokens{}
	c := newConnector(t, tokens, &sleeps{})
	for _, u := range []string{"http://smba.example.com/amer/", "smba.trafficmanager.net/amer", "https://u:p@smba.example.com/", "https://smba.example.com/?x=1"} {
		if _, err := c.SendToConversation(t.Context(), u, channelThread, &schema.Activity{Text: "x"}); err == nil {
			t.Errorf("serviceUrl %q accepted", u)
		}
	}
	if _, err := c.SendToConversation(t.Context(), "https://smba.example.com/", "", &schema.Activity{Text: "x"}); err == nil {
		t.Error("empty conversation id accepted")
	}
	if _, err := c.SendToConversation(t.Context(), "https://smba.example.com/", channelThread, nil); err == nil {
		t.Error("nil activity accepted")
	}
	if n := tokens.calls.Load(); n != 0 {
		t.Errorf("token asked %d times for calls that cannot be sent", n)
	}
}

// TestConnectorTokenEndpointUnreachable is the failure that makes the
// library's ConnectorClient dereference a nil response and crash: here it
// is an error, and nothing reaches the connector.
func TestConnectorTokenEndpointUnreachable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/tenant-1/oauth2/v2.0/token"
	dead.Close()
	ts, err := botframework.NewTokenSource(botframework.TokenSourceConfig{
		AppID: botID, AppSecret: botSecret, TokenURL: deadURL, MaxRetries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := newConnectorFake(t, answer{status: http.StatusCreated, body: `{"id":"1"}`})
	c := newConnector(t, ts, &sleeps{})

	done := make(chan error, 1)
	go func() { // a background goroutine, like a proactive notification
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("panic: %v", p)
			}
		}()
		_, err := c.SendToConversation(context.Background(), f.serviceURL(), channelThread, &schema.Activity{Text: "x"})
		done <- err
	}()
	err = <-done
	if err == nil || !strings.Contains(err.Error(), "get token") {
		t.Fatalf("SendToConversation = %v, want a token error", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests reached the connector without a token", n)
	}
	if _, _, err := c.CreateConversation(t.Context(), f.serviceURL(), botframework.ConversationParameters{IsGroup: true}); err == nil {
		t.Error("CreateConversation without a token succeeded")
	}
}

// TestNoLibraryOutboundClient checks that the package does not import the
// library's outbound client (connector/client, or core which wraps it), so
// that its nil-response panic cannot be reached from here.
func TestNoLibraryOutboundClient(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/infracloudio/msbotbuilder-go/") &&
			imp != "github.com/infracloudio/msbotbuilder-go/schema" &&
			imp != "github.com/infracloudio/msbotbuilder-go/connector/auth" {
			t.Errorf("the package imports %s; only schema and connector/auth are allowed", imp)
		}
	}
}
