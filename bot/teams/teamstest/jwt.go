package teamstest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// endorsed are the endorsements of the fake's signing keys.
var endorsed = []string{"msteams", "emulator"}

// keyPool holds RSA keys generated once per test binary, by purpose, so
// that many fakes do not each pay for key generation. Each fake gives its
// keys their own certificate, hence their own kid.
var keyPool struct {
	mu   sync.Mutex
	keys map[string][]*rsa.PrivateKey
}

// poolKey returns the i-th pooled key for purpose.
func poolKey(purpose string, i int) *rsa.PrivateKey {
	keyPool.mu.Lock()
	defer keyPool.mu.Unlock()
	if keyPool.keys == nil {
		keyPool.keys = map[string][]*rsa.PrivateKey{}
	}
	for len(keyPool.keys[purpose]) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("teamstest: generating an RSA key: " + err.Error())
		}
		keyPool.keys[purpose] = append(keyPool.keys[purpose], k)
	}
	return keyPool.keys[purpose][i]
}

// sigKey is one RSA signing key with a self-signed certificate; its kid
// is the certificate's SHA-1 thumbprint (x5t), as on
// login.botframework.com.
type sigKey struct {
	kid          string
	priv         *rsa.PrivateKey
	der          []byte
	endorsements []string
}

// newKey makes a key for purpose: the next pooled one for "sign", the
// first pooled one otherwise. It takes s.mu itself.
func (s *Server) newKey(purpose string, endorsements []string) *sigKey {
	i := 0
	if purpose == "sign" {
		s.mu.Lock()
		i = s.nsign
		s.nsign++
		s.mu.Unlock()
	}
	priv := poolKey(purpose, i)
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "teamstest.botframework.invalid"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		panic("teamstest: making a certificate: " + err.Error())
	}
	sum := sha1.Sum(der)
	return &sigKey{kid: b64(sum[:]), priv: priv, der: der, endorsements: endorsements}
}

