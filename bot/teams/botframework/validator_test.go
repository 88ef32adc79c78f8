package botframework_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/infracloudio/msbotbuilder-go/connector/auth"
	"github.com/infracloudio/msbotbuilder-go/core"
	"github.com/infracloudio/msbotbuilder-go/schema"

	"github.com/nightshift-ops/nightshift/bot/teams/botframework"
)

const (
	appID      = "8f1e7a52-0c4b-4c43-9d7e-3a6c1b2d4e5f"
	serviceURL = "https://smba.trafficmanager.net/amer/"
)

// testKeys are the three RSA keys of testdata/rsa_testing_keys.pem, made
// for these tests (PKCS #8, "TESTING KEY" so that secret scanners leave
// them alone; generating keys at run time is slow under -race).
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	data, err := os.ReadFile("testdata/rsa_testing_keys.pem")
	if err != nil {
		panic(err)
	}
	var keys []*rsa.PrivateKey
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			panic(err)
		}
		keys = append(keys, k.(*rsa.PrivateKey))
	}
	if len(keys) != 3 {
		panic("testdata/rsa_testing_keys.pem: want 3 keys")
	}
	return keys
})

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// jwkSpec is one key the fake identity provider publishes.
type jwkSpec struct {
	kid          string
	key          *rsa.PrivateKey
	endorsements []string
	x5cOnly      bool // publish the key as a certificate, without n and e
}

// idp is a fake of login.botframework.com: OpenID metadata and JWKS.
type idp struct {
	t        *testing.T
	srv      *httptest.Server
	metaHits atomic.Int32
	jwksHits atomic.Int32

	mu    sync.Mutex
	jwks  []byte
	fail  bool          // answer 500
	block chan struct{} // if set, the JWKS waits for it to close
}

func newIDP(t *testing.T, keys ...jwkSpec) *idp {
	t.Helper()
	p := &idp{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", func(w http.ResponseWriter, r *http.Request) {
		p.metaHits.Add(1)
		p.mu.Lock()
		fail := p.fail
		p.mu.Unlock()
		if fail {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                "https://api.botframework.com",
			"jwks_uri":                              p.srv.URL + "/v1/.well-known/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /v1/.well-known/keys", func(w http.ResponseWriter, r *http.Request) {
		p.jwksHits.Add(1)
		p.mu.Lock()
		body, block := p.jwks, p.block
		p.mu.Unlock()
		if block != nil {
			<-block
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	p.setKeys(keys...)
	return p
}

func (p *idp) metadataURL() string { return p.srv.URL + "/v1/.well-known/openidconfiguration" }

func (p *idp) setFail(fail bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = fail
}

// setKeys publishes keys, plus an EC key that must be skipped.
func (p *idp) setKeys(keys ...jwkSpec) {
	p.t.Helper()
	set := []map[string]any{{"kty": "EC", "use": "sig", "kid": "ec-1", "crv": "P-256", "x": "AA", "y": "AA"}}
	for _, k := range keys {
		j := map[string]any{"kty": "RSA", "use": "sig", "kid": k.kid}
		if k.x5cOnly {
			j["x5c"] = []string{certificate(p.t, k.key)}
		} else {
			j["n"] = base64.RawURLEncoding.EncodeToString(k.key.N.Bytes())
			j["e"] = base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.key.E)).Bytes())
		}
		if k.endorsements != nil {
			j["endorsements"] = k.endorsements
		}
		set = append(set, j)
	}
	b, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.jwks = b
	p.mu.Unlock()
}

func certificate(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "login.botframework.com"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// claims are the claims of a good token at now.
func claims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":        "https://api.botframework.com",
		"aud":        appID,
		"serviceurl": serviceURL,
		"nbf":        now.Add(-time.Minute).Unix(),
		"exp":        now.Add(time.Hour).Unix(),
	}
}

// sign returns "Bearer <jwt>" for c signed by key with method and kid.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func activity() *schema.Activity {
	return &schema.Activity{
		Type:         schema.Message,
		ID:           "1700000000001",
		ServiceURL:   serviceURL,
		ChannelID:    "msteams",
		Conversation: schema.ConversationAccount{ID: "19:abc@thread.tacv2;messageid=1700000000000"},
		Text:         "<at>Nightshift</at> status",
	}
}

