// Package slacktest is a local fake of Slack for tests: an httptest server
// answering the Web API methods Nightshift uses and serving a Socket Mode
// websocket, so that tests run the real slack-go client end to end. It is for
// tests only and must never talk to the real Slack.
//
// New starts it; Client (or slack.OptionAPIURL(APIURL()) and
// slack.OptionAppLevelToken(AppToken)) points slack-go at it. URL is its
// base URL; Close runs when the test ends.
//
// Web API. Every call is recorded (Calls, CallsTo); RateLimit answers the
// next calls of a method with HTTP 429 and Retry-After. Methods:
//   - auth.test; apps.connections.open (app token only; counted by Opens)
//   - chat.postMessage, chat.update, chat.postEphemeral (answers
//     message_ts); the blocks JSON is in Call.Form["blocks"]
//   - chat.startStream, chat.appendStream, chat.stopStream after
//     SetStreaming(true) (otherwise unknown_method); appending to a stopped
//     stream answers message_not_in_streaming_state
//   - files.getUploadURLExternal, a POST of the bytes to the upload URL it
//     hands out (multipart or raw; not a Call), files.completeUploadExternal:
//     the sequence of slack-go's UploadFileContext; Uploads lists the
//     completed files
//   - usergroups.users.list (members from SetUserGroup, else
//     no_such_subteam), users.info (any id; names from SetUser),
//     conversations.info (any id)
//
// Response URLs. ResponseURL hands out a response_url on the fake; the JSON
// posted to it (slack.PostWebhookContext, slack.MsgOptionResponseURL) is in
// Responses and WaitResponses.
//
// Socket Mode. Send pushes an envelope to exactly one connection that gets
// envelopes (or to the next one), as Slack does with several; EventEnvelope,
// SlashEnvelope and BlockActionEnvelope build realistic ones. Acks and
// WaitAck give the acks. An envelope whose connection ends before its ack
// arrives is delivered again (at most 3 times) with retry_attempt counting
// up and retry_reason "timeout", so none is lost when a connection dies.
// Disconnect sends Slack's "disconnect" message (the connection then gets
// no envelopes; slack-go closes it and opens a new one), DropConnections
// cuts every websocket without a close frame; Connections, Opens,
// WaitConnections and WaitOpens follow them. The websocket pings every
// PingInterval.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// Tokens and ids the fake uses; Client uses the tokens.
const (
	BotToken = "xoxb-test"
	AppToken = "xapp-test"

	TeamID    = "T0TEST"
	AppID     = "A0TEST"
	BotUserID = "U0BOT"
	BotID     = "B0BOT"
)

// maxRedeliveries is how often an unacked envelope is delivered again after
// its connection ended (Slack retries Events API deliveries up to 3 times).
const maxRedeliveries = 3

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

// Upload is a file uploaded with files.getUploadURLExternal, a POST to the
// upload URL and files.completeUploadExternal.
type Upload struct {
	FileID         string
	Filename       string // from files.getUploadURLExternal
	Length         int    // the length declared to files.getUploadURLExternal
	Title          string // from the files JSON of files.completeUploadExternal
	Channel        string // channel_id
	ThreadTS       string // thread_ts
	InitialComment string // initial_comment
	Data           []byte // the bytes posted to the upload URL
}

// Response is one POST to a response URL from ResponseURL.
type Response struct {
	URL  string
	Body map[string]any // the JSON body: response_type, text, blocks, replace_original, …
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// PingInterval is how often the websocket sends a ping; slack-go
	// reconnects when it hears none for 30 s. Set it before connecting.
	PingInterval time.Duration

	srv *httptest.Server
	up  websocket.Upgrader

	done chan struct{}  // closed by Close
	wg   sync.WaitGroup // websocket handlers

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every change below
	calls     []Call
	acks      []Ack
	limited   map[string]int // method → calls still to answer with 429
	retry     map[string]time.Duration
	ts        int
	streaming bool
	streams   map[string]bool // stream ts → still streaming
	files     map[string]*Upload
	uploaded  map[string]bool // file id → bytes posted
	uploads   []Upload
	groups    map[string][]string
	users     map[string][2]string // id → name, real name
	responses []Response
	nresp     int // response URLs handed out
	ntrigger  int

	queue  []queued             // envelopes waiting for a connection
	flying map[string]*inFlight // envelope id → sent, not acked yet
	conns  map[*websocket.Conn]*wsConn
	seq    int // envelopes sent, for ordering redeliveries
	opens  int
}

