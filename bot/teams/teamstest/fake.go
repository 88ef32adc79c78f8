// Package teamstest is a local fake of the Microsoft Bot Framework for tests:
// one httptest server that plays the Bot Connector's OpenID metadata and
// signing keys, the Microsoft Entra ID (Azure AD) token endpoint and the
// Teams connector service (serviceUrl), so that a test runs Nightshift's
// real JWT validation and real connector client end to end. It uses only
// the standard library, is for tests only and must never talk to Microsoft.
//
// New starts it with the bot's app id, password and tenant (Options; the
// zero value gets DefaultAppID, DefaultAppPassword and DefaultTenantID); it
// is closed when the test ends. Point the bot at it with MetadataURL (the
// OpenID document instead of
// https://login.botframework.com/v1/.well-known/openidconfiguration) and
// TokenURL (instead of
// https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token); the
// serviceUrl comes with every inbound activity (ServiceURL).
//
// Inbound (Bot Connector → bot). MessageActivity, SubmitActivity,
// InvokeActivity, ReactionActivity, ConversationUpdate and
// InstallationUpdate build realistic Teams activities as map[string]any
// (edit them freely). Sign makes the "Authorization: Bearer …" value the
// Bot Connector would send: an RS256 JWT with iss https://api.botframework.com,
// aud the app id, a serviceurl claim equal to the activity's serviceUrl,
// exp now+1h, nbf now−5m and the kid of a key published in the JWKS
// (endorsed for "msteams" and "emulator"). SignOptions break one thing at a
// time (WithAudience, WithIssuer, WithExpiry, WithNotBefore, WithServiceURL,
// WithForeignKey, WithUnendorsedKey, WithAlg, WithKid, WithClaim). Deliver
// POSTs a signed activity to the bot's messaging endpoint and returns the
// status and body (the invokeResponse of an Action.Execute, say).
// The JWKS holds the signing key and, after it, a key endorsed only for
// "webchat" (WithUnendorsedKey signs with it). RotateKey publishes a new
// signing key and signs with it from then on; DropOldKeys unpublishes the
// older signing keys. MetadataFetches and JWKSFetches count the GETs, to
// check the bot's key caching.
//
// Token endpoint. POST /{tenant}/oauth2/v2.0/token takes the client
// credentials grant (grant_type, client_id, client_secret in the form or in
// HTTP Basic auth, scope https://api.botframework.com/.default) and answers
// {"token_type":"Bearer","expires_in":…,"ext_expires_in":…,"access_token":…}
// with a fresh JWT; wrong values get Entra ID's error JSON (AADSTS codes).
// Only the configured tenant is accepted (and "botframework.com" with
// Options.MultiTenant). SetTokenDown answers the next n requests with 503;
// ExpireTokens makes every issued token invalid; TokenRequests counts.
//
// Connector (serviceUrl = ServiceURL(), base+"/teams/"). Every call is
// recorded as a Call (Calls, CallsTo, WaitCalls), with the conversation id
// and activity id decoded from the path (escaped or not). Calls need a
// bearer token issued by the token endpoint (or AccessToken) and not
// expired, else 401. It answers:
//   - POST /v3/conversations (CreateConversation): a new thread in a
//     channel (channelData.channel.id, an activity is required) →
//     201 {"id":"<channel>;messageid=<n>","activityId":"<n>"}; or a 1:1
//     chat (members: one user, no channel) → 201 {"id":"a:…"}
//   - POST /v3/conversations/{id}/activities (SendToConversation) →
//     201 {"id":"<n>"}; to a channel id without ";messageid=" it is a new
//     top-level post (a new thread)
//   - POST /v3/conversations/{id}/activities/{activityId} (ReplyToActivity)
//     → 201 {"id":"<n>"}, in the thread of activityId
//   - PUT /v3/conversations/{id}/activities/{activityId} (UpdateActivity)
//     → 200 {"id":"<activityId>"}; 404 for an unknown activity, 403 for one
//     the bot did not post
//   - DELETE /v3/conversations/{id}/activities/{activityId} → 200
//
// Ids are numeric like Teams message ids and unique across the fake. An
// activity without a type, a body that is not a JSON object, or a create
// with a tenant (channelData.tenant.id, tenantId) other than the bot's gets
// 400. Errors use the connector's ErrorResponse shape
// {"error":{"code","message"}}; a 401 answers {"message":"Authorization
// has been denied for this request."}. A client should take any 2xx as
// success. RateLimit answers the next n calls of an HTTP method with 429
// and Retry-After, Fail with any status. A request body over
// Options.MaxActivityBytes (28 KiB by default) gets 413, as Teams does.
//
// What the channel shows. Thread gives, for a conversation id, the
// messages in order with updates applied and deletions removed: for
// "19:…@thread.tacv2;messageid=R" the thread R (root first); for a bare
// channel id the top-level posts; for a chat all its messages. The user's
// messages sent with Deliver are in it too (Activity.Inbound). ActivityByID
// gives the latest version of one activity; Conversations the conversations
// created with POST /v3/conversations.
package teamstest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults for the zero Options, and the ids the activity builders use.
const (
	DefaultAppID       = "b0775eaa-4e3f-4c2a-9d51-6a7b8c9d0e1f"
	DefaultAppPassword = "teamstest-app-password"
	DefaultTenantID    = "8c1c2d36-5b1a-4f5e-9a0b-3c4d5e6f7a8b"
	DefaultBotName     = "Nightshift"

	// DefaultTeamID is the team (and its General channel); DefaultChannelID
	// a channel of it where the bot is mentioned.
	DefaultTeamID    = "19:0a1b2c3d4e5f40718293a4b5c6d7e8f9@thread.tacv2"
	DefaultChannelID = "19:5f0e6c0d1b2a49c8a7e3d2f1c0b9a8e7@thread.tacv2"

	// Issuer is the iss of the Bot Connector's tokens and of its OpenID
	// metadata.
	Issuer = "https://api.botframework.com"
	// Scope is the scope of the client credentials grant for the connector.
	Scope = "https://api.botframework.com/.default"

	// DefaultMaxActivityBytes is Teams' message size limit (about 28 KB).
	DefaultMaxActivityBytes = 28 * 1024
)

