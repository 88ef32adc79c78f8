package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// TokenProvider gives bearer tokens (botframework.TokenSource with the
// Microsoft Graph scope).
type TokenProvider interface {
	Token(ctx context.Context) (string, error)
}

// DefaultGraphURL is Microsoft Graph's v1.0 endpoint.
const DefaultGraphURL = "https://graph.microsoft.com/v1.0/"

// GraphScope is the scope of a Graph token for the bot's app.
const GraphScope = "https://graph.microsoft.com/.default"

// Groups answers "is this person in that Entra group?" with Microsoft
// Graph (POST /users/{id}/checkMemberGroups; the app needs the
// GroupMember.Read.All application permission), so that operators can be
// granted roles by group. Answers are cached for five minutes. Safe for
// concurrent use.
type Groups struct {
	tokens TokenProvider
	base   string
	client *http.Client

	mu    sync.Mutex
	cache map[string]groupAnswer
}

type groupAnswer struct {
	member bool
	at     time.Time
}

// NewGroups returns Groups over Graph at base (DefaultGraphURL when "").
func NewGroups(tokens TokenProvider, base string, client *http.Client) *Groups {
	if base == "" {
		base = DefaultGraphURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	return &Groups{tokens: tokens, base: base, client: client, cache: map[string]groupAnswer{}}
}

// MemberOf reports whether user (an Entra object id) is a member of group,
// directly or through nested groups.
func (g *Groups) MemberOf(ctx context.Context, group, user string) (bool, error) {
	key := group + "|" + user
	g.mu.Lock()
	a, ok := g.cache[key]
	g.mu.Unlock()
	if ok && time.Since(a.at) < 5*time.Minute {
		return a.member, nil
	}
	token, err := g.tokens.Token(ctx)
	if err != nil {
		return false, fmt.Errorf("graph token: %w", err)
	}
	body, _ := json.Marshal(map[string][]string{"groupIds": {group}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"users/"+url.PathEscape(user)+"/checkMemberGroups", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("graph checkMemberGroups: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("graph checkMemberGroups: %s: %.200s", resp.Status, raw)
	}
	var out struct {
		Value []string `json:"value"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return false, fmt.Errorf("graph checkMemberGroups: %w", err)
	}
	member := false
	for _, v := range out.Value {
		member = member || strings.EqualFold(v, group)
	}
	g.mu.Lock()
	if len(g.cache) > 10000 {
		clear(g.cache)
	}
	g.cache[key] = groupAnswer{member: member, at: time.Now()}
	g.mu.Unlock()
	return member, nil
}