func newValidator(t *testing.T, p *idp, clk *clock) *botframework.Validator {
	t.Helper()
	v, err := botframework.NewValidator(botframework.ValidatorConfig{
		AppID:             appID,
		OpenIDMetadataURL: p.metadataURL(),
		HTTPClient:        p.srv.Client(),
		Now:               clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// reason is the AuthError reason of err, failing the test if err is not
// an unauthorized error.
func reason(t *testing.T, err error) string {
	t.Helper()
	if !errors.Is(err, botframework.ErrUnauthorized) {
		t.Fatalf("error %v: want ErrUnauthorized", err)
	}
	var ae *botframework.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v: want an *AuthError", err)
	}
	return ae.Reason
}

func TestValidatorAccepts(t *testing.T) {
	keys := testKeys()
	p := newIDP(t,
		jwkSpec{kid: "k1", key: keys[0]},
		jwkSpec{kid: "k2", key: keys[1], endorsements: []string{"msteams", "skype"}},
		jwkSpec{kid: "k3", key: keys[2], x5cOnly: true},
	)
	clk := newClock()
	v := newValidator(t, p, clk)
	now := clk.Now()

	withSlashless := claims(now)
	withSlashless["serviceurl"] = strings.TrimSuffix(serviceURL, "/")
	audArray := claims(now)
	audArray["aud"] = []string{"someone-else", appID}
	inSkew := claims(now)
	inSkew["exp"] = now.Add(-3 * time.Minute).Unix() // expired, but within the 5 minutes of skew
	inSkew["nbf"] = now.Add(3 * time.Minute).Unix()

	for _, tc := range []struct {
		name, header, kid string
	}{
		{"RS256", sign(t, jwt.SigningMethodRS256, keys[0], "k1", claims(now)), "k1"},
		{"RS384", sign(t, jwt.SigningMethodRS384, keys[0], "k1", claims(now)), "k1"},
		{"RS512", sign(t, jwt.SigningMethodRS512, keys[0], "k1", claims(now)), "k1"},
		{"serviceurl without trailing slash", sign(t, jwt.SigningMethodRS256, keys[0], "k1", withSlashless), "k1"},
		{"audience array", sign(t, jwt.SigningMethodRS256, keys[0], "k1", audArray), "k1"},
		{"exp and nbf within skew", sign(t, jwt.SigningMethodRS256, keys[0], "k1", inSkew), "k1"},
		{"endorsed key", sign(t, jwt.SigningMethodRS256, keys[1], "k2", claims(now)), "k2"},
		{"x5c key", sign(t, jwt.SigningMethodRS256, keys[2], "k3", claims(now)), "k3"},
		{"lower-case scheme", "bearer " + strings.TrimPrefix(sign(t, jwt.SigningMethodRS256, keys[0], "k1", claims(now)), "Bearer "), "k1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Validate(t.Context(), tc.header, activity())
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if c.KeyID != tc.kid || c.GetClaimValue("iss") != "https://api.botframework.com" || !c.IsAuthenticated() {
				t.Errorf("claims = %+v", c)
			}
			if c.GetClaimValue("no-such-claim") != "" {
				t.Error("an absent claim is not empty")
			}
		})
	}
	if m, k := p.metaHits.Load(), p.jwksHits.Load(); m != 1 || k != 1 {
		t.Errorf("metadata fetched %d times, keys %d times; want once each (cached)", m, k)
	}
}

func TestValidatorRejects(t *testing.T) {
	keys := testKeys()
	p := newIDP(t,
		jwkSpec{kid: "k1", key: keys[0]},
		jwkSpec{kid: "skype-only", key: keys[1], endorsements: []string{"skype"}},
	)
	clk := newClock()
	v := newValidator(t, p, clk)
	now := clk.Now()

	with := func(k string, val any) jwt.MapClaims {
		c := claims(now)
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	rs256 := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, keys[0], "k1", c) }
	good := rs256(claims(now))

	for _, tc := range []struct {
		name   string
		header string
		act    *schema.Activity
		want   string
	}{
		{"missing header", "", activity(), "missing authorization header"},
		{"basic scheme", "Basic dXNlcjpwYXNz", activity(), "authorization header is not a bearer token"},
		{"bearer without token", "Bearer ", activity(), "authorization header is not a bearer token"},
		{"token without scheme", strings.TrimPrefix(good, "Bearer "), activity(), "authorization header is not a bearer token"},
		{"not a jwt", "Bearer not-a.jwt", activity(), "malformed token"},
		{"wrong signature", sign(t, jwt.SigningMethodRS256, keys[2], "k1", claims(now)), activity(), "invalid token signature"},
		{"wrong audience", rs256(with("aud", "another-bot")), activity(), "wrong audience"},
		{"wrong issuer", rs256(with("iss", "https://sts.windows.net/evil/")), activity(), "wrong issuer"},
		{"expired", rs256(with("exp", now.Add(-6*time.Minute).Unix())), activity(), "token expired"},
		{"not yet valid", rs256(with("nbf", now.Add(10*time.Minute).Unix())), activity(), "token not valid yet"},
		{"no expiry", rs256(with("exp", nil)), activity(), "token has no expiry"},
		{"serviceurl mismatch", rs256(with("serviceurl", "https://smba.trafficmanager.net/emea/")), activity(), "serviceurl claim does not match the activity"},
		{"no serviceurl claim", rs256(with("serviceurl", nil)), activity(), "serviceurl claim does not match the activity"},
		{"activity without serviceUrl", good, &schema.Activity{Type: schema.Message, ChannelID: "msteams"}, "activity has no serviceUrl"},
		{"HS256", sign(t, jwt.SigningMethodHS256, []byte("shared-secret"), "k1", claims(now)), activity(), `signing algorithm "HS256" is not allowed`},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", claims(now)), activity(), `signing algorithm "none" is not allowed`},
		{"ES256-looking PS256", sign(t, jwt.SigningMethodPS256, keys[0], "k1", claims(now)), activity(), `signing algorithm "PS256" is not allowed`},
		{"no kid", sign(t, jwt.SigningMethodRS256, keys[0], "", claims(now)), activity(), "token has no key id"},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, keys[0], "k9", claims(now)), activity(), "unknown signing key"},
		{"endorsement lacks the channel", sign(t, jwt.SigningMethodRS256, keys[1], "skype-only", claims(now)), activity(), "signing key is not endorsed for the activity's channel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Validate(t.Context(), tc.header, tc.act)
			if err == nil {
				t.Fatalf("Validate accepted the token: %+v", c)
			}
			if got := reason(t, err); got != tc.want {
				t.Errorf("reason = %q, want %q (error: %v)", got, tc.want, err)
			}
			if strings.Contains(err.Error(), strings.TrimPrefix(good, "Bearer ")) {
				t.Error("the error holds the token")
			}
		})
	}
}

