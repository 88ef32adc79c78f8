package botframework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// ConnectorConfig configures a Connector. Tokens is required.
type ConnectorConfig struct {
	// Tokens gives the bearer token of every call (usually a *TokenSource).
	Tokens TokenProvider
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// MaxRetries after the first attempt, on network errors, 429 and 5xx
	// (0: 3; negative: none). Backoff is the first wait, doubling
	// (default 500 ms).
	MaxRetries int
	Backoff    time.Duration
	// MaxRetryAfter is the longest 429 Retry-After the Connector waits
	// for; a longer one fails the call at once (default 1 minute).
	MaxRetryAfter time.Duration
	Log           *slog.Logger
}

// Connector is the outbound Bot Connector REST client (API v3). The
// serviceURL of each call is the serviceUrl of the conversation's
// activities (validated inbound, stored with the conversation reference);
// it must be https (or http to a loopback host, for fakes).
//
// Retries: a 429 is retried after its Retry-After, a 5xx or a network error
// after a backoff. A POST whose answer was lost may so be applied twice,
// which Nightshift prefers to a lost message. It is safe for concurrent use.
type Connector struct {
	tokens TokenProvider
	retry  retryPolicy
}

// NewConnector returns a Connector for cfg.
func NewConnector(cfg ConnectorConfig) (*Connector, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("botframework connector: no Tokens")
	}
	return &Connector{
		tokens: cfg.Tokens,
		retry:  newRetryPolicy(cfg.HTTPClient, cfg.Log, cfg.MaxRetries, cfg.Backoff, cfg.MaxRetryAfter, nil),
	}, nil
}

// ConversationParameters is the body of CreateConversation. To start a
// new thread in a Teams channel: IsGroup true, ChannelData with the
// channel and the tenant, and Activity the thread's first message.
type ConversationParameters struct {
	IsGroup     bool
	Bot         *schema.ChannelAccount
	Members     []schema.ChannelAccount
	TopicName   string
	TenantID    string
	ChannelData *TeamsChannelData
	Activity    *schema.Activity
}

// TeamsChannelData is the Teams channelData of a new conversation.
type TeamsChannelData struct {
	Channel *TeamsRef `json:"channel,omitempty"`
	Team    *TeamsRef `json:"team,omitempty"`
	Tenant  *TeamsRef `json:"tenant,omitempty"`
}

// TeamsRef names a Teams channel, team or tenant by id.
type TeamsRef struct {
	ID string `json:"id"`
}

// CreateConversation starts a conversation (POST /v3/conversations); in a
// Teams channel, a new thread. It returns the conversation's id (for a
// channel thread "19:…@thread.tacv2;messageid=…", to reply in the thread)
// and the id of the first activity.
func (c *Connector) CreateConversation(ctx context.Context, serviceURL string, p ConversationParameters) (conversationID, activityID string, err error) {
	wire := struct {
		IsGroup     bool                    `json:"isGroup"`
		Bot         *schema.ChannelAccount  `json:"bot,omitempty"`
		Members     []schema.ChannelAccount `json:"members,omitempty"`
		TopicName   string                  `json:"topicName,omitempty"`
		TenantID    string                  `json:"tenantId,omitempty"`
		Activity    json.RawMessage         `json:"activity,omitempty"`
		ChannelData *TeamsChannelData       `json:"channelData,omitempty"`
	}{p.IsGroup, p.Bot, p.Members, p.TopicName, p.TenantID, nil, p.ChannelData}
	if p.Activity != nil {
		if wire.Activity, err = activityJSON(p.Activity, nil); err != nil {
			return "", "", fmt.Errorf("botframework create conversation: %w", err)
		}
	}
	body, err := json.Marshal(wire)
	if err != nil {
		return "", "", fmt.Errorf("botframework create conversation: %w", err)
	}
	var r schema.ConversationResourceResponse
	if err := c.call(ctx, http.MethodPost, serviceURL, nil, body, &r); err != nil {
		return "", "", fmt.Errorf("botframework create conversation: %w", err)
	}
	if r.ID == "" {
		return "", "", errors.New("botframework create conversation: the answer has no conversation id")
	}
	return r.ID, r.ActivityID, nil
}

// SendToConversation posts act to the end of a conversation
// (POST /v3/conversations/{id}/activities) and returns the new activity's
// id ("" if the channel gave none).
func (c *Connector) SendToConversation(ctx context.Context, serviceURL, conversationID string, act *schema.Activity) (string, error) {
	id, err := c.send(ctx, http.MethodPost, serviceURL, []string{conversationID}, act, nil)
	if err != nil {
		return "", fmt.Errorf("botframework send to conversation: %w", err)
	}
	return id, nil
}

