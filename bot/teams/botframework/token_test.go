package botframework_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/bot/teams/botframework"
)

const (
	botID     = "8f1e7a52-0c4b-4c43-9d7e-3a6c1b2d4e5f"
	botSecret = "s3cr3t~value-that-must-not-leak"
)

// sleeps records the retry waits of a TokenSource or Connector instead of
// sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// tokenEndpoint is a fake Entra token endpoint. Each request takes the next
// answer of script (the last one repeats); "ok" issues a new token.
type tokenEndpoint struct {
	t      *testing.T
	srv    *httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	script []string
}

func newTokenEndpoint(t *testing.T, script ...string) *tokenEndpoint {
	t.Helper()
	e := &tokenEndpoint{t: t, script: script}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *tokenEndpoint) url() string { return e.srv.URL + "/tenant-1/oauth2/v2.0/token" }

func (e *tokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	n := int(e.hits.Add(1))
	if r.Method != http.MethodPost || r.URL.Path != "/tenant-1/oauth2/v2.0/token" {
		http.Error(w, "wrong endpoint", http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		http.Error(w, "content type "+ct, http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	want := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {botID},
		"client_secret": {botSecret},
		"scope":         {"https://api.botframework.com/.default"},
	}
	if r.PostForm.Encode() != want.Encode() {
		e.t.Errorf("token request form = %v", r.PostForm)
	}
	e.mu.Lock()
	answer := e.script[min(n, len(e.script))-1]
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch answer {
	case "ok":
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"token-%d"}`, n)
	case "ok-string-expiry":
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":"3599","access_token":"token-%d"}`, n)
	case "429":
		w.Header().Set("Retry-After", "2")
		http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusTooManyRequests)
	case "400":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
	default:
		var code int
		_, _ = fmt.Sscan(answer, &code)
		http.Error(w, "upstream trouble", code)
	}
}

func newTokenSource(t *testing.T, tokenURL string, clk *clock, s *sleeps) *botframework.TokenSource {
	t.Helper()
	ts, err := botframework.NewTokenSource(botframework.TokenSourceConfig{
		AppID: botID, AppSecret: botSecret, TokenURL: tokenURL, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	botframework.SetSleep(ts, s.sleep)
	return ts
}

func TestTokenSourceCachesAndCollapsesRefreshes(t *testing.T) {
	e := newTokenEndpoint(t, "ok")
	ts := newTokenSource(t, e.url(), newClock(), &sleeps{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			tok, err := ts.Token(t.Context())
			if err != nil || tok != "token-1" {
				t.Errorf("Token = %q, %v", tok, err)
			}
		})
	}
	wg.Wait()
	for range 10 {
		if tok, err := ts.Token(t.Context()); err != nil || tok != "token-1" {
			t.Fatalf("Token = %q, %v", tok, err)
		}
	}
	if n := e.hits.Load(); n != 1 {
		t.Errorf("token endpoint called %d times, want 1", n)
	}
}

func TestTokenSourceRefreshesNearExpiry(t *testing.T) {
	e := newTokenEndpoint(t, "ok-string-expiry", "ok")
	clk := newClock()
	ts := newTokenSource(t, e.url(), clk, &sleeps{})
	if tok, err := ts.Token(t.Context()); err != nil || tok != "token-1" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	// 3599 s of life, renewed from 5 minutes before the end.
	clk.Advance(3599*time.Second - 5*time.Minute - time.Second)
	if tok, _ := ts.Token(t.Context()); tok != "token-1" || e.hits.Load() != 1 {
		t.Fatalf("before the margin: Token = %q after %d requests", tok, e.hits.Load())
	}
	clk.Advance(2 * time.Second)
	if tok, err := ts.Token(t.Context()); err != nil || tok != "token-2" {
		t.Fatalf("in the margin: Token = %q, %v; want a new token", tok, err)
	}
}

func TestTokenSourceRetriesUntilTheEndpointIsBack(t *testing.T) {
	e := newTokenEndpoint(t, "503", "500", "429", "ok")
	s := &sleeps{}
	ts := newTokenSource(t, e.url(), newClock(), s)
	tok, err := ts.Token(t.Context())
	if err != nil || tok != "token-4" {
		t.Fatalf("Token = %q, %v; want token-4", tok, err)
	}
	got := s.all()
	if len(got) != 3 {
		t.Fatalf("waits = %v, want 3", got)
	}
	// Jittered exponential backoff from 500 ms, then the 429's Retry-After.
	if got[0] < 250*time.Millisecond || got[0] > 500*time.Millisecond ||
		got[1] < 500*time.Millisecond || got[1] > time.Second || got[2] != 2*time.Second {
		t.Errorf("waits = %v", got)
	}
}

func TestTokenSourceGivesUp(t *testing.T) {
	e := newTokenEndpoint(t, "502")
	s := &sleeps{}
	ts := newTokenSource(t, e.url(), newClock(), s)
	_, err := ts.Token(t.Context())
	var apiErr *botframework.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway {
		t.Fatalf("Token error = %v, want a 502 APIError", err)
	}
	if n := e.hits.Load(); n != 4 {
		t.Errorf("token endpoint called %d times, want 4 (3 retries)", n)
	}
}

func TestTokenSourceBadCredentialsAreNotRetried(t *testing.T) {
	e := newTokenEndpoint(t, "400")
	ts := newTokenSource(t, e.url(), newClock(), &sleeps{})
	_, err := ts.Token(t.Context())
	if err == nil {
		t.Fatal("Token succeeded")
	}
	for _, want := range []string{"400", "invalid_client", "AADSTS7000215"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), botSecret) {
		t.Error("the error holds the client secret")
	}
	if n := e.hits.Load(); n != 1 {
		t.Errorf("token endpoint called %d times, want 1", n)
	}
}