func TestValidatorKeyRotationAndUnknownKidStorm(t *testing.T) {
	keys := testKeys()
	p := newIDP(t, jwkSpec{kid: "old", key: keys[0]})
	clk := newClock()
	v := newValidator(t, p, clk)
	validate := func(key *rsa.PrivateKey, kid string) error {
		_, err := v.Validate(t.Context(), sign(t, jwt.SigningMethodRS256, key, kid, claims(clk.Now())), activity())
		return err
	}

	if err := validate(keys[0], "old"); err != nil {
		t.Fatalf("old key: %v", err)
	}
	p.setKeys(jwkSpec{kid: "old", key: keys[0]}, jwkSpec{kid: "new", key: keys[1]})

	// Within a minute of the last fetch, the new kid is not looked up.
	clk.Advance(30 * time.Second)
	if err := validate(keys[1], "new"); reason(t, err) != "unknown signing key" {
		t.Fatalf("new key before the refresh interval: %v", err)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("keys fetched %d times within the refresh interval, want 1", n)
	}

	// After it, the unknown kid refreshes the keys and the token passes.
	clk.Advance(31 * time.Second)
	if err := validate(keys[1], "new"); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("keys fetched %d times, want 2", n)
	}

	// The old key is retired; a storm of unknown kids makes one refresh.
	p.setKeys(jwkSpec{kid: "new", key: keys[1]})
	clk.Advance(2 * time.Minute)
	storm := func() {
		var forged []string
		for _, kid := range []string{"forged-a", "forged-b", "forged-c", "forged-d"} {
			forged = append(forged, sign(t, jwt.SigningMethodRS256, keys[2], kid, claims(clk.Now())))
		}
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				_, err := v.Validate(t.Context(), forged[i%len(forged)], activity())
				if got := reason(t, err); got != "unknown signing key" {
					t.Errorf("forged kid: %q, want unknown signing key", got)
				}
			})
		}
		wg.Wait()
	}
	storm()
	if n := p.jwksHits.Load(); n != 3 {
		t.Fatalf("keys fetched %d times after a storm, want 3 (one refresh)", n)
	}
	storm()
	clk.Advance(59 * time.Second)
	storm()
	if n := p.jwksHits.Load(); n != 3 {
		t.Fatalf("keys fetched %d times after storms within the interval, want 3", n)
	}
	if err := validate(keys[0], "old"); reason(t, err) != "unknown signing key" {
		t.Fatalf("retired key: %v", err)
	}
	if err := validate(keys[1], "new"); err != nil {
		t.Fatalf("current key during storms: %v", err)
	}
	clk.Advance(2 * time.Second)
	storm()
	if n := p.jwksHits.Load(); n != 4 {
		t.Fatalf("keys fetched %d times after the interval, want 4", n)
	}
}