// ReplyToActivity posts act as a reply to activity replyToID
// (POST /v3/conversations/{id}/activities/{replyToId}) and returns the new
// activity's id ("" if the channel gave none). act's replyToId defaults to
// replyToID.
func (c *Connector) ReplyToActivity(ctx context.Context, serviceURL, conversationID, replyToID string, act *schema.Activity) (string, error) {
	id, err := c.send(ctx, http.MethodPost, serviceURL, []string{conversationID, replyToID}, act,
		map[string]string{"replyToId": replyToID})
	if err != nil {
		return "", fmt.Errorf("botframework reply to activity: %w", err)
	}
	return id, nil
}

// UpdateActivity replaces activity activityID with act
// (PUT /v3/conversations/{id}/activities/{activityId}). act's id defaults
// to activityID.
func (c *Connector) UpdateActivity(ctx context.Context, serviceURL, conversationID, activityID string, act *schema.Activity) error {
	if _, err := c.send(ctx, http.MethodPut, serviceURL, []string{conversationID, activityID}, act,
		map[string]string{"id": activityID}); err != nil {
		return fmt.Errorf("botframework update activity: %w", err)
	}
	return nil
}

// send sends act to /v3/conversations/{ids[0]}/activities[/{ids[1]}],
// with defaults for the body's fields absent in act, and returns the
// resource id of the answer.
func (c *Connector) send(ctx context.Context, method, serviceURL string, ids []string, act *schema.Activity, defaults map[string]string) (string, error) {
	if act == nil {
		return "", errors.New("no activity")
	}
	for _, id := range ids {
		if id == "" {
			return "", errors.New("empty conversation or activity id")
		}
	}
	body, err := activityJSON(act, defaults)
	if err != nil {
		return "", err
	}
	segs := append([]string{ids[0], "activities"}, ids[1:]...)
	var r schema.ResourceResponse
	if err := c.call(ctx, method, serviceURL, segs, body, &r); err != nil {
		return "", err
	}
	return r.ID, nil
}

// call sends body to {serviceURL}/v3/conversations[/seg…] with the bot's
// token and decodes a non-empty answer into out.
func (c *Connector) call(ctx context.Context, method, serviceURL string, segs []string, body []byte, out any) error {
	base, err := checkURL(serviceURL)
	if err != nil {
		return fmt.Errorf("serviceUrl: %w", err)
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return fmt.Errorf("serviceUrl %q has a query or fragment", redact(base))
	}
	var target strings.Builder
	target.WriteString(strings.TrimRight(base.String(), "/"))
	target.WriteString("/v3/conversations")
	for _, s := range segs {
		target.WriteString("/")
		target.WriteString(escapeSegment(s))
	}
	answer, err := c.retry.do(ctx, func(ctx context.Context) (*http.Request, error) {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("get token: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, method, target.String(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(answer)) == 0 {
		return nil
	}
	if err := json.Unmarshal(answer, out); err != nil {
		// The call worked; only its id is lost.
		c.retry.log.WarnContext(ctx, "botframework: undecodable connector answer", "method", method, "err", err)
	}
	return nil
}

// activityJSON is act as the Bot Connector wants it. The library's
// schema.Activity marshals its zero timestamps ("0001-01-01T00:00:00Z",
// expiration included) and its unset structs ("from":{}, "relatesTo":
// {"bot":{},…}); those are dropped here, except inside channelData, value
// and arrays (attachments, entities), which are the caller's. Fields in
// defaults are set when act leaves them empty, and type defaults to
// "message".
func activityJSON(act *schema.Activity, defaults map[string]string) (json.RawMessage, error) {
	b, err := json.Marshal(act)
	if err != nil {
		return nil, fmt.Errorf("encode activity: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode activity: %w", err)
	}
	if err := prune(m, map[string]bool{"channelData": true, "value": true}); err != nil {
		return nil, fmt.Errorf("encode activity: %w", err)
	}
	if _, ok := m["type"]; !ok {
		m["type"] = json.RawMessage(`"message"`)
	}
	for k, v := range defaults {
		if _, ok := m[k]; !ok && v != "" {
			q, _ := json.Marshal(v)
			m[k] = q
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode activity: %w", err)
	}
	return out, nil
}

// prune deletes from m the zero timestamps and the objects left empty once
// pruned themselves, but does not look into the keys of keep.
func prune(m map[string]json.RawMessage, keep map[string]bool) error {
	for k, v := range m {
		if keep[k] {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case string(v) == `"0001-01-01T00:00:00Z"`:
			delete(m, k)
		case len(v) > 0 && v[0] == '{':
			var inner map[string]json.RawMessage
			if err := json.Unmarshal(v, &inner); err != nil {
				return err
			}
			if err := prune(inner, nil); err != nil {
				return err
			}
			if len(inner) == 0 {
				delete(m, k)
				continue
			}
			b, err := json.Marshal(inner)
			if err != nil {
				return err
			}
			m[k] = b
		}
	}
	return nil
}

// escapeSegment escapes s for one path segment, everything but RFC 3986's
// unreserved characters, as the Bot Framework SDKs do: conversation ids
// hold ':', ';', '@' and '='. A segment of dots is escaped too.
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s)) // not a path step
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
