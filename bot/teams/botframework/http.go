package botframework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// defaultHTTPTimeout bounds one outbound request when the caller gives
	// no client.
	defaultHTTPTimeout = 30 * time.Second
	// maxBody bounds what is read of a successful response.
	maxBody = 1 << 20
	// maxErrorBody bounds the response body kept in an APIError.
	maxErrorBody = 512
	// maxBackoff caps one exponential backoff wait.
	maxBackoff = 10 * time.Second
	// defaultMaxRetries is the number of retries after the first attempt.
	defaultMaxRetries = 3
	// defaultBackoff is the wait before the first retry; it doubles.
	defaultBackoff = 500 * time.Millisecond
	// defaultMaxRetryAfter is the longest Retry-After honoured by waiting.
	defaultMaxRetryAfter = time.Minute
)

// APIError is a response with an unexpected status from the Bot Connector
// or the token endpoint.
type APIError struct {
	Method     string
	URL        string // without query
	StatusCode int
	// Body is the start of the response body (at most 512 bytes), for
	// diagnosis; for the token endpoint it is the OAuth error document.
	Body string
	// RetryAfter is the wait a 429 or 503 asked for (0 if none).
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// retryPolicy sends a request again after a network error, a 429 (after
// its Retry-After) or a 5xx, with exponential backoff and jitter.
type retryPolicy struct {
	client     *http.Client
	log        *slog.Logger
	maxRetries int
	backoff    time.Duration
	maxWait    time.Duration // longer Retry-After: give up instead of waiting
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
}

func newRetryPolicy(client *http.Client, log *slog.Logger, maxRetries int, backoff, maxWait time.Duration, now func() time.Time) retryPolicy {
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case maxRetries == 0:
		maxRetries = defaultMaxRetries
	case maxRetries < 0:
		maxRetries = 0
	}
	if backoff <= 0 {
		backoff = defaultBackoff
	}
	if maxWait <= 0 {
		maxWait = defaultMaxRetryAfter
	}
	if now == nil {
		now = time.Now
	}
	return retryPolicy{client: client, log: log, maxRetries: maxRetries, backoff: backoff, maxWait: maxWait, now: now, sleep: sleep}
}

// do sends the request newReq builds (once per attempt, so that a body and
// a token are fresh) and returns the body of the first 2xx response. An
// error from newReq ends it at once.
func (p retryPolicy) do(ctx context.Context, newReq func(context.Context) (*http.Request, error)) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		req, err := newReq(ctx)
		if err != nil {
			return nil, err
		}
		body, wait, err := p.once(req, attempt)
		if err == nil {
			return body, nil
		}
		if wait < 0 || attempt >= p.maxRetries {
			if attempt > 0 {
				return nil, fmt.Errorf("after %d attempts: %w", attempt+1, err)
			}
			return nil, err
		}
		if wait > p.maxWait {
			return nil, fmt.Errorf("asked to wait %s, more than %s: %w", wait, p.maxWait, err)
		}
		p.log.DebugContext(ctx, "botframework: retrying", "request", req.Method+" "+redact(req.URL),
			"attempt", attempt+1, "wait", wait, "err", err)
		if serr := p.sleep(ctx, wait); serr != nil {
			return nil, errors.Join(err, serr)
		}
	}
}

// once sends req, the attempt-th try (from 0). On failure it returns the
// wait before a retry, or -1 if the failure is not worth retrying.
func (p retryPolicy) once(req *http.Request, attempt int) ([]byte, time.Duration, error) {
	resp, err := p.client.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, -1, err
		}
		return nil, p.backoffFor(attempt), err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err != nil {
			return nil, -1, fmt.Errorf("%s %s: read response: %w", req.Method, redact(req.URL), err)
		}
		return body, 0, nil
	}
	start, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // so that the connection is reused
	apiErr := &APIError{
		Method:     req.Method,
		URL:        redact(req.URL),
		StatusCode: resp.StatusCode,
		Body:       strings.TrimSpace(strings.ToValidUTF8(string(start), "?")),
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), p.now()); ok {
			apiErr.RetryAfter = d
		}
	}
	switch {
	case apiErr.RetryAfter > 0:
		return nil, apiErr.RetryAfter, apiErr
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, p.backoffFor(attempt), apiErr
	default:
		return nil, -1, apiErr
	}
}

// backoffFor is the jittered exponential wait after the attempt-th try.
func (p retryPolicy) backoffFor(attempt int) time.Duration {
	d := p.backoff << min(attempt, 10)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	// Between half and all of d, so that replicas do not retry in step.
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// redact is u without query, fragment and user info, for errors and logs.
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment, c.RawFragment = nil, "", "", ""
	return c.String()
}

// checkURL parses raw as an absolute URL that a secret (a client secret, a
// bearer token) may be sent to: https, or http to a loopback host (local
// fakes and tests).
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	if u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("invalid URL %q: want an absolute URL without user info", redact(u))
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if isLoopback(u.Hostname()) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("URL %q is not https", redact(u))
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