// The Op of a connector Call (the operationIds of the connector API).
const (
	OpCreateConversation = "CreateConversation"
	OpSend               = "SendToConversation"
	OpReply              = "ReplyToActivity"
	OpUpdate             = "UpdateActivity"
	OpDelete             = "DeleteActivity"
)

// Options configures the fake: the bot's Microsoft app registration.
type Options struct {
	AppID       string // the bot's Microsoft App ID (aud of inbound tokens, client_id)
	AppPassword string // its client secret
	TenantID    string // its Entra ID tenant; also the Teams tenant of the activities
	// MultiTenant makes the token endpoint accept the tenant
	// "botframework.com" too (multi-tenant bots; single-tenant bots fail
	// there with AADSTS700016, as in Entra ID).
	MultiTenant bool
	BotName     string // the bot's display name in mentions and recipient
	// TokenLifetime is the lifetime of issued access tokens (expires_in);
	// default one hour. The connector rejects expired ones with 401.
	TokenLifetime time.Duration
	// MaxActivityBytes is the largest connector request body accepted;
	// larger ones get 413. 0 means DefaultMaxActivityBytes, <0 no limit.
	MaxActivityBytes int
}

// Call is one request to the connector (serviceUrl).
type Call struct {
	Op             string         // OpCreateConversation, OpSend, …; "" for an unknown path
	Method         string         // HTTP method
	Path           string         // decoded, below the serviceUrl: "/v3/conversations/19:…;messageid=1/activities"
	ConversationID string         // decoded from the path
	ActivityID     string         // decoded from the path
	Body           map[string]any // the JSON body; nil if none
	Token          string         // the bearer token
	Status         int            // the HTTP status the fake answered with
	Response       map[string]any // the JSON answered (id, activityId, error)
}

