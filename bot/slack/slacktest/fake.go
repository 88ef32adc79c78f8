// Package slacktest is a local fake of Slack for tests: an httptest server
// answering the Web API methods Nightshift uses (chat.postMessage,
// chat.update, auth.test, apps.connections.open) and serving a Socket Mode
// websocket, so that tests run the real slack-go client end to end.
//
// It records every Web API call for assertions, can answer calls with
// HTTP 429 and Retry-After, pushes Socket Mode envelopes and collects their
// acks. It is for tests only and must never talk to the real Slack.
package slacktest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// Tokens the fake accepts; Client uses them.
const (
	BotToken = "xoxb-test"
	AppToken = "xapp-test"
)

// Call is one Web API call the fake received.
type Call struct {
	Method string     // "chat.postMessage"
	Form   url.Values // the form values, without the token
	Token  string     // from the form or the Authorization header
	Status int        // the HTTP status the fake answered with
}

// Ack is a Socket Mode acknowledgement the fake received.
type Ack struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// PingInterval is how often the websocket sends a ping; slack-go
	// reconnects when it hears none for 30 s. Set it before connecting.
	PingInterval time.Duration

	srv *httptest.Server
	up  websocket.Upgrader

	outbox chan []byte    // envelopes to push over the websocket
	done   chan struct{}  // closed by Close
	wg     sync.WaitGroup // websocket handlers

	mu        sync.Mutex
	calls     []Call
	acks      []Ack
	limited   map[string]int // method → calls still to answer with 429
	retry     map[string]time.Duration
	ts        int
	conns     map[*websocket.Conn]bool
	ackNotify chan struct{} // closed and replaced on every ack
}

// New starts a fake, closed when tb ends.
func New(tb testing.TB) *Server {
	s := &Server{
		PingInterval: 5 * time.Second,
		up:           websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		outbox:       make(chan []byte, 64),
		done:         make(chan struct{}),
		limited:      map[string]int{},
		retry:        map[string]time.Duration{},
		conns:        map[*websocket.Conn]bool{},
		ackNotify:    make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.socket)
	mux.HandleFunc("/api/", s.api)
	s.srv = httptest.NewServer(mux)
	tb.Cleanup(s.Close)
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the Web API base URL for slack.OptionAPIURL (trailing slash).
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Client returns a slack-go client for the fake with BotToken and AppToken.
func (s *Server) Client(opts ...slack.Option) *slack.Client {
	return slack.New(BotToken, append([]slack.Option{slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(AppToken)}, opts...)...)
}

// Close closes the websockets and the server and waits for its handlers.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	close(s.done)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.srv.Close()
	s.wg.Wait()
}

// RateLimit answers the next n calls of method with HTTP 429 and a
// Retry-After of after (whole seconds, rounded up).
func (s *Server) RateLimit(method string, n int, after time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[method] = n
	s.retry[method] = after
}

// Calls returns the Web API calls received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the calls of one method.
func (s *Server) CallsTo(method string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form := url.Values{}
	for k, v := range r.Form {
		form[k] = v
	}
	token := form.Get("token")
	form.Del("token")
	if token == "" {
		token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}

	s.mu.Lock()
	call := Call{Method: method, Form: form, Token: token, Status: http.StatusOK}
	if s.limited[method] > 0 {
		s.limited[method]--
		call.Status = http.StatusTooManyRequests
	}
	after := s.retry[method]
	var ts string
	if method == "chat.postMessage" {
		s.ts++
		ts = fmt.Sprintf("1700000000.%06d", s.ts*100)
	}
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	if call.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(after.Seconds()))))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	reply := map[string]any{"ok": true}
	switch method {
	case "auth.test":
		reply = map[string]any{"ok": true, "url": "https://nightshift-test.slack.com/", "team": "test",
			"user": "nightshift", "team_id": "T0TEST", "user_id": "U0BOT", "bot_id": "B0BOT"}
	case "apps.connections.open":
		if !strings.HasPrefix(token, "xapp-") {
			reply = map[string]any{"ok": false, "error": "not_allowed_token_type"}
			break
		}
		reply["url"] = "ws://" + r.Host + "/ws"
	case "chat.postMessage":
		reply["channel"], reply["ts"] = form.Get("channel"), ts
		reply["message"] = map[string]any{"type": "message", "text": form.Get("text"), "ts": ts, "thread_ts": form.Get("thread_ts")}
	case "chat.update":
		reply["channel"], reply["ts"], reply["text"] = form.Get("channel"), form.Get("ts"), form.Get("text")
	default:
		reply = map[string]any{"ok": false, "error": "unknown_method"}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

// Send pushes a Socket Mode envelope (anything that marshals to JSON, e.g.
// {"type":"events_api","envelope_id":"e1","payload":{…}}) to the connected
// client, or to the next one to connect.
func (s *Server) Send(envelope any) error {
	b, err := json.Marshal(envelope)
	if err != nil {
		return err
	}
	select {
	case s.outbox <- b:
		return nil
	case <-s.done:
		return fmt.Errorf("slacktest: server closed")
	}
}

// Acks returns the Socket Mode acks received so far, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// WaitAck waits up to timeout for the ack of envelopeID.
func (s *Server) WaitAck(envelopeID string, timeout time.Duration) (Ack, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID {
				s.mu.Unlock()
				return a, true
			}
		}
		notify := s.ackNotify
		s.mu.Unlock()
		select {
		case <-notify:
		case <-deadline.C:
			return Ack{}, false
		case <-s.done:
			return Ack{}, false
		}
	}
}

// socket serves one Socket Mode connection: hello, then envelopes from the
// outbox and pings out, acks in. It ends when the client goes or Close.
func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		http.Error(w, "closed", http.StatusServiceUnavailable)
		return
	default:
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	c, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()

	gone := make(chan struct{})
	s.wg.Go(func() { // reader: collects acks
		defer close(gone)
		for {
			var a Ack
			if err := c.ReadJSON(&a); err != nil {
				return
			}
			s.mu.Lock()
			s.acks = append(s.acks, a)
			close(s.ackNotify)
			s.ackNotify = make(chan struct{})
			s.mu.Unlock()
		}
	})

	if c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": "A0TEST"}}) != nil {
		return
	}
	ping := time.NewTicker(s.PingInterval)
	defer ping.Stop()
	for {
		select {
		case b := <-s.outbox:
			if c.WriteMessage(websocket.TextMessage, b) != nil {
				s.requeue(b)
				return
			}
		case <-ping.C:
			if c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)) != nil {
				return
			}
		case <-gone:
			return
		case <-s.done:
			return
		}
	}
}

// requeue puts back an envelope that a dying connection could not send.
func (s *Server) requeue(b []byte) {
	select {
	case s.outbox <- b:
	default:
	}
}
