package teamstest_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/bot/teams/teamstest"
)

// ---- a tiny stdlib verifier, as a bot would write it ----

var (
	errAlg         = errors.New("alg not allowed")
	errKid         = errors.New("unknown kid")
	errSig         = errors.New("bad signature")
	errIss         = errors.New("bad issuer")
	errAud         = errors.New("bad audience")
	errExpired     = errors.New("expired")
	errNotYet      = errors.New("not valid yet")
	errServiceURL  = errors.New("serviceurl mismatch")
	errEndorsement = errors.New("key not endorsed for channel")
)

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("GET %s: Content-Type %q", u, ct)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

type jwk struct {
	Kty, Use, Kid, X5t, N, E string
	X5c                      []string
	Endorsements             []string
}

// fetchKeys follows the metadata to the JWKS, as the Bot Framework SDKs do.
func fetchKeys(metadataURL string) ([]jwk, error) {
	var meta struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := getJSON(metadataURL, &meta); err != nil {
		return nil, err
	}
	if meta.Issuer != teamstest.Issuer || !slices.Equal(meta.Algs, []string{"RS256"}) || meta.JWKSURI == "" {
		return nil, fmt.Errorf("metadata %+v", meta)
	}
	var set struct{ Keys []jwk }
	err := getJSON(meta.JWKSURI, &set)
	return set.Keys, err
}

func keys(t *testing.T, metadataURL string) []jwk {
	t.Helper()
	ks, err := fetchKeys(metadataURL)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// verify checks an Authorization header value as the Bot Framework's
// "Bot Connector to bot" rules say, with a 5-minute clock skew.
func verify(metadataURL, appID, auth string, activity map[string]any) error {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return fmt.Errorf("no Bearer prefix: %q", auth)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%d parts", len(parts))
	}
	dec := func(i int, v any) error {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		return json.Unmarshal(b, v)
	}
	var hdr struct{ Alg, Kid, Typ string }
	if err := dec(0, &hdr); err != nil {
		return err
	}
	if hdr.Alg != "RS256" {
		return errAlg
	}
	ks, err := fetchKeys(metadataURL)
	if err != nil {
		return err
	}
	var key *jwk
	for _, k := range ks {
		if k.Kid == hdr.Kid {
			key = &k
		}
	}
	if key == nil {
		return errKid
	}
	n, _ := base64.RawURLEncoding.DecodeString(key.N)
	e, _ := base64.RawURLEncoding.DecodeString(key.E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return errSig
	}
	var c struct {
		Iss        string `json:"iss"`
		Aud        string `json:"aud"`
		ServiceURL string `json:"serviceurl"`
		Exp        int64  `json:"exp"`
		Nbf        int64  `json:"nbf"`
	}
	if err := dec(1, &c); err != nil {
		return err
	}
	now, skew := time.Now().Unix(), int64(300)
	channelID, _ := activity["channelId"].(string)
	switch {
	case c.Iss != teamstest.Issuer:
		return errIss
	case c.Aud != appID:
		return errAud
	case c.Exp == 0 || now > c.Exp+skew:
		return errExpired
	case now+skew < c.Nbf:
		return errNotYet
	case c.ServiceURL == "" || c.ServiceURL != activity["serviceUrl"]:
		return errServiceURL
	case !slices.Contains(key.Endorsements, channelID):
		return errEndorsement
	}
	return nil
}

// ---- JWT, metadata and JWKS ----

