package botframework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultScope is the scope of a token for the Bot Connector.
const DefaultScope = "https://api.botframework.com/.default"

const (
	// refreshMargin: a token is renewed this long before it expires (or at
	// half its lifetime, if that is shorter).
	refreshMargin = 5 * time.Minute
	// tokenFetchTimeout bounds one refresh, retries included.
	tokenFetchTimeout = 2 * time.Minute
	// defaultTokenLifetime is assumed when the answer has no expires_in.
	defaultTokenLifetime = 10 * time.Minute
)

// TokenProvider gives the bearer token of outbound Bot Connector calls.
// *TokenSource is one; tests and other credential kinds (managed identity)
// may bring their own.
type TokenProvider interface {
	Token(ctx context.Context) (string, error)
}

// TokenSourceConfig configures a TokenSource. AppID, AppSecret and one of
// TenantID or TokenURL are required.
type TokenSourceConfig struct {
	AppID     string
	AppSecret string
	// TenantID is the single-tenant bot's Entra tenant: the token URL is
	// then https://login.microsoftonline.com/{TenantID}/oauth2/v2.0/token.
	// A legacy multi-tenant bot uses "botframework.com".
	TenantID string
	// TokenURL overrides the token URL (sovereign clouds, local fakes).
	TokenURL string
	// Scope defaults to DefaultScope.
	Scope string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// MaxRetries after the first attempt, on network errors, 429 and 5xx
	// (0: 3; negative: none). Backoff is the first wait, doubling
	// (default 500 ms).
	MaxRetries int
	Backoff    time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// TokenSource gets and caches the bot's client-credentials tokens. One
// request refreshes a token for every concurrent caller, a few minutes
// before it expires. It is safe for concurrent use.
type TokenSource struct {
	cfg      TokenSourceConfig
	tokenURL string
	retry    retryPolicy
	group    singleflight.Group

	mu        sync.Mutex
	token     string
	refreshAt time.Time // renew from then
	expiresAt time.Time // the token is usable until then
}

var _ TokenProvider = (*TokenSource)(nil)

// NewTokenSource returns a TokenSource for cfg. It fetches nothing until
// the first Token.
func NewTokenSource(cfg TokenSourceConfig) (*TokenSource, error) {
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return nil, errors.New("botframework token source: AppID and AppSecret are required")
	}
	tokenURL := cfg.TokenURL
	if tokenURL == "" {
		if cfg.TenantID == "" {
			return nil, errors.New("botframework token source: TenantID or TokenURL is required")
		}
		tokenURL = "https://login.microsoftonline.com/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token"
	}
	if _, err := checkURL(tokenURL); err != nil {
		return nil, fmt.Errorf("botframework token source: TokenURL: %w", err)
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &TokenSource{
		cfg:      cfg,
		tokenURL: tokenURL,
		retry:    newRetryPolicy(cfg.HTTPClient, cfg.Log, cfg.MaxRetries, cfg.Backoff, 0, cfg.Now),
	}, nil
}

// Token returns a valid access token, from the cache or fresh. If renewing
// fails while the cached token has not expired yet, the cached one is
// returned.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	tok, fresh, valid := ts.cached()
	if fresh {
		return tok, nil
	}
	// One refresh for every caller, detached from this caller's ctx so that
	// the others do not fail when it gives up.
	ch := ts.group.DoChan("token", func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenFetchTimeout)
		defer cancel()
		return ts.refresh(ctx)
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		if r.Err == nil {
			return r.Val.(string), nil
		}
		if valid {
			ts.cfg.Log.WarnContext(ctx, "botframework: token renewal failed, using the current token", "err", r.Err)
			return tok, nil
		}
		return "", fmt.Errorf("botframework token: %w", r.Err)
	}
}

// cached returns the cached token, whether it needs no renewal yet, and
// whether it is still valid.
func (ts *TokenSource) cached() (tok string, fresh, valid bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	now := ts.cfg.Now()
	if ts.token == "" {
		return "", false, false
	}
	return ts.token, now.Before(ts.refreshAt), now.Before(ts.expiresAt)
}

// refresh asks the token endpoint for a new token and caches it.
func (ts *TokenSource) refresh(ctx context.Context) (string, error) {
	if tok, fresh, _ := ts.cached(); fresh {
		return tok, nil // another refresh just finished
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {ts.cfg.AppID},
		"client_secret": {ts.cfg.AppSecret},
		"scope":         {ts.cfg.Scope},
	}.Encode()
	start := ts.cfg.Now()
	body, err := ts.retry.do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.tokenURL, strings.NewReader(form))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return "", err
	}
	var answer struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", fmt.Errorf("decode token response: %w", err)
	}
	if answer.AccessToken == "" {
		return "", errors.New("token response has no access_token")
	}
	if answer.TokenType != "" && !strings.EqualFold(answer.TokenType, "Bearer") {
		return "", fmt.Errorf("token response: token_type %q, want Bearer", answer.TokenType)
	}
	life := defaultTokenLifetime
	// expires_in is a number, or a string in some Entra answers.
	if s, err := strconv.Atoi(strings.Trim(string(answer.ExpiresIn), `"`)); err == nil && s > 0 {
		life = time.Duration(s) * time.Second
	}

	ts.mu.Lock()
	ts.token = answer.AccessToken
	ts.expiresAt = start.Add(life)
	ts.refreshAt = ts.expiresAt.Add(-min(refreshMargin, life/2))
	ts.mu.Unlock()
	ts.cfg.Log.DebugContext(ctx, "botframework: token renewed", "expires_in", life)
	return answer.AccessToken, nil
}