// Activity is one message as the channel shows it: the latest version
// posted or updated.
type Activity struct {
	ID             string
	ConversationID string // as it was posted to (with ";messageid=" for a channel thread)
	ThreadRoot     string // the id of its thread's root ("" in a chat); a root's is its own id
	Type           string
	Text           string
	TextFormat     string
	Summary        string
	Attachments    []map[string]any
	Entities       []map[string]any
	ReplyToID      string
	FromName       string
	Inbound        bool // a user's message sent with Deliver, not posted by the bot
	Updates        int  // how often it was updated (PUT)
	Deleted        bool
	Body           map[string]any // the latest JSON, as posted or updated
}

// Cards returns the content of its Adaptive Card attachments.
func (a Activity) Cards() []map[string]any {
	var out []map[string]any
	for _, at := range a.Attachments {
		if at["contentType"] == "application/vnd.microsoft.card.adaptive" {
			if c, ok := at["content"].(map[string]any); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

// Conversation is one conversation created with POST /v3/conversations.
type Conversation struct {
	ID         string // "19:…@thread.tacv2;messageid=<n>" or "a:…"
	ChannelID  string // channelData.channel.id; "" for a 1:1 chat
	TenantID   string // channelData.tenant.id or tenantId, if given
	IsGroup    bool
	ActivityID string         // the id of its first activity; "" if none
	Members    []string       // member ids (1:1 chat)
	Body       map[string]any // the ConversationParameters as posted
}

// Delivery is one activity sent to the bot with Deliver.
type Delivery struct {
	Activity map[string]any
	Status   int // 0 when the request failed
	Body     []byte
}

// failure is an injected answer to the next calls of an HTTP method.
type failure struct {
	n     int
	code  int
	after time.Duration
}

type post struct {
	a    Activity
	base string // conversation id without ";messageid="
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	keys       []*sigKey     // published signing keys, in order
	cur        *sigKey       // signs inbound tokens
	unendorsed *sigKey       // published after keys, endorsed for "webchat" only
	foreign    *sigKey       // never published
	aad        *sigKey       // signs access tokens
	nsign      int           // signing keys made
	metaGets   int
	jwksGets   int
	tokenReqs  int
	tokenDown  int
	tokens     map[string]time.Time // access token → expiry
	calls      []Call
	fail       map[string]*failure
	posts      []*post
	byID       map[string]*post
	convs      []Conversation
	deliveries []Delivery
	seq        int64
}

// New starts a fake for the app in opts (zero fields get the defaults),
// closed when tb ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.AppPassword == "" {
		opts.AppPassword = DefaultAppPassword
	}
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.BotName == "" {
		opts.BotName = DefaultBotName
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.MaxActivityBytes == 0 {
		opts.MaxActivityBytes = DefaultMaxActivityBytes
	}
	s := &Server{
		opts:    opts,
		changed: make(chan struct{}),
		tokens:  map[string]time.Time{},
		fail:    map[string]*failure{},
		byID:    map[string]*post{},
	}
	s.cur = s.newKey("sign", endorsed)
	s.keys = []*sigKey{s.cur}
	s.unendorsed = s.newKey("unendorsed", []string{"webchat"})
	s.aad = s.newKey("aad", nil)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down; New arranges it for the end of the test.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// MetadataURL is the OpenID metadata document (the fake's
// https://login.botframework.com/v1/.well-known/openidconfiguration).
func (s *Server) MetadataURL() string { return s.srv.URL + "/v1/.well-known/openidconfiguration" }

// JWKSURL is the key set the metadata points to.
func (s *Server) JWKSURL() string { return s.srv.URL + "/v1/.well-known/keys" }

// TokenURL is the token endpoint for the configured tenant (the fake's
// https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token).
func (s *Server) TokenURL() string {
	return s.srv.URL + "/" + s.opts.TenantID + "/oauth2/v2.0/token"
}

// ServiceURL is the connector's serviceUrl (trailing slash, as Teams sends
// it).
func (s *Server) ServiceURL() string { return s.srv.URL + "/teams/" }

// Options returns the options in effect (with the defaults filled in).
func (s *Server) Options() Options { return s.opts }

// BotID is the bot's Teams account id, "28:" + app id.
func (s *Server) BotID() string { return "28:" + s.opts.AppID }

// broadcast wakes the waiters; s.mu must be held.
func (s *Server) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Wait waits up to timeout for cond to hold, checking it again after every
// change to the fake (a call, a token, a delivery). cond may call the
// fake's methods.
func (s *Server) Wait(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return cond()
		}
	}
}

// nextID returns a fresh activity id, numeric like Teams' message ids;
// s.mu must be held.
func (s *Server) nextID() string {
	s.seq++
	return strconv.FormatInt(1700000000000+s.seq, 10)
}

// NewID returns a fresh activity id (for an inbound activity, say).
func (s *Server) NewID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextID()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/v1/.well-known/openidconfiguration":
		s.metadata(w, r)
	case p == "/v1/.well-known/keys":
		s.jwks(w, r)
	case strings.HasSuffix(p, "/oauth2/v2.0/token") && strings.Count(p, "/") == 4:
		s.token(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/oauth2/v2.0/token"))
	case strings.HasPrefix(p, "/teams/"):
		s.connector(w, r)
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ---- OpenID metadata and JWKS ----

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	s.metaGets++
	s.broadcast()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                Issuer,
		"authorization_endpoint":                "https://invalid.botframework.com",
		"jwks_uri":                              s.JWKSURL(),
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	s.jwksGets++
	keys := make([]map[string]any, 0, len(s.keys)+1)
	for _, k := range append(slices.Clone(s.keys), s.unendorsed) {
		keys = append(keys, k.jwk())
	}
	s.broadcast()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// MetadataFetches is how often the OpenID metadata was fetched.
func (s *Server) MetadataFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.metaGets
}

// JWKSFetches is how often the key set was fetched.
func (s *Server) JWKSFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksGets
}