func TestSignVerifiesAgainstServedJWKS(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	act := fake.MessageActivity(teamstest.MessageOptions{})
	auth := fake.Sign(act)
	if err := verify(fake.MetadataURL(), teamstest.DefaultAppID, auth, act); err != nil {
		t.Fatalf("a good token: %v", err)
	}
	if fake.MetadataFetches() != 1 || fake.JWKSFetches() != 1 {
		t.Errorf("fetches %d, %d", fake.MetadataFetches(), fake.JWKSFetches())
	}

	ks := keys(t, fake.MetadataURL())
	if len(ks) != 2 || !slices.Equal(ks[1].Endorsements, []string{"webchat"}) {
		t.Fatalf("keys %+v", ks)
	}
	k := ks[0]
	if k.Kty != "RSA" || k.Use != "sig" || k.Kid != fake.KeyID() || k.X5t != k.Kid || k.E != "AQAB" || len(k.X5c) != 1 ||
		!slices.Equal(k.Endorsements, []string{"msteams", "emulator"}) {
		t.Errorf("jwk %+v", k)
	}
	// The header and claims as the Bot Connector sends them.
	parts := strings.Split(strings.TrimPrefix(auth, "Bearer "), ".")
	var hdr, claims map[string]any
	for i, v := range []*map[string]any{&hdr, &claims} {
		b, _ := base64.RawURLEncoding.DecodeString(parts[i])
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	if hdr["alg"] != "RS256" || hdr["kid"] != fake.KeyID() || hdr["typ"] != "JWT" {
		t.Errorf("header %v", hdr)
	}
	exp, nbf := int64(claims["exp"].(float64)), int64(claims["nbf"].(float64))
	now := time.Now().Unix()
	if claims["iss"] != "https://api.botframework.com" || claims["aud"] != teamstest.DefaultAppID ||
		claims["serviceurl"] != fake.ServiceURL() || exp < now+3590 || exp > now+3610 || nbf < now-310 || nbf > now-290 {
		t.Errorf("claims %v", claims)
	}
}

func TestBrokenTokensFail(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{AppID: "app-1", AppPassword: "pw", TenantID: "tenant-1"})
	act := fake.MessageActivity(teamstest.MessageOptions{})
	for _, tc := range []struct {
		name string
		opt  teamstest.SignOption
		want error
	}{
		{"audience", teamstest.WithAudience("another-app"), errAud},
		{"issuer", teamstest.WithIssuer("https://sts.windows.net/x/"), errIss},
		{"expired", teamstest.WithExpiry(time.Now().Add(-time.Hour)), errExpired},
		{"no exp", teamstest.WithClaim("exp", nil), errExpired},
		{"not yet", teamstest.WithNotBefore(time.Now().Add(time.Hour)), errNotYet},
		{"service url", teamstest.WithServiceURL("https://evil.example/"), errServiceURL},
		{"foreign key", teamstest.WithForeignKey(), errSig},
		{"unknown kid", teamstest.WithKid("nope"), errKid},
		{"no kid", teamstest.WithKid(""), errKid},
		{"HS256", teamstest.WithAlg("HS256"), errAlg},
		{"none", teamstest.WithAlg("none"), errAlg},
		{"unendorsed", teamstest.WithUnendorsedKey(), errEndorsement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verify(fake.MetadataURL(), "app-1", fake.Sign(act, tc.opt), act)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	// The good one still verifies.
	if err := verify(fake.MetadataURL(), "app-1", fake.Sign(act), act); err != nil {
		t.Error(err)
	}
	// "none" has an empty signature; RS384 is a proper signature.
	if tok := fake.Sign(act, teamstest.WithAlg("none")); !strings.HasSuffix(tok, ".") {
		t.Errorf("none: %q", tok)
	}
	if len(strings.Split(fake.Sign(act, teamstest.WithAlg("RS384")), ".")[2]) != 342 {
		t.Error("RS384 signature length")
	}
}

func TestRotateKey(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	act := fake.MessageActivity(teamstest.MessageOptions{})
	old := fake.Sign(act)
	oldKid := fake.KeyID()
	kid := fake.RotateKey()
	if kid == oldKid || fake.KeyID() != kid {
		t.Fatalf("kids %s %s %s", oldKid, kid, fake.KeyID())
	}
	fresh := fake.Sign(act)
	if !strings.Contains(decodeHeader(t, fresh), kid) {
		t.Error("new token not signed with the new kid")
	}
	for _, tok := range []string{old, fresh} {
		if err := verify(fake.MetadataURL(), teamstest.DefaultAppID, tok, act); err != nil {
			t.Error(err)
		}
	}
	if ks := keys(t, fake.MetadataURL()); len(ks) != 3 || ks[0].Kid != oldKid || ks[1].Kid != kid {
		t.Errorf("keys after rotation %+v", ks)
	}
	fake.DropOldKeys()
	if ks := keys(t, fake.MetadataURL()); len(ks) != 2 || ks[0].Kid != kid {
		t.Errorf("keys after drop %+v", ks)
	}
	if err := verify(fake.MetadataURL(), teamstest.DefaultAppID, old, act); !errors.Is(err, errKid) {
		t.Errorf("old token after drop: %v", err)
	}
	if err := verify(fake.MetadataURL(), teamstest.DefaultAppID, fresh, act); err != nil {
		t.Error(err)
	}
	if fake.MetadataFetches() != 6 || fake.JWKSFetches() != 6 {
		t.Errorf("fetches %d %d", fake.MetadataFetches(), fake.JWKSFetches())
	}
}

func decodeHeader(t *testing.T, auth string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(strings.TrimPrefix(auth, "Bearer "), ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ---- token endpoint ----

func tokenRequest(t *testing.T, tokenURL string, form url.Values, basic ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func creds(id, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"scope": {"https://api.botframework.com/.default"}}
}

func TestTokenEndpoint(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{AppID: "app-1", AppPassword: "pw", TenantID: "tenant-1"})
	if fake.TokenURL() != fake.URL()+"/tenant-1/oauth2/v2.0/token" {
		t.Errorf("TokenURL %s", fake.TokenURL())
	}
	status, body := tokenRequest(t, fake.TokenURL(), creds("app-1", "pw"))
	if status != 200 || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 || body["access_token"] == "" {
		t.Fatalf("%d %v", status, body)
	}
	if tok := body["access_token"].(string); !slices.Contains(fake.Tokens(), tok) || strings.Count(tok, ".") != 2 {
		t.Errorf("token %q not remembered", tok)
	}
	if status, _ := tokenRequest(t, fake.TokenURL(), url.Values{"grant_type": {"client_credentials"},
		"scope": {teamstest.Scope}}, "app-1", "pw"); status != 200 {
		t.Errorf("basic auth: %d", status)
	}

	bad := func(f func(url.Values)) url.Values { v := creds("app-1", "pw"); f(v); return v }
	for _, tc := range []struct {
		name   string
		url    string
		form   url.Values
		status int
		code   string
	}{
		{"secret", fake.TokenURL(), creds("app-1", "wrong"), 401, "invalid_client"},
		{"client id", fake.TokenURL(), creds("app-2", "pw"), 400, "unauthorized_client"},
		{"tenant", fake.TokenURLFor("botframework.com"), creds("app-1", "pw"), 400, "unauthorized_client"},
		{"grant", fake.TokenURL(), bad(func(v url.Values) { v.Set("grant_type", "password") }), 400, "unsupported_grant_type"},
		{"scope", fake.TokenURL(), bad(func(v url.Values) { v.Set("scope", "https://api.botframework.com") }), 400, "invalid_scope"},
	} {
		status, body := tokenRequest(t, tc.url, tc.form)
		if status != tc.status || body["error"] != tc.code || !strings.HasPrefix(body["error_description"].(string), "AADSTS") {
			t.Errorf("%s: %d %v", tc.name, status, body)
		}
	}

	fake.SetTokenDown(2)
	for i := range 2 {
		if status, body := tokenRequest(t, fake.TokenURL(), creds("app-1", "pw")); status != 503 {
			t.Errorf("down %d: %d %v", i, status, body)
		}
	}
	if status, _ := tokenRequest(t, fake.TokenURL(), creds("app-1", "pw")); status != 200 {
		t.Errorf("after down: %d", status)
	}
	if n := fake.TokenRequests(); n != 2+5+3 {
		t.Errorf("TokenRequests %d", n)
	}
	if n := len(fake.Tokens()); n != 3 {
		t.Errorf("%d tokens", n)
	}

	multi := teamstest.New(t, teamstest.Options{MultiTenant: true})
	if status, _ := tokenRequest(t, multi.TokenURLFor("botframework.com"), creds(teamstest.DefaultAppID, teamstest.DefaultAppPassword)); status != 200 {
		t.Errorf("multi-tenant: %d", status)
	}
}

// ---- connector ----

type conn struct {
	t     *testing.T
	fake  *teamstest.Server
	token string
}

// do calls the connector; it may run outside the test's goroutine, so it
// reports failures with Errorf and answers status 0.
func (c conn) do(method, path string, body any) (int, http.Header, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Error(err)
			return 0, nil, nil
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(c.fake.ServiceURL(), "/")+path, rd)
	if err != nil {
		c.t.Error(err)
		return 0, nil, nil
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Error(err)
		return 0, nil, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			c.t.Errorf("%s %s: %q", method, path, b)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func msg(text string) map[string]any {
	return map[string]any{"type": "message", "text": text}
}

func card(title string) map[string]any {
	return map[string]any{"type": "message", "attachments": []any{map[string]any{
		"contentType": "application/vnd.microsoft.card.adaptive",
		"content":     map[string]any{"type": "AdaptiveCard", "version": "1.5", "body": []any{map[string]any{"type": "TextBlock", "text": title}}},
	}}}
}

func TestConnector(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	_, body := tokenRequest(t, fake.TokenURL(), creds(teamstest.DefaultAppID, teamstest.DefaultAppPassword))
	c := conn{t: t, fake: fake, token: body["access_token"].(string)}
	ch := teamstest.DefaultChannelID

	// A new thread in the channel.
	status, _, resp := c.do("POST", "/v3/conversations", map[string]any{
		"isGroup":     true,
		"channelData": map[string]any{"channel": map[string]any{"id": ch}, "tenant": map[string]any{"id": teamstest.DefaultTenantID}},
		"activity":    card("Investigating HighCPU"),
	})
	root, _ := resp["activityId"].(string)
	conv := ch + ";messageid=" + root
	if status != 201 || root == "" || resp["id"] != conv {
		t.Fatalf("create: %d %v", status, resp)
	}
	if cs := fake.Conversations(); len(cs) != 1 || cs[0].ID != conv || cs[0].ChannelID != ch || !cs[0].IsGroup || cs[0].ActivityID != root {
		t.Errorf("conversations %+v", cs)
	}

	// Send into the thread (escaped conversation id), reply (raw), update.
	status, _, resp = c.do("POST", "/v3/conversations/"+url.PathEscape(conv)+"/activities", msg("gathering"))
	progress, _ := resp["id"].(string)
	if status != 201 || progress == "" {
		t.Fatalf("send: %d %v", status, resp)
	}
	status, _, resp = c.do("POST", "/v3/conversations/"+conv+"/activities/"+root, msg("a reply"))
	reply, _ := resp["id"].(string)
	if status != 201 || reply == "" || reply == progress {
		t.Fatalf("reply: %d %v", status, resp)
	}
	status, _, resp = c.do("PUT", "/v3/conversations/"+url.PathEscape(conv)+"/activities/"+progress,
		map[string]any{"type": "message", "id": progress, "text": "done"})
	if status != 200 || resp["id"] != progress {
		t.Fatalf("update: %d %v", status, resp)
	}
	status, _, _ = c.do("PUT", "/v3/conversations/"+url.PathEscape(conv)+"/activities/"+root, card("Resolved: HighCPU"))
	if status != 200 {
		t.Fatalf("update root: %d", status)
	}

	th := fake.Thread(conv)
	if len(th) != 3 || th[0].ID != root || th[1].ID != progress || th[2].ID != reply {
		t.Fatalf("thread %+v", th)
	}
	if th[1].Text != "done" || th[1].Updates != 1 || th[2].Text != "a reply" || th[0].Updates != 1 {
		t.Errorf("thread texts %+v", th)
	}
	if cards := th[0].Cards(); len(cards) != 1 || !strings.Contains(fmt.Sprint(cards[0]["body"]), "Resolved: HighCPU") {
		t.Errorf("root card %v", cards)
	}
	if a, ok := fake.ActivityByID(progress); !ok || a.Text != "done" || a.ThreadRoot != root {
		t.Errorf("ActivityByID %+v", a)
	}
	// The channel's top level shows the root only.
	if top := fake.Thread(ch); len(top) != 1 || top[0].ID != root {
		t.Errorf("top level %+v", top)
	}

	// A post to the bare channel id is a new thread; a reply to it without
	// ";messageid=" lands in that thread.
	_, _, resp = c.do("POST", "/v3/conversations/"+ch+"/activities", msg("new post"))
	post := resp["id"].(string)
	_, _, resp = c.do("POST", "/v3/conversations/"+ch+"/activities/"+post, msg("under it"))
	if th := fake.Thread(ch + ";messageid=" + post); len(th) != 2 || th[1].ID != resp["id"] {
		t.Errorf("new thread %+v", th)
	}
	if top := fake.Thread(ch); len(top) != 2 {
		t.Errorf("top level %+v", top)
	}

	// Recorded calls.
	calls := fake.CallsTo("PUT", "/v3/conversations/"+ch)
	if len(calls) != 2 || calls[0].Op != teamstest.OpUpdate || calls[0].ConversationID != conv || calls[0].ActivityID != progress ||
		calls[0].Body["text"] != "done" || calls[0].Token != c.token || calls[0].Status != 200 {
		t.Errorf("PUT calls %+v", calls)
	}
	ops := []string{}
	for _, call := range fake.Calls() {
		ops = append(ops, call.Op)
	}
	if want := []string{teamstest.OpCreateConversation, teamstest.OpSend, teamstest.OpReply, teamstest.OpUpdate, teamstest.OpUpdate,
		teamstest.OpSend, teamstest.OpReply}; !slices.Equal(ops, want) {
		t.Errorf("ops %v", ops)
	}

	// Errors.
	if status, _, _ := c.do("PUT", "/v3/conversations/"+conv+"/activities/999", msg("x")); status != 404 {
		t.Errorf("update unknown: %d", status)
	}
	if status, _, resp := c.do("POST", "/v3/conversations", map[string]any{"isGroup": true,
		"channelData": map[string]any{"channel": map[string]any{"id": ch}}}); status != 400 || resp["error"] == nil {
		t.Errorf("create without activity: %d %v", status, resp)
	}
	if status, _, _ := c.do("POST", "/v3/conversations/"+conv+"/activities", map[string]any{"text": "no type"}); status != 400 {
		t.Errorf("no type: %d", status)
	}
	if status, _, _ := c.do("POST", "/v3/conversations/"+conv+"/activities", msg(strings.Repeat("x", 30000))); status != 413 {
		t.Errorf("too big: %d", status)
	}
	if status, _, _ := c.do("GET", "/v3/conversations/"+conv+"/members", nil); status != 404 {
		t.Errorf("unknown op: %d", status)
	}
	if status, _, _ := c.do("DELETE", "/v3/conversations/"+conv+"/activities/"+reply, nil); status != 200 {
		t.Errorf("delete: %d", status)
	}
	if th := fake.Thread(conv); len(th) != 2 {
		t.Errorf("thread after delete %d", len(th))
	}
	if a, _ := fake.ActivityByID(reply); !a.Deleted {
		t.Error("not deleted")
	}
}

func TestConnectorAuth(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	path := "/v3/conversations/" + teamstest.DefaultChannelID + "/activities"
	for _, tok := range []string{"", "forged", fake.Sign(map[string]any{})[len("Bearer "):]} {
		c := conn{t: t, fake: fake, token: tok}
		if status, _, resp := c.do("POST", path, msg("x")); status != 401 || resp["message"] == nil {
			t.Errorf("token %q: %d %v", tok, status, resp)
		}
	}
	c := conn{t: t, fake: fake, token: fake.AccessToken()}
	if status, _, _ := c.do("POST", path, msg("x")); status != 201 {
		t.Errorf("good token: %d", status)
	}
	fake.ExpireTokens()
	if status, _, _ := c.do("POST", path, msg("x")); status != 401 {
		t.Errorf("expired token: %d", status)
	}
	short := teamstest.New(t, teamstest.Options{TokenLifetime: time.Second})
	_, body := tokenRequest(t, short.TokenURL(), creds(teamstest.DefaultAppID, teamstest.DefaultAppPassword))
	if body["expires_in"] != 1.0 {
		t.Errorf("expires_in %v", body["expires_in"])
	}
	if calls := fake.Calls(); len(calls) != 5 || calls[0].Status != 401 || calls[3].Status != 201 {
		t.Errorf("calls %+v", calls)
	}
}

func TestConnectorRateLimitAndFailures(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	c := conn{t: t, fake: fake, token: fake.AccessToken()}
	path := "/v3/conversations/" + teamstest.DefaultChannelID + "/activities"
	fake.RateLimit("POST", 2, 1500*time.Millisecond)
	for range 2 {
		status, h, resp := c.do("POST", path, msg("x"))
		if status != 429 || h.Get("Retry-After") != "2" || resp["error"] == nil {
			t.Errorf("rate limited: %d %q %v", status, h.Get("Retry-After"), resp)
		}
	}
	// PUT is not limited.
	status, _, resp := c.do("POST", path, msg("x"))
	if status != 201 {
		t.Fatalf("after limit: %d", status)
	}
	fake.RateLimit("PUT", 1, 0)
	if status, h, _ := c.do("PUT", path+"/"+resp["id"].(string), msg("y")); status != 429 || h.Get("Retry-After") != "0" {
		t.Errorf("PUT limited: %d %q", status, h.Get("Retry-After"))
	}
	fake.Fail("POST", 1, http.StatusBadGateway)
	if status, _, _ := c.do("POST", path, msg("x")); status != 502 {
		t.Errorf("fail: %d", status)
	}
	if status, _, _ := c.do("POST", path, msg("x")); status != 201 {
		t.Errorf("after fail: %d", status)
	}
	if n := len(fake.Thread(teamstest.DefaultChannelID)); n != 2 {
		t.Errorf("%d posts", n)
	}
}

func TestWaitCalls(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	c := conn{t: t, fake: fake, token: fake.AccessToken()}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			c.do("POST", "/v3/conversations/"+teamstest.DefaultChannelID+"/activities", msg(fmt.Sprint(i)))
		})
	}
	calls, ok := fake.WaitCalls(3, 5*time.Second, func(c teamstest.Call) bool { return c.Op == teamstest.OpSend })
	if !ok || len(calls) != 3 {
		t.Errorf("WaitCalls %v %d", ok, len(calls))
	}
	wg.Wait()
	if _, ok := fake.WaitCalls(4, 50*time.Millisecond, nil); ok {
		t.Error("WaitCalls for a 4th call succeeded")
	}
	th, ok := fake.WaitThread(teamstest.DefaultChannelID, time.Second, func(a []teamstest.Activity) bool { return len(a) == 3 })
	if !ok || len(th) != 3 {
		t.Errorf("WaitThread %v %d", ok, len(th))
	}
}

func TestCreatePersonalChat(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	c := conn{t: t, fake: fake, token: fake.AccessToken()}
	u := teamstest.TestUser("Sam")
	status, _, resp := c.do("POST", "/v3/conversations", map[string]any{
		"isGroup": false, "tenantId": teamstest.DefaultTenantID, "bot": map[string]any{"id": fake.BotID()},
		"members": []any{map[string]any{"id": u.ID}}, "activity": msg("hello"),
	})
	if status != 201 || resp["id"] != fake.PersonalConversationID(u) || resp["activityId"] == nil {
		t.Fatalf("%d %v", status, resp)
	}
	if th := fake.Thread(resp["id"].(string)); len(th) != 1 || th[0].Text != "hello" || th[0].ThreadRoot != "" {
		t.Errorf("%+v", th)
	}
	if status, _, _ := c.do("POST", "/v3/conversations", map[string]any{"isGroup": false, "tenantId": "other",
		"members": []any{map[string]any{"id": u.ID}}}); status != 400 {
		t.Errorf("other tenant: %d", status)
	}
}

// ---- inbound activities ----

// paths lists the key paths of a JSON value ("a.b", "l[].c").
func paths(prefix string, v any, out map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			paths(p, e, out)
		}
	case []any:
		for _, e := range t {
			paths(prefix+"[]", e, out)
		}
	}
}