type queued struct {
	b       []byte
	id      string
	attempt int // deliveries so far
}

type inFlight struct {
	queued
	conn *wsConn
	seq  int
}

type wsConn struct {
	c       *websocket.Conn
	disc    chan string // a disconnect reason for the writer to send
	closing bool        // told to disconnect, or dropped: gets no envelopes
}

// New starts a fake, closed when tb ends.
func New(tb testing.TB) *Server {
	s := &Server{
		PingInterval: 5 * time.Second,
		up:           websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		done:         make(chan struct{}),
		changed:      make(chan struct{}),
		limited:      map[string]int{},
		retry:        map[string]time.Duration{},
		streams:      map[string]bool{},
		files:        map[string]*Upload{},
		uploaded:     map[string]bool{},
		groups:       map[string][]string{},
		users:        map[string][2]string{},
		flying:       map[string]*inFlight{},
		conns:        map[*websocket.Conn]*wsConn{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.socket)
	mux.HandleFunc("/api/", s.api)
	mux.HandleFunc("/upload/", s.upload)
	mux.HandleFunc("/respond/", s.respond)
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

// broadcast wakes the waiters; s.mu must be held.
func (s *Server) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits up to timeout for cond, called with s.mu held, to hold.
func (s *Server) waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		case <-s.done:
			return false
		}
	}
}

// RateLimit answers the next n calls of method with HTTP 429 and a
// Retry-After of after (whole seconds, rounded up).
func (s *Server) RateLimit(method string, n int, after time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[method] = n
	s.retry[method] = after
}

// SetStreaming turns chat.startStream, chat.appendStream and chat.stopStream
// on or off (off by default: they answer unknown_method, as for a workspace
// without them).
func (s *Server) SetStreaming(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streaming = on
}

// SetUserGroup sets the members of user group id for usergroups.users.list.
func (s *Server) SetUserGroup(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = slices.Clone(users)
}

// SetUser sets the name and real name users.info answers for id; other ids
// get "user-<id>" and "User <id>".
func (s *Server) SetUser(id, name, realName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = [2]string{name, realName}
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

// Uploads returns the completed file uploads, in order.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// nextTS returns a fresh message ts; s.mu must be held.
func (s *Server) nextTS() string {
	s.ts++
	return fmt.Sprintf("1700000000.%06d", s.ts*100)
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
	s.calls = append(s.calls, call)
	after := s.retry[method]
	var reply map[string]any
	if call.Status == http.StatusOK {
		reply = s.answer(method, form, token, r.Host)
	}
	s.mu.Unlock()

	if call.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(after.Seconds()))))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

