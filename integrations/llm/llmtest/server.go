package llmtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// ServerOption configures an HTTP fake.
type ServerOption func(*serverConfig)

type serverConfig struct {
	apiKey string
	tls    bool
}

// WithTLS serves HTTPS with httptest's self-signed certificate; use the
// fake's Server.Client() as the HTTP client. Bedrock API keys (bearer
// tokens) are only sent over HTTPS.
func WithTLS() ServerOption {
	return func(c *serverConfig) { c.tls = true }
}

// WithAPIKey makes the fake reject requests that do not carry key the way
// the real API expects it (Authorization: Bearer for OpenAI and Bedrock
// API keys, x-api-key for Anthropic). The 401 message echoes the key that
// was presented, so tests can prove the caller redacts it.
func WithAPIKey(key string) ServerOption {
	return func(c *serverConfig) { c.apiKey = key }
}

// script is the reply queue and request log every HTTP fake shares.
type script[R any] struct {
	mu       sync.Mutex
	replies  []Reply
	requests []R
	served   int
	// inflight counts handlers that have not recorded their request yet:
	// a handler records after writing its reply, so a client can hold the
	// reply before the record exists; recorded waits for them.
	inflight sync.WaitGroup
}

// begin marks a handler as started; the returned func ends it.
func (s *script[R]) begin() func() {
	s.inflight.Add(1)
	return s.inflight.Done
}

func (s *script[R]) enqueue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

// next pops the next reply and a sequence number for ids.
func (s *script[R]) next() (Reply, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.replies) == 0 {
		return Reply{}, 0, false
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	s.served++
	return r, s.served, true
}

func (s *script[R]) record(r R) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

func (s *script[R]) recorded() []R {
	s.inflight.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]R(nil), s.requests...)
}

func (s *script[R]) remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.replies)
}

// start runs h on a loopback httptest server closed when t ends.
func start(t testing.TB, cfg serverConfig, h http.Handler) *httptest.Server {
	var srv *httptest.Server
	if cfg.tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	if t != nil {
		t.Cleanup(srv.Close)
	}
	return srv
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// nonNullObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &m) == nil && m != nil
}

// validToolName mirrors the providers' rule ^[a-zA-Z0-9_-]{1,64}$.
func validToolName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}