func hasPaths(t *testing.T, name string, act map[string]any, want ...string) {
	t.Helper()
	b, _ := json.Marshal(act)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	got := map[string]bool{}
	paths("", v, got)
	for _, p := range want {
		if !got[p] {
			t.Errorf("%s: no %s", name, p)
		}
	}
}

// The key paths of the Teams docs' channel message mentioning a bot
// (testdata/teams/docs/channel_message_mentioning_bot_early_teams_docs.json
// in the shared research notes), plus those newer payloads carry.
var channelMessagePaths = []string{
	"type", "id", "timestamp", "serviceUrl", "channelId", "from.id", "from.name", "from.aadObjectId",
	"conversation.id", "conversation.conversationType", "conversation.isGroup", "conversation.tenantId",
	"recipient.id", "recipient.name", "textFormat", "text", "attachments[].contentType", "attachments[].content",
	"entities[].type", "entities[].mentioned.id", "entities[].mentioned.name", "entities[].text",
	"entities[].locale", "entities[].country", "entities[].platform",
	"channelData.teamsChannelId", "channelData.teamsTeamId", "channelData.channel.id", "channelData.team.id",
	"channelData.tenant.id", "locale", "localTimestamp",
}

func TestMessageActivity(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{AppID: "app-9", BotName: "Nightshift"})
	a := fake.MessageActivity(teamstest.MessageOptions{})
	hasPaths(t, "message", a, channelMessagePaths...)
	id := a["id"].(string)
	conv := a["conversation"].(map[string]any)
	cd := a["channelData"].(map[string]any)
	ent := a["entities"].([]any)[0].(map[string]any)
	switch {
	case a["type"] != "message" || a["channelId"] != "msteams" || a["serviceUrl"] != fake.ServiceURL():
		t.Errorf("%v", a)
	case a["text"] != "<at>Nightshift</at> help":
		t.Errorf("text %q", a["text"])
	case conv["id"] != teamstest.DefaultChannelID+";messageid="+id || conv["conversationType"] != "channel" ||
		conv["isGroup"] != true || conv["tenantId"] != teamstest.DefaultTenantID:
		t.Errorf("conversation %v", conv)
	case a["recipient"].(map[string]any)["id"] != "28:app-9" || fake.BotID() != "28:app-9":
		t.Errorf("recipient %v", a["recipient"])
	case ent["type"] != "mention" || ent["text"] != "<at>Nightshift</at>" || ent["mentioned"].(map[string]any)["id"] != "28:app-9":
		t.Errorf("mention %v", ent)
	case cd["teamsChannelId"] != teamstest.DefaultChannelID || cd["teamsTeamId"] != teamstest.DefaultTeamID:
		t.Errorf("channelData %v", cd)
	case !strings.HasPrefix(a["from"].(map[string]any)["id"].(string), "29:"):
		t.Errorf("from %v", a["from"])
	case a["replyToId"] != nil:
		t.Error("replyToId on a new post")
	}
	if _, err := time.Parse(time.RFC3339Nano, a["timestamp"].(string)); err != nil {
		t.Error(err)
	}

	// In a thread, without a mention, from someone else.
	sam := teamstest.TestUser("Sam")
	r := fake.MessageActivity(teamstest.MessageOptions{Where: teamstest.Where{ThreadRoot: id}, Text: "ack", NoMention: true, From: sam})
	if r["replyToId"] != id || r["conversation"].(map[string]any)["id"] != teamstest.DefaultChannelID+";messageid="+id ||
		r["text"] != "ack" || r["from"].(map[string]any)["name"] != "Sam" || r["id"] == id {
		t.Errorf("thread message %v", r)
	}
	if teamstest.TestUser("Sam") != sam || teamstest.TestUser("Kim").ID == sam.ID {
		t.Error("TestUser not deterministic per name")
	}

	// 1:1 (the docs' personal message shape).
	p := fake.MessageActivity(teamstest.MessageOptions{Where: teamstest.Where{Personal: true}, Text: "status"})
	hasPaths(t, "personal", p, "conversation.conversationType", "conversation.id", "channelData.tenant.id", "from.aadObjectId", "locale")
	pc := p["conversation"].(map[string]any)
	if pc["conversationType"] != "personal" || pc["id"] != fake.PersonalConversationID(teamstest.DefaultUser) || p["text"] != "status" {
		t.Errorf("personal %v", p)
	}
}