// answer computes the reply to one Web API call; s.mu must be held.
func (s *Server) answer(method string, form url.Values, token, host string) map[string]any {
	fail := func(e string) map[string]any { return map[string]any{"ok": false, "error": e} }
	channel := form.Get("channel")
	switch method {
	case "auth.test":
		return map[string]any{"ok": true, "url": "https://nightshift-test.slack.com/", "team": "test",
			"user": "nightshift", "team_id": TeamID, "user_id": BotUserID, "bot_id": BotID}
	case "apps.connections.open":
		if !strings.HasPrefix(token, "xapp-") {
			return fail("not_allowed_token_type")
		}
		s.opens++
		s.broadcast()
		return map[string]any{"ok": true, "url": "ws://" + host + "/ws"}
	case "chat.postMessage":
		ts := s.nextTS()
		return map[string]any{"ok": true, "channel": channel, "ts": ts,
			"message": map[string]any{"type": "message", "text": form.Get("text"), "ts": ts, "thread_ts": form.Get("thread_ts"),
				"user": BotUserID, "bot_id": BotID}}
	case "chat.update":
		return map[string]any{"ok": true, "channel": channel, "ts": form.Get("ts"), "text": form.Get("text")}
	case "chat.postEphemeral":
		if form.Get("user") == "" {
			return fail("user_not_in_channel")
		}
		return map[string]any{"ok": true, "message_ts": s.nextTS()}
	case "chat.startStream", "chat.appendStream", "chat.stopStream":
		if !s.streaming {
			return fail("unknown_method")
		}
		if method == "chat.startStream" {
			ts := s.nextTS()
			s.streams[ts] = true
			return map[string]any{"ok": true, "channel": channel, "ts": ts}
		}
		ts := form.Get("ts")
		open, ok := s.streams[ts]
		switch {
		case !ok:
			return fail("message_not_found")
		case !open:
			return fail("message_not_in_streaming_state")
		}
		if method == "chat.stopStream" {
			s.streams[ts] = false
			return map[string]any{"ok": true, "channel": channel, "ts": ts,
				"message": map[string]any{"type": "message", "ts": ts, "user": BotUserID, "bot_id": BotID}}
		}
		return map[string]any{"ok": true, "channel": channel, "ts": ts}
	case "files.getUploadURLExternal":
		n, err := strconv.Atoi(form.Get("length"))
		if form.Get("filename") == "" || err != nil || n <= 0 {
			return fail("invalid_arguments")
		}
		id := fmt.Sprintf("F0FAKE%04d", len(s.files)+1)
		s.files[id] = &Upload{FileID: id, Filename: form.Get("filename"), Length: n}
		return map[string]any{"ok": true, "upload_url": s.srv.URL + "/upload/" + id, "file_id": id}
	case "files.completeUploadExternal":
		var files []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		}
		if err := json.Unmarshal([]byte(form.Get("files")), &files); err != nil || len(files) == 0 {
			return fail("invalid_arguments")
		}
		for _, f := range files {
			if s.files[f.ID] == nil || !s.uploaded[f.ID] {
				return fail("file_not_found")
			}
		}
		var out []map[string]any
		for _, f := range files {
			u := *s.files[f.ID]
			u.Title = f.Title
			if u.Title == "" {
				u.Title = u.Filename
			}
			u.Channel, u.ThreadTS, u.InitialComment = form.Get("channel_id"), form.Get("thread_ts"), form.Get("initial_comment")
			if u.Channel == "" {
				u.Channel = form.Get("channels") // slack-go's Channels, comma-separated
			}
			s.uploads = append(s.uploads, u)
			out = append(out, map[string]any{"id": u.FileID, "title": u.Title})
		}
		return map[string]any{"ok": true, "files": out}
	case "usergroups.users.list":
		users, ok := s.groups[form.Get("usergroup")]
		if !ok {
			return fail("no_such_subteam")
		}
		return map[string]any{"ok": true, "users": append([]string{}, users...)}
	case "users.info":
		id := form.Get("user")
		if id == "" {
			return fail("user_not_found")
		}
		name, ok := s.users[id]
		if !ok {
			name = [2]string{"user-" + strings.ToLower(id), "User " + id}
		}
		return map[string]any{"ok": true, "user": map[string]any{"id": id, "team_id": TeamID, "name": name[0], "real_name": name[1],
			"profile": map[string]any{"real_name": name[1], "display_name": name[0]}}}
	case "conversations.info":
		if channel == "" {
			return fail("channel_not_found")
		}
		return map[string]any{"ok": true, "channel": map[string]any{"id": channel, "name": "channel-" + strings.ToLower(channel),
			"is_channel": true, "is_member": true, "context_team_id": TeamID}}
	default:
		return fail("unknown_method")
	}
}