// RotateKey publishes a new signing key, signs with it from now on and
// returns its kid. The old keys stay published until DropOldKeys.
func (s *Server) RotateKey() string {
	k := s.newKey("sign", endorsed)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = k
	s.keys = append(s.keys, k)
	s.broadcast()
	return k.kid
}

// DropOldKeys unpublishes every signing key but the current one (the
// unendorsed key stays).
func (s *Server) DropOldKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = []*sigKey{s.cur}
	s.broadcast()
}

// KeyID is the kid of the current signing key.
func (s *Server) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.kid
}

// ---- token endpoint ----

// aadError is Entra ID's error body.
func aadError(code, desc string, num int) map[string]any {
	return map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s", num, desc),
		"error_codes":       []int{num},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          "00000000-0000-0000-0000-000000000000",
		"correlation_id":    "00000000-0000-0000-0000-000000000000",
	}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	s.mu.Lock()
	s.tokenReqs++
	down := s.tokenDown > 0
	if down {
		s.tokenDown--
	}
	s.broadcast()
	s.mu.Unlock()
	if down {
		writeJSON(w, http.StatusServiceUnavailable, aadError("temporarily_unavailable",
			"The service is temporarily unavailable (teamstest SetTokenDown).", 50196))
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, aadError("invalid_request", "The request must be a POST.", 900561))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, aadError("invalid_request", "The request body must be a form: "+err.Error(), 900144))
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		writeJSON(w, http.StatusBadRequest, aadError("unsupported_grant_type",
			"The app requested an unsupported grant type '"+r.PostForm.Get("grant_type")+"'.", 70003))
	case tenant != s.opts.TenantID && !(s.opts.MultiTenant && tenant == "botframework.com"):
		writeJSON(w, http.StatusBadRequest, aadError("unauthorized_client",
			"Application with identifier '"+id+"' was not found in the directory '"+tenant+"'.", 700016))
	case id != s.opts.AppID:
		writeJSON(w, http.StatusBadRequest, aadError("unauthorized_client",
			"Application with identifier '"+id+"' was not found in the directory '"+tenant+"'.", 700016))
	case secret != s.opts.AppPassword:
		writeJSON(w, http.StatusUnauthorized, aadError("invalid_client",
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.", 7000215))
	case r.PostForm.Get("scope") != Scope:
		writeJSON(w, http.StatusBadRequest, aadError("invalid_scope",
			"The provided value for scope '"+r.PostForm.Get("scope")+"' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", 1002012))
	default:
		tok := s.AccessToken()
		secs := int(s.opts.TokenLifetime / time.Second)
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
		})
	}
}