func TestCardAndReactionActivities(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	const cardID = "1700000000999"
	inv := fake.InvokeActivity(teamstest.ActionOptions{CardID: cardID, Verb: "ack", Data: map[string]any{"investigation": "inv-1"}})
	v := inv["value"].(map[string]any)
	action := v["action"].(map[string]any)
	if inv["type"] != "invoke" || inv["name"] != "adaptiveCard/action" || inv["replyToId"] != cardID ||
		action["type"] != "Action.Execute" || action["verb"] != "ack" || action["data"].(map[string]any)["investigation"] != "inv-1" ||
		v["trigger"] != "manual" || inv["conversation"].(map[string]any)["id"] != teamstest.DefaultChannelID+";messageid="+cardID {
		t.Errorf("invoke %v", inv)
	}
	sub := fake.SubmitActivity(teamstest.ActionOptions{CardID: cardID, Data: map[string]any{"action": "ack"}})
	if sub["type"] != "message" || sub["value"].(map[string]any)["action"] != "ack" || sub["replyToId"] != cardID || sub["text"] != nil {
		t.Errorf("submit %v", sub)
	}

	re := fake.ReactionActivity(teamstest.ReactionOptions{MessageID: cardID})
	if re["type"] != "messageReaction" || re["replyToId"] != cardID ||
		re["reactionsAdded"].([]any)[0].(map[string]any)["type"] != "like" || re["reactionsRemoved"] != nil {
		t.Errorf("reaction %v", re)
	}
	un := fake.ReactionActivity(teamstest.ReactionOptions{MessageID: cardID, Reaction: "heart", Removed: true})
	if un["reactionsRemoved"].([]any)[0].(map[string]any)["type"] != "heart" || un["reactionsAdded"] != nil {
		t.Errorf("reaction removed %v", un)
	}
}