// upload takes the bytes of a file at the URL files.getUploadURLExternal
// handed out: multipart/form-data (slack-go sends the field "file") or a raw
// body.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var data []byte
	var err error
	if mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, perr := mr.NextPart()
			if perr != nil {
				err = fmt.Errorf("no file part: %w", perr)
				break
			}
			if p.FileName() != "" || p.FormName() == "file" {
				data, err = io.ReadAll(p)
				break
			}
		}
	} else {
		data, err = io.ReadAll(r.Body)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	u := s.files[id]
	if u != nil {
		u.Data = data
		s.uploaded[id] = true
	}
	s.mu.Unlock()
	if u == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "OK - %d", len(data))
}

// ResponseURL hands out a new response_url on the fake, as Slack puts in a
// slash command or an interaction.
func (s *Server) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nresp++
	return fmt.Sprintf("%s/respond/%d", s.srv.URL, s.nresp)
}

// Responses returns the posts to response URLs so far, in order.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// WaitResponses waits up to timeout for n posts to response URLs in all; it
// returns the posts so far and whether there are n.
func (s *Server) WaitResponses(n int, timeout time.Duration) ([]Response, bool) {
	ok := s.waitFor(timeout, func() bool { return len(s.responses) >= n })
	return s.Responses(), ok
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/respond/"))
	s.mu.Lock()
	known := err == nil && n >= 1 && n <= s.nresp
	s.mu.Unlock()
	if !known || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.responses = append(s.responses, Response{URL: s.srv.URL + r.URL.Path, Body: body})
	s.broadcast()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// Send pushes a Socket Mode envelope (anything that marshals to JSON, e.g.
// EventEnvelope(…)) to one open connection, or to the next one to open.
func (s *Server) Send(envelope any) error {
	b, err := json.Marshal(envelope)
	if err != nil {
		return err
	}
	var head struct {
		EnvelopeID string `json:"envelope_id"`
	}
	_ = json.Unmarshal(b, &head)
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return fmt.Errorf("slacktest: server closed")
	default:
	}
	s.queue = append(s.queue, queued{b: b, id: head.EnvelopeID})
	s.broadcast()
	return nil
}

// Acks returns the Socket Mode acks received so far, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// WaitAck waits up to timeout for the ack of envelopeID.
func (s *Server) WaitAck(envelopeID string, timeout time.Duration) (Ack, bool) {
	var ack Ack
	ok := s.waitFor(timeout, func() bool {
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID {
				ack = a
				return true
			}
		}
		return false
	})
	return ack, ok
}

// Connections is the number of open Socket Mode connections that get
// envelopes (not those told to disconnect or dropped).
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active()
}

func (s *Server) active() int {
	n := 0
	for _, c := range s.conns {
		if !c.closing {
			n++
		}
	}
	return n
}

// Opens is the number of successful apps.connections.open calls.
func (s *Server) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// WaitConnections waits up to timeout until exactly n connections get
// envelopes.
func (s *Server) WaitConnections(n int, timeout time.Duration) bool {
	return s.waitFor(timeout, func() bool { return s.active() == n })
}

// WaitOpens waits up to timeout until apps.connections.open has succeeded n
// times in all.
func (s *Server) WaitOpens(n int, timeout time.Duration) bool {
	return s.waitFor(timeout, func() bool { return s.opens >= n })
}

// Disconnect sends Slack's {"type":"disconnect","reason":reason} to every
// open connection, which then gets no more envelopes; slack-go closes it
// and opens a new one.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.closing {
			continue
		}
		c.closing = true
		select {
		case c.disc <- reason:
		default:
		}
	}
	s.broadcast()
}

// DropConnections cuts every websocket at once, without a close frame, as a
// network failure would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.closing = true
		c.c.Close()
	}
	s.broadcast()
}

