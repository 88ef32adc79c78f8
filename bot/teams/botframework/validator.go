package botframework

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/infracloudio/msbotbuilder-go/connector/auth"
	"github.com/infracloudio/msbotbuilder-go/schema"
)

// Defaults of ValidatorConfig.
const (
	DefaultOpenIDMetadataURL  = "https://login.botframework.com/v1/.well-known/openidconfiguration"
	DefaultIssuer             = "https://api.botframework.com"
	DefaultClockSkew          = 5 * time.Minute
	DefaultKeyCacheTTL        = 24 * time.Hour
	DefaultMinRefreshInterval = time.Minute
)

// keyFetchTimeout bounds one refresh of the signing keys (metadata + JWKS).
const keyFetchTimeout = 20 * time.Second

// ErrUnauthorized is matched (errors.Is) by every *AuthError: the request's
// token is missing or not acceptable, answer 401.
var ErrUnauthorized = errors.New("unauthorized")

// ErrKeysUnavailable is matched when no signing keys could be fetched (and
// none are cached), so that no token can be judged: answer 503, the
// channel retries.
var ErrKeysUnavailable = errors.New("botframework: signing keys unavailable")

// AuthError is a rejected inbound token.
type AuthError struct {
	// Reason says what is wrong, e.g. "token expired" or "wrong audience".
	// It holds no token material and may be returned in a 401 body.
	Reason string
	// Err is the detail (the claim values, the parser's error) for logs.
	Err error
}