func TestConversationAndInstallationUpdates(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	added := fake.ConversationUpdate(teamstest.ConversationUpdateOptions{TeamName: "SRE"})
	hasPaths(t, "conversationUpdate", added, "type", "id", "timestamp", "channelId", "serviceUrl", "from.id",
		"conversation.isGroup", "conversation.conversationType", "conversation.id", "recipient.id", "recipient.name",
		"channelData.team.id", "channelData.eventType", "channelData.tenant.id", "membersAdded[].id")
	cd := added["channelData"].(map[string]any)
	if added["type"] != "conversationUpdate" || cd["eventType"] != "teamMemberAdded" ||
		added["membersAdded"].([]any)[0].(map[string]any)["id"] != fake.BotID() ||
		added["conversation"].(map[string]any)["id"] != teamstest.DefaultTeamID || cd["team"].(map[string]any)["name"] != "SRE" {
		t.Errorf("bot added %v", added)
	}
	// The docs' channelCreated shape.
	created := fake.ConversationUpdate(teamstest.ConversationUpdateOptions{EventType: "channelCreated", ChannelName: "FunDiscussions",
		Where: teamstest.Where{Channel: "19:new@thread.tacv2"}})
	hasPaths(t, "channelCreated", created, "channelData.channel.id", "channelData.channel.name", "channelData.team.id", "channelData.eventType")
	if created["membersAdded"] != nil || created["channelData"].(map[string]any)["channel"].(map[string]any)["id"] != "19:new@thread.tacv2" {
		t.Errorf("channelCreated %v", created)
	}
	removed := fake.ConversationUpdate(teamstest.ConversationUpdateOptions{EventType: "teamMemberRemoved", BotRemoved: true})
	if removed["membersRemoved"].([]any)[0].(map[string]any)["id"] != fake.BotID() {
		t.Errorf("removed %v", removed)
	}

	inst := fake.InstallationUpdate(teamstest.InstallationOptions{})
	icd := inst["channelData"].(map[string]any)
	if inst["type"] != "installationUpdate" || inst["action"] != "add" ||
		icd["settings"].(map[string]any)["selectedChannel"].(map[string]any)["id"] != teamstest.DefaultChannelID ||
		icd["team"].(map[string]any)["id"] != teamstest.DefaultTeamID || icd["tenant"].(map[string]any)["id"] != teamstest.DefaultTenantID {
		t.Errorf("installationUpdate %v", inst)
	}
	if rm := fake.InstallationUpdate(teamstest.InstallationOptions{Action: "remove", Where: teamstest.Where{Personal: true}}); rm["action"] != "remove" ||
		rm["conversation"].(map[string]any)["conversationType"] != "personal" {
		t.Errorf("personal remove %v", rm)
	}
}