// socket serves one Socket Mode connection: hello, then envelopes from the
// queue and pings out, acks in. It ends when the client goes, on
// DropConnections or Close; unacked envelopes sent on it are queued again.
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
	wc := &wsConn{c: c, disc: make(chan string, 1)}
	s.mu.Lock()
	select {
	case <-s.done: // Close ran between the check above and here
		s.mu.Unlock()
		c.Close()
		return
	default:
	}
	s.conns[c] = wc
	n := s.active()
	s.broadcast()
	s.mu.Unlock()

	gone := make(chan struct{})
	defer func() {
		c.Close()
		<-gone // the acks that came before the end are in
		s.mu.Lock()
		delete(s.conns, c)
		s.redeliver(wc)
		s.broadcast()
		s.mu.Unlock()
	}()
	s.wg.Go(func() { // reader: collects acks
		defer close(gone)
		for {
			var a Ack
			if err := c.ReadJSON(&a); err != nil {
				return
			}
			s.mu.Lock()
			s.acks = append(s.acks, a)
			delete(s.flying, a.EnvelopeID)
			s.broadcast()
			s.mu.Unlock()
		}
	})

	if c.WriteJSON(map[string]any{"type": "hello", "num_connections": n,
		"debug_info":      map[string]any{"host": "fake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID}}) != nil {
		return
	}
	ping := time.NewTicker(s.PingInterval)
	defer ping.Stop()
	for {
		s.mu.Lock()
		var next *queued
		if !wc.closing && len(s.queue) > 0 {
			q := s.queue[0]
			s.queue = s.queue[1:]
			next = &q
			if q.id != "" {
				s.seq++
				s.flying[q.id] = &inFlight{queued: q, conn: wc, seq: s.seq}
			}
		}
		changed := s.changed
		s.mu.Unlock()

		if next != nil {
			if c.WriteMessage(websocket.TextMessage, next.b) != nil {
				s.mu.Lock()
				if f := s.flying[next.id]; f != nil && f.conn == wc {
					delete(s.flying, next.id)
				}
				s.queue = append([]queued{*next}, s.queue...)
				s.broadcast()
				s.mu.Unlock()
				return
			}
			continue
		}
		select {
		case <-changed:
		case reason := <-wc.disc:
			if c.WriteJSON(map[string]any{"type": "disconnect", "reason": reason,
				"debug_info": map[string]any{"host": "fake"}}) != nil {
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

// redeliver queues again, in the order they were sent and ahead of the
// rest, the unacked envelopes sent on wc; s.mu must be held.
func (s *Server) redeliver(wc *wsConn) {
	var again []*inFlight
	for id, f := range s.flying {
		if f.conn == wc {
			delete(s.flying, id)
			if f.attempt < maxRedeliveries {
				again = append(again, f)
			}
		}
	}
	slices.SortFunc(again, func(a, b *inFlight) int { return a.seq - b.seq })
	var front []queued
	for _, f := range again {
		q := f.queued
		q.attempt++
		q.b = withRetry(q.b, q.attempt)
		front = append(front, q)
	}
	s.queue = append(front, s.queue...)
}

// withRetry sets retry_attempt and retry_reason on an envelope object.
func withRetry(b []byte, attempt int) []byte {
	var env map[string]json.RawMessage
	if json.Unmarshal(b, &env) != nil {
		return b
	}
	env["retry_attempt"] = json.RawMessage(strconv.Itoa(attempt))
	env["retry_reason"] = json.RawMessage(`"timeout"`)
	out, err := json.Marshal(env)
	if err != nil {
		return b
	}
	return out
}

// EventEnvelope builds an events_api envelope around event (an inner event
// such as {"type":"app_mention","user":…,"text":…,"ts":…,"channel":…}):
// payload type event_callback with team_id, api_app_id, event_id,
// event_time and authorizations. A missing event_ts is set from ts.
func (s *Server) EventEnvelope(envelopeID, eventID string, event map[string]any) map[string]any {
	ev := make(map[string]any, len(event)+1)
	for k, v := range event {
		ev[k] = v
	}
	ts, _ := ev["ts"].(string)
	if _, ok := ev["event_ts"]; !ok && ts != "" {
		ev["event_ts"] = ts
	}
	if et, ok := ev["event_ts"].(string); ok {
		ts = et
	}
	eventTime := int64(1700000000)
	if sec, _, _ := strings.Cut(ts, "."); sec != "" {
		if n, err := strconv.ParseInt(sec, 10, 64); err == nil {
			eventTime = n
		}
	}
	evType, _ := ev["type"].(string)
	evContext := "1-" + evType + "-" + TeamID
	if ch, ok := ev["channel"].(string); ok {
		evContext += "-" + ch
	}
	return map[string]any{
		"type":                     "events_api",
		"envelope_id":              envelopeID,
		"accepts_response_payload": false,
		"retry_attempt":            0,
		"retry_reason":             "",
		"payload": map[string]any{
			"token":      "verification-token",
			"team_id":    TeamID,
			"api_app_id": AppID,
			"event":      ev,
			"type":       "event_callback",
			"event_id":   eventID,
			"event_time": eventTime,
			"authorizations": []any{map[string]any{"enterprise_id": nil, "team_id": TeamID, "user_id": BotUserID,
				"is_bot": true, "is_enterprise_install": false}},
			"is_ext_shared_channel": false,
			"event_context":         evContext,
		},
	}
}

// SlashEnvelope builds a slash_commands envelope (accepts_response_payload
// true). The payload has command "/devops", empty text, user U0USER in
// channel C0CHANNEL, team_id, api_app_id, a fresh ResponseURL and a
// trigger_id; keys in cmd ("text", "user_id", "channel_id", …) replace them.
func (s *Server) SlashEnvelope(envelopeID string, cmd map[string]string) map[string]any {
	s.mu.Lock()
	s.ntrigger++
	trigger := fmt.Sprintf("1700000000.%d.fake", s.ntrigger)
	s.mu.Unlock()
	payload := map[string]any{
		"token": "verification-token", "team_id": TeamID, "team_domain": "nightshift-test",
		"channel_id": "C0CHANNEL", "channel_name": "incidents", "user_id": "U0USER", "user_name": "oncall",
		"command": "/devops", "text": "", "api_app_id": AppID,
		"response_url": s.ResponseURL(), "trigger_id": trigger,
	}
	for k, v := range cmd {
		payload[k] = v
	}
	return map[string]any{"type": "slash_commands", "envelope_id": envelopeID, "accepts_response_payload": true, "payload": payload}
}

// BlockActionEnvelope builds an interactive envelope for a click on a
// button (action_id, value) in the message messageTS of channel by user:
// payload type block_actions with user, channel, container, message,
// actions, a fresh ResponseURL and a trigger_id.
func (s *Server) BlockActionEnvelope(envelopeID, user, channel, messageTS, actionID, value string) map[string]any {
	s.mu.Lock()
	s.ntrigger++
	trigger := fmt.Sprintf("1700000000.%d.fake", s.ntrigger)
	s.mu.Unlock()
	actionTS := "1700000100.000100"
	return map[string]any{
		"type":                     "interactive",
		"envelope_id":              envelopeID,
		"accepts_response_payload": false,
		"payload": map[string]any{
			"type":                  "block_actions",
			"user":                  map[string]any{"id": user, "username": "user-" + strings.ToLower(user), "name": "user-" + strings.ToLower(user), "team_id": TeamID},
			"api_app_id":            AppID,
			"token":                 "verification-token",
			"container":             map[string]any{"type": "message", "message_ts": messageTS, "channel_id": channel, "is_ephemeral": false},
			"trigger_id":            trigger,
			"team":                  map[string]any{"id": TeamID, "domain": "nightshift-test"},
			"enterprise":            nil,
			"is_enterprise_install": false,
			"channel":               map[string]any{"id": channel, "name": "channel-" + strings.ToLower(channel)},
			"message": map[string]any{"type": "message", "ts": messageTS, "user": BotUserID, "bot_id": BotID,
				"text": "", "team": TeamID},
			"state":        map[string]any{"values": map[string]any{}},
			"response_url": s.ResponseURL(),
			"actions": []any{map[string]any{
				"action_id": actionID, "block_id": "actions", "value": value, "type": "button",
				"text":      map[string]any{"type": "plain_text", "text": value, "emoji": true},
				"action_ts": actionTS,
			}},
		},
	}
}