func (e *AuthError) Error() string {
	if e.Err == nil {
		return "unauthorized: " + e.Reason
	}
	return "unauthorized: " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the detail.
func (e *AuthError) Unwrap() error { return e.Err }

// Is makes every AuthError match ErrUnauthorized.
func (e *AuthError) Is(target error) bool { return target == ErrUnauthorized }

func reject(reason string, detail error) error {
	return &AuthError{Reason: reason, Err: detail}
}

// ValidatorConfig configures a Validator. Only AppID is required.
type ValidatorConfig struct {
	// AppID is the bot's Microsoft app id: the audience tokens must carry.
	AppID string
	// OpenIDMetadataURL is the document whose jwks_uri lists the signing
	// keys (default DefaultOpenIDMetadataURL).
	OpenIDMetadataURL string
	// Issuers are the accepted iss values (default [DefaultIssuer]).
	Issuers []string
	// ClockSkew is the leeway on exp and nbf (default 5 minutes).
	ClockSkew time.Duration
	// KeyCacheTTL is how long fetched keys are used before a refresh
	// (default 24 hours). Stale keys are still used when a refresh fails.
	KeyCacheTTL time.Duration
	// MinRefreshInterval is the least time between two refreshes of the
	// keys on an unknown key id (default 1 minute).
	MinRefreshInterval time.Duration
	// HTTPClient fetches the metadata and keys (default: 20 s timeout).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Validator validates the bearer tokens of inbound activities. It is safe
// for concurrent use.
//
// It also implements the library's auth.TokenValidator; to have
// core.BotFrameworkAdapter.ParseRequest validate with it, set
//
//	adapter.(*core.BotFrameworkAdapter).TokenValidator = validator
//
// A rejection then reaches the caller of ParseRequest wrapped by the
// library (with github.com/pkg/errors, which keeps the chain): errors.Is
// with ErrUnauthorized and errors.As with *AuthError still work.
type Validator struct {
	cfg    ValidatorConfig
	parser *jwt.Parser

	mu          sync.Mutex
	keys        map[string]signingKey // nil until the first successful fetch
	fetchedAt   time.Time
	lastAttempt time.Time // start of the last fetch, successful or not
	inflight    *keyFetch
}

// keyFetch is one refresh of the keys; waiters block on done.
type keyFetch struct {
	done chan struct{}
	err  error
}

var _ auth.TokenValidator = (*Validator)(nil)

// NewValidator returns a Validator for cfg with its defaults filled in.
// It fetches nothing until the first token.
func NewValidator(cfg ValidatorConfig) (*Validator, error) {
	if cfg.AppID == "" {
		return nil, errors.New("botframework validator: no AppID")
	}
	if cfg.OpenIDMetadataURL == "" {
		cfg.OpenIDMetadataURL = DefaultOpenIDMetadataURL
	}
	if _, err := checkURL(cfg.OpenIDMetadataURL); err != nil {
		return nil, fmt.Errorf("botframework validator: OpenIDMetadataURL: %w", err)
	}
	if len(cfg.Issuers) == 0 {
		cfg.Issuers = []string{DefaultIssuer}
	}
	cfg.Issuers = slices.Clone(cfg.Issuers)
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.KeyCacheTTL <= 0 {
		cfg.KeyCacheTTL = DefaultKeyCacheTTL
	}
	if cfg.MinRefreshInterval <= 0 {
		cfg.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: keyFetchTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Validator{
		cfg: cfg,
		parser: jwt.NewParser(
			jwt.WithValidMethods(allowedAlgs()),
			jwt.WithLeeway(cfg.ClockSkew),
			jwt.WithTimeFunc(cfg.Now),
			jwt.WithExpirationRequired(),
		),
	}, nil
}

func allowedAlgs() []string { return []string{"RS256", "RS384", "RS512"} }

// Claims are the claims of a validated token. *Claims is the
// auth.ClaimsIdentity that AuthenticateRequest returns.
type Claims struct {
	jwt.RegisteredClaims
	// ServiceURL is the serviceurl claim: the Bot Connector endpoint the
	// token was issued for.
	ServiceURL string `json:"serviceurl"`
	// KeyID is the kid of the key that signed the token (not a claim).
	KeyID string `json:"-"`
}

// GetClaimValue returns a claim as a string ("" if absent): iss, sub, jti,
// serviceurl, or aud (the first audience). It never panics, unlike the
// library's DefaultClaimIdentity.
func (c *Claims) GetClaimValue(name string) string {
	if c == nil {
		return ""
	}
	switch name {
	case "iss":
		return c.Issuer
	case "sub":
		return c.Subject
	case "jti":
		return c.ID
	case "serviceurl":
		return c.ServiceURL
	case "aud":
		if len(c.Audience) > 0 {
			return c.Audience[0]
		}
	}
	return ""
}

// IsAuthenticated reports whether c came from a validated token.
func (c *Claims) IsAuthenticated() bool { return c != nil }

// Validate checks authHeader ("Bearer <jwt>") for the activity act it came
// with and returns the token's claims. A rejection is an *AuthError
// (errors.Is ErrUnauthorized); keys that cannot be fetched give
// ErrKeysUnavailable; a done ctx gives its error.
func (v *Validator) Validate(ctx context.Context, authHeader string, act *schema.Activity) (*Claims, error) {
	raw, err := bearer(authHeader)
	if err != nil {
		return nil, err
	}
	if act == nil || act.ServiceURL == "" {
		return nil, reject("activity has no serviceUrl", nil)
	}

	// The header first, to name what is wrong before any key is fetched.
	tok, _, err := v.parser.ParseUnverified(raw, &Claims{})
	if err != nil {
		return nil, reject("malformed token", err)
	}
	alg, _ := tok.Header["alg"].(string)
	if !slices.Contains(allowedAlgs(), alg) {
		return nil, reject(fmt.Sprintf("signing algorithm %q is not allowed", alg), nil)
	}
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return nil, reject("token has no key id", nil)
	}
	key, err := v.key(ctx, kid)
	if err != nil {
		return nil, err
	}

	claims := &Claims{KeyID: kid}
	if _, err := v.parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return key.pub, nil }); err != nil {
		return nil, parseError(err)
	}
	if !slices.Contains(v.cfg.Issuers, claims.Issuer) {
		return nil, reject("wrong issuer", fmt.Errorf("iss %q", claims.Issuer))
	}
	if !slices.Contains(claims.Audience, v.cfg.AppID) {
		return nil, reject("wrong audience", fmt.Errorf("aud %q", []string(claims.Audience)))
	}
	if claims.ServiceURL == "" || trimSlash(claims.ServiceURL) != trimSlash(act.ServiceURL) {
		return nil, reject("serviceurl claim does not match the activity",
			fmt.Errorf("claim %q, activity %q", claims.ServiceURL, act.ServiceURL))
	}
	// A key that lists endorsements may sign only for those channels.
	if len(key.endorsements) > 0 && !slices.Contains(key.endorsements, act.ChannelID) {
		return nil, reject("signing key is not endorsed for the activity's channel",
			fmt.Errorf("channel %q, endorsements %q", act.ChannelID, key.endorsements))
	}
	return claims, nil
}

// AuthenticateRequest implements the library's auth.TokenValidator (v0.2.5):
// it is Validate for core.BotFrameworkAdapter.ParseRequest. The audience is
// ValidatorConfig.AppID: credentials and channelService are ignored, and
// so is the library's "authentication disabled" mode (an empty app id):
// a bad or missing token is always rejected. It never returns a nil
// identity without an error.
func (v *Validator) AuthenticateRequest(ctx context.Context, activity schema.Activity, authHeader string, _ auth.CredentialProvider, _ string) (auth.ClaimsIdentity, error) {
	claims, err := v.Validate(ctx, authHeader, &activity)
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// bearer returns the token of an Authorization header.
func bearer(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", reject("missing authorization header", nil)
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", reject("authorization header is not a bearer token", nil)
	}
	return tok, nil
}

// parseError names the failure of a signature or time check.
func parseError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return reject("malformed token", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return reject("invalid token signature", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return reject("token expired", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return reject("token not valid yet", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return reject("token has no expiry", err)
	default:
		return reject("invalid token", err)
	}
}

func trimSlash(u string) string { return strings.TrimRight(u, "/") }