// ---- Deliver, end to end with a bot that validates ----

func TestDeliver(t *testing.T) {
	fake := teamstest.New(t, teamstest.Options{})
	var mu sync.Mutex
	var userAgents []string
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		userAgents = append(userAgents, r.UserAgent())
		mu.Unlock()
		var act map[string]any
		if err := json.NewDecoder(r.Body).Decode(&act); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if err := verify(fake.MetadataURL(), teamstest.DefaultAppID, r.Header.Get("Authorization"), act); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if act["type"] == "invoke" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"statusCode":200,"type":"application/vnd.microsoft.activity.message","value":"ok"}`)
			return
		}
		// Reply in the thread, through the connector, as a bot would.
		conv := act["conversation"].(map[string]any)["id"].(string)
		c := conn{t: t, fake: fake, token: fake.AccessToken()}
		c.do("POST", "/v3/conversations/"+url.PathEscape(conv)+"/activities/"+act["id"].(string), msg("on it"))
		w.WriteHeader(http.StatusOK)
	}))
	defer bot.Close()

	a := fake.MessageActivity(teamstest.MessageOptions{Text: "why is checkout slow"})
	status, _, err := fake.Deliver(t.Context(), bot.URL+"/api/messages", a)
	if err != nil || status != 200 {
		t.Fatalf("deliver: %d %v", status, err)
	}
	conv := a["conversation"].(map[string]any)["id"].(string)
	th := fake.Thread(conv)
	if len(th) != 2 || !th[0].Inbound || th[0].Text != "<at>Nightshift</at> why is checkout slow" || th[1].Text != "on it" || th[1].Inbound {
		t.Errorf("thread %+v", th)
	}

	status, body, err := fake.Deliver(t.Context(), bot.URL+"/api/messages",
		fake.InvokeActivity(teamstest.ActionOptions{CardID: th[1].ID, Verb: "ack"}))
	if err != nil || status != 200 || !strings.Contains(string(body), `"statusCode":200`) {
		t.Errorf("invoke: %d %s %v", status, body, err)
	}

	status, body, _ = fake.Deliver(t.Context(), bot.URL+"/api/messages", fake.MessageActivity(teamstest.MessageOptions{}),
		teamstest.WithServiceURL("https://smba.trafficmanager.net/amer/"))
	if status != 401 || !strings.Contains(string(body), errServiceURL.Error()) {
		t.Errorf("bad serviceurl: %d %s", status, body)
	}
	if d := fake.Deliveries(); len(d) != 3 || d[0].Status != 200 || d[2].Status != 401 {
		t.Errorf("deliveries %+v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(userAgents) != 3 || !strings.Contains(userAgents[0], "Microsoft-BotFramework") {
		t.Errorf("user agents %q", userAgents)
	}
}