// AccessToken issues a connector access token directly, as the token
// endpoint would (without counting as a token request).
func (s *Server) AccessToken() string {
	now := time.Now()
	exp := now.Add(s.opts.TokenLifetime)
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.aad.sign("RS256", map[string]any{"typ": "JWT", "alg": "RS256", "kid": s.aad.kid, "x5t": s.aad.kid}, map[string]any{
		"aud":   "https://api.botframework.com",
		"iss":   "https://sts.windows.net/" + s.opts.TenantID + "/",
		"iat":   now.Unix(),
		"nbf":   now.Add(-5 * time.Minute).Unix(),
		"exp":   exp.Unix(),
		"appid": s.opts.AppID,
		"tid":   s.opts.TenantID,
		"idtyp": "app",
		"ver":   "1.0",
		"jti":   randomID(),
	})
	s.tokens[tok] = exp
	s.broadcast()
	return tok
}

// TokenURLFor is the token endpoint for another tenant (such as
// "botframework.com").
func (s *Server) TokenURLFor(tenant string) string {
	return s.srv.URL + "/" + tenant + "/oauth2/v2.0/token"
}

// SetTokenDown answers the next n token requests with 503.
func (s *Server) SetTokenDown(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenDown = n
}

// TokenRequests is the number of requests to the token endpoint, answered
// or not.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenReqs
}

// Tokens returns the access tokens issued and not expired.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []string
	for t, exp := range s.tokens {
		if now.Before(exp) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// ExpireTokens makes every token issued so far expired: the connector
// answers 401 until the bot gets a new one.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
	s.broadcast()
}

// ---- connector ----

// RateLimit answers the next n authorised connector calls with HTTP method
// method ("POST", "PUT", …) with 429 and a Retry-After of after (whole
// seconds, rounded up).
func (s *Server) RateLimit(method string, n int, after time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = &failure{n: n, code: http.StatusTooManyRequests, after: after}
}

// Fail answers the next n authorised connector calls with HTTP method
// method with status (502, 503, …) and an ErrorResponse.
func (s *Server) Fail(method string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = &failure{n: n, code: status}
}

// Calls returns the connector calls received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.clone()
	}
	return out
}

// CallsTo returns the calls with HTTP method method ("" for any) whose
// decoded Path starts with pathPrefix.
func (s *Server) CallsTo(method, pathPrefix string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if (method == "" || c.Method == method) && strings.HasPrefix(c.Path, pathPrefix) {
			out = append(out, c)
		}
	}
	return out
}

// WaitCalls waits up to timeout for n calls that match (nil: any call) and
// returns the matching calls so far and whether there are n.
func (s *Server) WaitCalls(n int, timeout time.Duration, match func(Call) bool) ([]Call, bool) {
	var got []Call
	ok := s.Wait(timeout, func() bool {
		got = got[:0]
		for _, c := range s.Calls() {
			if match == nil || match(c) {
				got = append(got, c)
			}
		}
		return len(got) >= n
	})
	return got, ok
}

// Conversations returns the conversations created so far, in order.
func (s *Server) Conversations() []Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Conversation, len(s.convs))
	for i, c := range s.convs {
		c.Members = slices.Clone(c.Members)
		c.Body = cloneMap(c.Body)
		out[i] = c
	}
	return out
}