func TestTokenSourceNetworkErrorIsAnError(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/tenant-1/oauth2/v2.0/token"
	dead.Close()
	s := &sleeps{}
	ts := newTokenSource(t, deadURL, newClock(), s)
	tok, err := ts.Token(t.Context())
	if err == nil || tok != "" {
		t.Fatalf("Token = %q, %v; want an error", tok, err)
	}
	if n := len(s.all()); n != 3 {
		t.Errorf("%d retries, want 3", n)
	}
}

func TestTokenSourceKeepsAValidTokenWhenRenewalFails(t *testing.T) {
	e := newTokenEndpoint(t, "ok", "503")
	clk := newClock()
	ts := newTokenSource(t, e.url(), clk, &sleeps{})
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(58 * time.Minute) // in the renewal margin, not expired
	if tok, err := ts.Token(t.Context()); err != nil || tok != "token-1" {
		t.Fatalf("Token = %q, %v; want the current token", tok, err)
	}
	clk.Advance(2 * time.Minute) // expired
	if tok, err := ts.Token(t.Context()); err == nil {
		t.Fatalf("Token = %q with an expired token and the endpoint down", tok)
	}
}

func TestTokenSourceWaitEndsWithContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		http.Error(w, "late", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	defer close(release)
	ts := newTokenSource(t, srv.URL+"/token", newClock(), &sleeps{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := ts.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token = %v, want the context's error", err)
	}
}

// roundTrip is an http.RoundTripper from a function.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTokenSourceSingleTenantURL(t *testing.T) {
	var got string
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(`{"token_type":"Bearer","expires_in":3599,"access_token":"t"}`)),
			Request:    r,
		}, nil
	})}
	ts, err := botframework.NewTokenSource(botframework.TokenSourceConfig{
		AppID: botID, AppSecret: botSecret, TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", HTTPClient: client,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"; got != want {
		t.Errorf("token URL = %s, want %s", got, want)
	}
}

func TestNewTokenSourceConfig(t *testing.T) {
	for name, cfg := range map[string]botframework.TokenSourceConfig{
		"no secret":            {AppID: botID, TenantID: "t"},
		"no tenant nor URL":    {AppID: botID, AppSecret: botSecret},
		"plain-http token URL": {AppID: botID, AppSecret: botSecret, TokenURL: "http://login.example.com/token"},
	} {
		if _, err := botframework.NewTokenSource(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