// jwk is the key as login.botframework.com publishes it.
func (k *sigKey) jwk() map[string]any {
	return map[string]any{
		"kty":          "RSA",
		"use":          "sig",
		"kid":          k.kid,
		"x5t":          k.kid,
		"n":            b64(k.priv.N.Bytes()),
		"e":            b64(big.NewInt(int64(k.priv.E)).Bytes()),
		"x5c":          []string{base64.StdEncoding.EncodeToString(k.der)},
		"endorsements": append([]string{}, k.endorsements...),
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign makes a compact JWT of header and claims with alg: RS256/384/512 with
// k, HS256 keyed with k's public key in PEM (the algorithm-confusion
// attack), or none (no signature).
func (k *sigKey) sign(alg string, header, claims map[string]any) string {
	hj, err := json.Marshal(header)
	if err != nil {
		panic("teamstest: " + err.Error())
	}
	cj, err := json.Marshal(claims)
	if err != nil {
		panic("teamstest: " + err.Error())
	}
	input := b64(hj) + "." + b64(cj)
	var sig []byte
	switch alg {
	case "RS256", "RS384", "RS512":
		var h hash.Hash
		var id crypto.Hash
		switch alg {
		case "RS256":
			h, id = sha256.New(), crypto.SHA256
		case "RS384":
			h, id = sha512.New384(), crypto.SHA384
		default:
			h, id = sha512.New(), crypto.SHA512
		}
		h.Write([]byte(input))
		sig, err = rsa.SignPKCS1v15(nil, k.priv, id, h.Sum(nil))
		if err != nil {
			panic("teamstest: signing: " + err.Error())
		}
	case "HS256":
		pub, _ := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
		mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
		mac.Write([]byte(input))
		sig = mac.Sum(nil)
	case "none":
	default:
		panic("teamstest: unsupported alg " + alg)
	}
	return input + "." + b64(sig)
}

// randomID returns 16 random bytes, base64url.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return b64(b[:])
}

// SignOption changes one thing in the token Sign makes.
type SignOption func(*signConfig)

type signConfig struct {
	alg        string
	claims     map[string]any
	kid        *string
	foreign    bool
	unendorsed bool
}

// WithAudience sets aud (the bot's app id by default).
func WithAudience(aud string) SignOption {
	return func(c *signConfig) { c.claims["aud"] = aud }
}

// WithIssuer sets iss (Issuer by default).
func WithIssuer(iss string) SignOption {
	return func(c *signConfig) { c.claims["iss"] = iss }
}

// WithExpiry sets exp (now + 1 h by default).
func WithExpiry(t time.Time) SignOption {
	return func(c *signConfig) { c.claims["exp"] = t.Unix() }
}

// WithNotBefore sets nbf (now − 5 min by default).
func WithNotBefore(t time.Time) SignOption {
	return func(c *signConfig) { c.claims["nbf"] = t.Unix() }
}

// WithServiceURL sets the serviceurl claim (the activity's serviceUrl by
// default).
func WithServiceURL(u string) SignOption {
	return func(c *signConfig) { c.claims["serviceurl"] = u }
}

// WithClaim sets any claim; a nil value removes it.
func WithClaim(name string, value any) SignOption {
	return func(c *signConfig) {
		if value == nil {
			delete(c.claims, name)
			return
		}
		c.claims[name] = value
	}
}

// WithForeignKey signs with a key that is not in the JWKS, keeping the kid
// (and x5t) of the current published key in the header: the signature must
// not verify. Add WithKid for an unknown kid.
func WithForeignKey() SignOption {
	return func(c *signConfig) { c.foreign = true }
}

// WithUnendorsedKey signs with a published key whose endorsements do not
// include "msteams" (only "webchat"): a bot that checks endorsements
// against the activity's channelId must refuse it (the Bot Framework docs
// say 403).
func WithUnendorsedKey() SignOption {
	return func(c *signConfig) { c.unendorsed = true }
}

// WithAlg sets the header alg and signs accordingly: RS256 (default),
// RS384, RS512 with the RSA key; HS256 with an HMAC keyed by the public
// key's PEM (the algorithm-confusion attack); none with an empty
// signature.
func WithAlg(alg string) SignOption {
	return func(c *signConfig) { c.alg = alg }
}

// WithKid sets the header kid (and x5t); "" leaves them out.
func WithKid(kid string) SignOption {
	return func(c *signConfig) { c.kid = &kid }
}

// Sign returns the Authorization header value ("Bearer <jwt>") the Bot
// Connector sends with activity (a map or anything that marshals to the
// activity JSON): RS256, kid and x5t of the current key; claims iss
// Issuer, aud the app id, serviceurl the activity's serviceUrl, nbf now−5m,
// exp now+1h.
func (s *Server) Sign(activity any, opts ...SignOption) string {
	now := time.Now()
	c := &signConfig{alg: "RS256", claims: map[string]any{
		"serviceurl": serviceURLOf(activity),
		"nbf":        now.Add(-5 * time.Minute).Unix(),
		"exp":        now.Add(time.Hour).Unix(),
		"iss":        Issuer,
		"aud":        s.opts.AppID,
	}}
	for _, o := range opts {
		o(c)
	}
	s.mu.Lock()
	key := s.cur
	switch {
	case c.unendorsed:
		key = s.unendorsed
	case c.foreign:
		if s.foreign == nil {
			s.mu.Unlock()
			f := s.newKey("foreign", nil)
			s.mu.Lock()
			if s.foreign == nil {
				s.foreign = f
			}
		}
	}
	kid := key.kid
	if c.foreign {
		key = &sigKey{kid: key.kid, priv: s.foreign.priv}
	}
	s.mu.Unlock()
	if c.kid != nil {
		kid = *c.kid
	}
	header := map[string]any{"alg": c.alg, "typ": "JWT"}
	if kid != "" {
		header["kid"], header["x5t"] = kid, kid
	}
	return "Bearer " + key.sign(c.alg, header, c.claims)
}

func serviceURLOf(activity any) string {
	if m, ok := activity.(map[string]any); ok {
		return str(m["serviceUrl"])
	}
	b, err := json.Marshal(activity)
	if err != nil {
		return ""
	}
	var a struct {
		ServiceURL string `json:"serviceUrl"`
	}
	_ = json.Unmarshal(b, &a)
	return a.ServiceURL
}

// Deliver POSTs activity, signed with Sign(activity, opts...), to the bot's
// messaging endpoint (".../api/messages") as the Bot Connector does, and
// returns the HTTP status and body of the answer. A message activity
// without a value (a user's message, not a card button) is added to what
// the channel shows (Thread) first, as Teams shows it whatever the bot
// does.
func (s *Server) Deliver(ctx context.Context, endpointURL string, activity any, opts ...SignOption) (int, []byte, error) {
	b, err := json.Marshal(activity)
	if err != nil {
		return 0, nil, fmt.Errorf("teamstest: marshal activity: %w", err)
	}
	var act map[string]any
	if err := json.Unmarshal(b, &act); err != nil {
		return 0, nil, fmt.Errorf("teamstest: activity is not a JSON object: %w", err)
	}
	auth := s.Sign(act, opts...)
	if id := str(act["id"]); id != "" && str(act["type"]) == "message" && act["value"] == nil {
		convID := str(dig(act, "conversation", "id"))
		base, root, _ := strings.Cut(convID, ";messageid=")
		s.mu.Lock()
		s.record(id, convID, base, root, act, true)
		s.broadcast()
		s.mu.Unlock()
	}

	status, body, err := postJSON(ctx, endpointURL, auth, b)
	s.mu.Lock()
	s.deliveries = append(s.deliveries, Delivery{Activity: act, Status: status, Body: body})
	s.broadcast()
	s.mu.Unlock()
	return status, body, err
}

func postJSON(ctx context.Context, endpointURL, auth string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpointURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", auth)
	req.Header.Set("User-Agent", "Microsoft-SkypeBotApi (Microsoft-BotFramework 3.0)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// readAll reads a connector request body (at most 16 MiB).
func readAll(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 16<<20))
}