// Thread returns what the channel shows for conversationID, in order, with
// updates applied and deleted messages left out: with ";messageid=R" the
// thread R (its root first, if known); for a bare channel id its top-level
// posts; for a chat all its messages. Only message activities are shown.
func (s *Server) Thread(conversationID string) []Activity {
	base, root, _ := strings.Cut(conversationID, ";messageid=")
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Activity
	for _, p := range s.posts {
		if p.base != base || p.a.Deleted {
			continue
		}
		if root != "" && p.a.ThreadRoot != root {
			continue
		}
		if root == "" && p.a.ThreadRoot != "" && p.a.ThreadRoot != p.a.ID {
			continue
		}
		out = append(out, p.a.clone())
	}
	return out
}

// WaitThread waits up to timeout for cond to hold for Thread(conversationID)
// and returns the thread.
func (s *Server) WaitThread(conversationID string, timeout time.Duration, cond func([]Activity) bool) ([]Activity, bool) {
	var got []Activity
	ok := s.Wait(timeout, func() bool {
		got = s.Thread(conversationID)
		return cond(got)
	})
	return got, ok
}

// ActivityByID returns the latest version of the message with id id
// (deleted or not).
func (s *Server) ActivityByID(id string) (Activity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byID[id]
	if !ok {
		return Activity{}, false
	}
	return p.a.clone(), true
}

// Deliveries returns the activities sent with Deliver and the bot's
// answers, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.deliveries))
	for i, d := range s.deliveries {
		out[i] = Delivery{Activity: cloneMap(d.Activity), Status: d.Status, Body: slices.Clone(d.Body)}
	}
	return out
}

func connError(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}

// isChannel tells a Teams channel conversation (threaded) from a chat.
func isChannel(base string) bool {
	return strings.HasSuffix(base, "@thread.tacv2") || strings.HasSuffix(base, "@thread.skype")
}

func (s *Server) connector(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: r.Method}
	// Decode each segment by itself, so an escaped or a raw conversation
	// id (":", ";", "@", "=") both work.
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/teams"), "/")
	for i, seg := range segs {
		if u, err := url.PathUnescape(seg); err == nil {
			segs[i] = u
		}
	}
	call.Path = strings.Join(segs, "/")
	// segs[0] is "" (the leading slash).
	switch {
	case len(segs) == 3 && segs[1] == "v3" && segs[2] == "conversations" && r.Method == http.MethodPost:
		call.Op = OpCreateConversation
	case len(segs) == 5 && segs[1] == "v3" && segs[2] == "conversations" && segs[4] == "activities" && r.Method == http.MethodPost:
		call.Op, call.ConversationID = OpSend, segs[3]
	case len(segs) == 6 && segs[1] == "v3" && segs[2] == "conversations" && segs[4] == "activities":
		call.ConversationID, call.ActivityID = segs[3], segs[5]
		switch r.Method {
		case http.MethodPost:
			call.Op = OpReply
		case http.MethodPut:
			call.Op = OpUpdate
		case http.MethodDelete:
			call.Op = OpDelete
		}
	}
	if ah := r.Header.Get("Authorization"); len(ah) > 7 && strings.EqualFold(ah[:7], "Bearer ") {
		call.Token = ah[7:]
	}

	var raw []byte
	var readErr error
	if r.Body != nil {
		raw, readErr = readAll(r)
	}
	if len(raw) > 0 {
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err == nil {
			call.Body = body
		} else if readErr == nil {
			readErr = err
		}
	}

	s.mu.Lock()
	status, resp, retry := s.answer(&call, raw, readErr)
	call.Status, call.Response = status, resp
	s.calls = append(s.calls, call)
	s.broadcast()
	s.mu.Unlock()

	if retry != "" {
		w.Header().Set("Retry-After", retry)
	}
	if resp == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, resp)
}