func TestValidatorKeysUnavailable(t *testing.T) {
	keys := testKeys()
	p := newIDP(t, jwkSpec{kid: "k1", key: keys[0]})
	p.setFail(true)
	clk := newClock()
	v := newValidator(t, p, clk)
	header := func() string { return sign(t, jwt.SigningMethodRS256, keys[0], "k1", claims(clk.Now())) }

	_, err := v.Validate(t.Context(), header(), activity())
	if !errors.Is(err, botframework.ErrKeysUnavailable) || errors.Is(err, botframework.ErrUnauthorized) {
		t.Fatalf("metadata down: %v, want ErrKeysUnavailable and not ErrUnauthorized", err)
	}
	if !strings.Contains(err.Error(), "500") {
		t.Errorf("error %q does not say what failed", err)
	}

	// Without keys, the next token tries again at once.
	p.setFail(false)
	if _, err := v.Validate(t.Context(), header(), activity()); err != nil {
		t.Fatalf("metadata back: %v", err)
	}

	// Keys past their TTL are still used when the refresh fails.
	p.setFail(true)
	clk.Advance(25 * time.Hour)
	if _, err := v.Validate(t.Context(), header(), activity()); err != nil {
		t.Fatalf("stale keys, metadata down: %v", err)
	}
}

func TestValidatorWaitEndsWithContext(t *testing.T) {
	keys := testKeys()
	p := newIDP(t, jwkSpec{kid: "k1", key: keys[0]})
	release := make(chan struct{})
	p.mu.Lock()
	p.block = release
	p.mu.Unlock()
	defer close(release)
	clk := newClock()
	v := newValidator(t, p, clk)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := v.Validate(ctx, sign(t, jwt.SigningMethodRS256, keys[0], "k1", claims(clk.Now())), activity())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Validate = %v, want the context's error", err)
	}
}

func TestValidatorConcurrent(t *testing.T) {
	keys := testKeys()
	p := newIDP(t, jwkSpec{kid: "k1", key: keys[0]}, jwkSpec{kid: "k2", key: keys[1]})
	clk := newClock()
	v := newValidator(t, p, clk)
	good := sign(t, jwt.SigningMethodRS256, keys[1], "k2", claims(clk.Now()))
	bad := sign(t, jwt.SigningMethodRS256, keys[2], "k1", claims(clk.Now()))
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			h, wantOK := good, true
			if i%3 == 0 {
				h, wantOK = bad, false
			}
			_, err := v.Validate(t.Context(), h, activity())
			if (err == nil) != wantOK {
				t.Errorf("goroutine %d: err = %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := p.jwksHits.Load(); n != 1 {
		t.Errorf("keys fetched %d times by concurrent first tokens, want 1", n)
	}
}

func TestNewValidatorConfig(t *testing.T) {
	if _, err := botframework.NewValidator(botframework.ValidatorConfig{}); err == nil {
		t.Error("no AppID accepted")
	}
	if _, err := botframework.NewValidator(botframework.ValidatorConfig{AppID: appID, OpenIDMetadataURL: "http://login.example.com/meta"}); err == nil {
		t.Error("plain-http metadata URL accepted")
	}
	if _, err := botframework.NewValidator(botframework.ValidatorConfig{AppID: appID}); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// TestAdapterSeam plugs the Validator into the library's adapter, as
// Nightshift's Teams surface does, and checks ParseRequest.
func TestAdapterSeam(t *testing.T) {
	keys := testKeys()
	p := newIDP(t, jwkSpec{kid: "k1", key: keys[0]})
	clk := newClock()
	v := newValidator(t, p, clk)
	adapter := &core.BotFrameworkAdapter{
		AdapterSetting: core.AdapterSetting{AppID: appID, CredentialProvider: auth.SimpleCredentialProvider{AppID: appID}},
		TokenValidator: v,
	}
	body, err := json.Marshal(activity())
	if err != nil {
		t.Fatal(err)
	}
	parse := func(header string) (schema.Activity, error) {
		r := httptest.NewRequest(http.MethodPost, "/api/messages", bytes.NewReader(body))
		r.Header.Set("Authorization", header)
		return adapter.ParseRequest(t.Context(), r)
	}

	act, err := parse(sign(t, jwt.SigningMethodRS256, keys[0], "k1", claims(clk.Now())))
	if err != nil {
		t.Fatalf("ParseRequest with a good token: %v", err)
	}
	if act.Text != activity().Text {
		t.Errorf("activity text = %q", act.Text)
	}

	bad := claims(clk.Now())
	bad["aud"] = "another-bot"
	_, err = parse(sign(t, jwt.SigningMethodRS256, keys[0], "k1", bad))
	if reason(t, err) != "wrong audience" {
		t.Errorf("ParseRequest with a wrong audience: %v", err)
	}

	// The library's "authentication disabled" mode (no app id, malformed
	// header) does not apply: the Validator never returns nil, nil.
	id, err := v.AuthenticateRequest(t.Context(), *activity(), "garbage", auth.SimpleCredentialProvider{}, "")
	if err == nil || id != nil {
		t.Errorf("AuthenticateRequest(garbage) = %v, %v; want an error and no identity", id, err)
	}
}