// answer authorises and answers one connector call and updates the view;
// s.mu must be held. retry is the Retry-After header (seconds), if any.
func (s *Server) answer(c *Call, raw []byte, readErr error) (status int, resp map[string]any, retry string) {
	if exp, ok := s.tokens[c.Token]; !ok || !time.Now().Before(exp) {
		return http.StatusUnauthorized, map[string]any{"message": "Authorization has been denied for this request."}, ""
	}
	if c.Op == "" {
		return http.StatusNotFound, connError("NotFound", "teamstest: no such connector operation: "+c.Method+" "+c.Path), ""
	}
	if f := s.fail[c.Method]; f != nil && f.n > 0 {
		f.n--
		if f.code == http.StatusTooManyRequests {
			return f.code, connError("Throttled", "teamstest: rate limited"), strconv.Itoa(int(math.Ceil(f.after.Seconds())))
		}
		return f.code, connError("ServiceError", "teamstest: injected failure"), ""
	}
	if s.opts.MaxActivityBytes > 0 && len(raw) > s.opts.MaxActivityBytes {
		return http.StatusRequestEntityTooLarge, connError("MessageSizeTooBig", "Message size too large"), ""
	}
	if readErr != nil {
		return http.StatusBadRequest, connError("BadArgument", "teamstest: invalid JSON body: "+readErr.Error()), ""
	}
	if c.Op != OpDelete && c.Body == nil {
		return http.StatusBadRequest, connError("BadArgument", "teamstest: a JSON object body is required"), ""
	}
	switch c.Op {
	case OpCreateConversation:
		return s.create(c)
	case OpSend, OpReply:
		return s.send(c)
	case OpUpdate:
		return s.update(c)
	default: // OpDelete
		base, _, _ := strings.Cut(c.ConversationID, ";messageid=")
		p, ok := s.byID[c.ActivityID]
		if !ok || p.base != base {
			return http.StatusNotFound, connError("NotFound", "teamstest: no activity "+c.ActivityID+" in "+base), ""
		}
		if p.a.Inbound {
			return http.StatusForbidden, connError("Forbidden", "teamstest: the bot can only delete its own messages"), ""
		}
		p.a.Deleted = true
		return http.StatusOK, nil, ""
	}
}

func (s *Server) create(c *Call) (int, map[string]any, string) {
	b := c.Body
	chData, _ := b["channelData"].(map[string]any)
	channel := str(dig(chData, "channel", "id"))
	tenant := str(dig(chData, "tenant", "id"))
	if tenant == "" {
		tenant = str(b["tenantId"])
	}
	if tenant != "" && tenant != s.opts.TenantID {
		return http.StatusBadRequest, connError("BadArgument", "teamstest: tenant "+tenant+" is not the bot's tenant "+s.opts.TenantID), ""
	}
	act, _ := b["activity"].(map[string]any)
	isGroup, _ := b["isGroup"].(bool)
	conv := Conversation{ChannelID: channel, TenantID: tenant, IsGroup: isGroup, Body: cloneMap(b)}
	resp := map[string]any{}
	if channel != "" {
		if act == nil {
			return http.StatusBadRequest, connError("BadArgument", "teamstest: creating a channel conversation needs an activity"), ""
		}
		if str(act["type"]) == "" {
			return http.StatusBadRequest, connError("BadArgument", "teamstest: the activity has no type"), ""
		}
		id := s.nextID()
		conv.ID, conv.ActivityID = channel+";messageid="+id, id
		s.record(id, conv.ID, channel, id, act, false)
		resp["id"], resp["activityId"] = conv.ID, id
	} else {
		members, _ := b["members"].([]any)
		if len(members) != 1 {
			return http.StatusBadRequest, connError("BadArgument", "teamstest: a chat needs exactly one member (or channelData.channel.id for a channel)"), ""
		}
		m := str(dig(map[string]any{"m": members[0]}, "m", "id"))
		if m == "" {
			return http.StatusBadRequest, connError("BadArgument", "teamstest: the member has no id"), ""
		}
		conv.Members = []string{m}
		conv.ID = s.PersonalConversationID(User{ID: m})
		resp["id"] = conv.ID
		if act != nil {
			id := s.nextID()
			conv.ActivityID = id
			s.record(id, conv.ID, conv.ID, "", act, false)
			resp["activityId"] = id
		}
	}
	s.convs = append(s.convs, conv)
	return http.StatusCreated, resp, ""
}

func (s *Server) send(c *Call) (int, map[string]any, string) {
	if str(c.Body["type"]) == "" {
		return http.StatusBadRequest, connError("BadArgument", "teamstest: the activity has no type"), ""
	}
	base, root, _ := strings.Cut(c.ConversationID, ";messageid=")
	id := s.nextID()
	if isChannel(base) && root == "" {
		switch p, ok := s.byID[c.ActivityID]; {
		case c.Op == OpReply && ok && p.base == base:
			root = p.a.ThreadRoot
		case c.Op == OpReply:
			root = c.ActivityID // a root the fake did not see
		default:
			root = id // a new top-level post
		}
	}
	if str(c.Body["type"]) == "message" {
		s.record(id, c.ConversationID, base, root, c.Body, false)
	}
	return http.StatusCreated, map[string]any{"id": id}, ""
}

func (s *Server) update(c *Call) (int, map[string]any, string) {
	base, _, _ := strings.Cut(c.ConversationID, ";messageid=")
	p, ok := s.byID[c.ActivityID]
	if !ok || p.base != base || p.a.Deleted {
		return http.StatusNotFound, connError("NotFound", "teamstest: no activity "+c.ActivityID+" in "+base), ""
	}
	if p.a.Inbound {
		return http.StatusForbidden, connError("Forbidden", "teamstest: the bot can only update its own messages"), ""
	}
	if t := str(c.Body["type"]); t != "message" {
		return http.StatusBadRequest, connError("BadArgument", "teamstest: an update must be a message activity, not "+strconv.Quote(t)), ""
	}
	if id := str(c.Body["id"]); id != "" && id != c.ActivityID {
		return http.StatusBadRequest, connError("BadArgument", "teamstest: the body's id "+id+" is not "+c.ActivityID), ""
	}
	n := p.a.Updates + 1
	p.a = activityFrom(p.a.ID, p.a.ConversationID, p.a.ThreadRoot, c.Body, false)
	p.a.Updates = n
	return http.StatusOK, map[string]any{"id": c.ActivityID}, ""
}

// record adds a message to the view; s.mu must be held.
func (s *Server) record(id, convID, base, root string, body map[string]any, inbound bool) {
	if _, dup := s.byID[id]; dup {
		return
	}
	p := &post{a: activityFrom(id, convID, root, body, inbound), base: base}
	s.posts = append(s.posts, p)
	s.byID[id] = p
}

func activityFrom(id, convID, root string, body map[string]any, inbound bool) Activity {
	body = cloneMap(body)
	a := Activity{
		ID: id, ConversationID: convID, ThreadRoot: root, Inbound: inbound, Body: body,
		Type: str(body["type"]), Text: str(body["text"]), TextFormat: str(body["textFormat"]),
		Summary: str(body["summary"]), ReplyToID: str(body["replyToId"]),
		FromName:    str(dig(body, "from", "name")),
		Attachments: objects(body["attachments"]), Entities: objects(body["entities"]),
	}
	return a
}

func (a Activity) clone() Activity {
	a.Body = cloneMap(a.Body)
	a.Attachments = objects(cloneValue(anySlice(a.Attachments)))
	a.Entities = objects(cloneValue(anySlice(a.Entities)))
	return a
}

func (c Call) clone() Call {
	c.Body = cloneMap(c.Body)
	c.Response = cloneMap(c.Response)
	return c
}

// ---- JSON helpers ----

func str(v any) string {
	s, _ := v.(string)
	return s
}

// dig follows keys through nested objects.
func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

func objects(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, e := range l {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

func anySlice(l []map[string]any) []any {
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, o := range l {
		out[i] = o
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return cloneValue(m).(map[string]any)
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = cloneValue(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}
