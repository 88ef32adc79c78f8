package teams

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	bfschema "github.com/infracloudio/msbotbuilder-go/schema"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/bot/teams/botframework"
)

// Service is the platform-neutral handler the Bot feeds (bot.Service).
type Service interface {
	Mention(ctx context.Context, m bot.Mention, r bot.Responder) error
	Reaction(ctx context.Context, e bot.Reaction, r bot.Responder) error
	Action(ctx context.Context, a bot.Action, r bot.Responder) error
	ChannelMessage(ctx context.Context, m bot.ChannelMessage, r bot.Responder) error
}

// Connector is the outbound Bot Connector (botframework.Connector).
type Connector interface {
	CreateConversation(ctx context.Context, serviceURL string, p botframework.ConversationParameters) (string, string, error)
	SendToConversation(ctx context.Context, serviceURL, conversationID string, act *bfschema.Activity) (string, error)
	UpdateActivity(ctx context.Context, serviceURL, conversationID, activityID string, act *bfschema.Activity) error
}

// Validator validates inbound bearer tokens (botframework.Validator).
type Validator interface {
	Validate(ctx context.Context, authHeader string, act *bfschema.Activity) (*botframework.Claims, error)
}

// ServiceURLs says where to post for a channel: the serviceUrl learned from
// the channel's activities (kept in Redis so that every replica and every
// restart knows it), else the space's configured service_url.
type ServiceURLs interface {
	ServiceURL(ctx context.Context, channel string) (string, error)
	Remember(ctx context.Context, channel, serviceURL string) error
}

// Dedup reports whether a delivery key is new across every replica.
type Dedup func(ctx context.Context, key string, ttl time.Duration) (bool, error)

// Poster posts and edits bot.Messages in Teams channels as Adaptive Cards.
// A message without a thread starts a new conversation (a thread) in the
// channel; replies go to "channel;messageid=<thread>". Refs carry the
// channel id as Channel and the activity id as ID. It implements
// bot.Poster and bot.Uploader.
type Poster struct {
	conn   Connector
	urls   ServiceURLs
	tenant string
}

// NewPoster returns a Poster.
func NewPoster(conn Connector, urls ServiceURLs, tenant string) *Poster {
	return &Poster{conn: conn, urls: urls, tenant: tenant}
}

var (
	_ bot.Poster   = (*Poster)(nil)
	_ bot.Uploader = (*Poster)(nil)
)

// Conversation is the conversation id of a thread in a channel.
func Conversation(channel, thread string) string {
	if thread == "" {
		return channel
	}
	return channel + ";messageid=" + thread
}

// activityOf renders m as a message activity with an Adaptive Card.
func activityOf(m bot.Message) *bfschema.Activity {
	a := Attachment(m)
	return &bfschema.Activity{
		Type:        bfschema.Message,
		Summary:     Text(m), // the notification text; a Text beside the card would show twice
		Attachments: []bfschema.Attachment{{ContentType: fmt.Sprint(a["contentType"]), Content: a["content"]}},
	}
}

func (p *Poster) serviceURL(ctx context.Context, channel string) (string, error) {
	su, err := p.urls.ServiceURL(ctx, channel)
	if err != nil {
		return "", err
	}
	if su == "" {
		return "", fmt.Errorf("teams: no serviceUrl known for channel %s (set the space's teams.service_url)", channel)
	}
	return su, nil
}

// Post implements bot.Poster.
func (p *Poster) Post(ctx context.Context, channel, thread string, m bot.Message) (bot.Ref, error) {
	su, err := p.serviceURL(ctx, channel)
	if err != nil {
		return bot.Ref{}, err
	}
	act := activityOf(m)
	if thread == "" {
		params := botframework.ConversationParameters{IsGroup: true, Activity: act,
			ChannelData: &botframework.TeamsChannelData{Channel: &botframework.TeamsRef{ID: channel}}}
		if p.tenant != "" {
			params.TenantID = p.tenant
			params.ChannelData.Tenant = &botframework.TeamsRef{ID: p.tenant}
		}
		_, id, err := p.conn.CreateConversation(ctx, su, params)
		if err != nil {
			return bot.Ref{}, fmt.Errorf("teams: new thread in %s: %w", channel, err)
		}
		return bot.Ref{Channel: channel, ID: id}, nil
	}
	id, err := p.conn.SendToConversation(ctx, su, Conversation(channel, thread), act)
	if err != nil {
		return bot.Ref{}, fmt.Errorf("teams: reply in %s: %w", channel, err)
	}
	return bot.Ref{Channel: channel, ID: id, Thread: thread}, nil
}

// Update implements bot.Poster.
func (p *Poster) Update(ctx context.Context, ref bot.Ref, m bot.Message) error {
	su, err := p.serviceURL(ctx, ref.Channel)
	if err != nil {
		return err
	}
	thread := ref.Thread
	if thread == "" {
		thread = ref.ID
	}
	act := activityOf(m)
	act.ID = ref.ID
	if err := p.conn.UpdateActivity(ctx, su, Conversation(ref.Channel, thread), ref.ID, act); err != nil {
		return fmt.Errorf("teams: update %s: %w", ref.ID, err)
	}
	return nil
}

// Upload implements bot.Uploader: the picture goes into the thread as an
// inline image attachment.
func (p *Poster) Upload(ctx context.Context, channel, thread string, img bot.Image) error {
	su, err := p.serviceURL(ctx, channel)
	if err != nil {
		return err
	}
	act := &bfschema.Activity{Type: bfschema.Message, Text: img.Title, Attachments: []bfschema.Attachment{{
		ContentType: "image/png", Name: img.Title + ".png",
		ContentURL: "data:image/png;base64," + base64.StdEncoding.EncodeToString(img.PNG),
	}}}
	if _, err := p.conn.SendToConversation(ctx, su, Conversation(channel, thread), act); err != nil {
		return fmt.Errorf("teams: picture in %s: %w", channel, err)
	}
	return nil
}

// Options configure a Bot.
type Options struct {
	Validator Validator
	Poster    *Poster
	URLs      ServiceURLs
	Dedup     Dedup // nil: no dedup across replicas
	Workers   int   // activities handled at once (default 8)
	Log       *slog.Logger
}

// Bot is Nightshift's Teams bot: POST /api/messages. Every activity's
// bearer token is validated (anything else is a 401 and is never
// processed); activities are deduplicated by id across replicas, answered
// at once and handled on a bounded pool. Teams has no slash commands:
// "@Nightshift ask …" and the other commands are mentions.
type Bot struct {
	o     Options
	queue chan func(context.Context)
	mu    sync.RWMutex
	svc   Service
}

// New returns a Bot; Run starts its workers.
func New(o Options) *Bot {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Bot{o: o, queue: make(chan func(context.Context), 1024)}
}

// Run handles queued activities with svc until ctx ends.
func (b *Bot) Run(ctx context.Context, svc Service) error {
	b.mu.Lock()
	b.svc = svc
	b.mu.Unlock()
	var wg sync.WaitGroup
	for range b.o.Workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-b.queue:
					job(ctx)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

const (
	maxBody  = 1 << 20
	dedupTTL = 2 * time.Hour
)

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// ServeHTTP implements http.Handler for POST /api/messages.
func (b *Bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		httpError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	if len(body) > maxBody {
		httpError(w, http.StatusRequestEntityTooLarge, "activity larger than 1 MiB")
		return
	}
	var act bfschema.Activity
	if err := json.Unmarshal(body, &act); err != nil {
		httpError(w, http.StatusBadRequest, "activity: "+err.Error())
		return
	}
	switch {
	case act.Type == "":
		httpError(w, http.StatusBadRequest, "type: required")
		return
	case act.ServiceURL == "":
		httpError(w, http.StatusBadRequest, "serviceUrl: required")
		return
	}
	// Validated before anything else is done with it.
	if _, err := b.o.Validator.Validate(r.Context(), r.Header.Get("Authorization"), &act); err != nil {
		b.o.Log.Warn("teams activity rejected", "err", err, "type", act.Type)
		httpError(w, http.StatusUnauthorized, err.Error())
		return
	}
	ctx := r.Context()
	if act.ID != "" && b.o.Dedup != nil {
		ok, err := b.o.Dedup(ctx, "teams:activity:"+act.Conversation.ID+":"+act.ID+":"+string(act.Type), dedupTTL)
		if err != nil {
			b.o.Log.Warn("teams dedup: store not answering; handling the activity", "err", err)
		} else if !ok {
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	channel, thread := where(&act)
	if channel != "" && b.o.URLs != nil {
		if err := b.o.URLs.Remember(ctx, channel, act.ServiceURL); err != nil {
			b.o.Log.Warn("remember the channel's serviceUrl", "channel", channel, "err", err)
		}
	}
	job := b.route(&act, channel, thread)
	if job != nil {
		b.mu.RLock()
		running := b.svc != nil
		b.mu.RUnlock()
		if !running {
			httpError(w, http.StatusServiceUnavailable, "not ready")
			return
		}
		select {
		case b.queue <- job:
		case <-ctx.Done():
			httpError(w, http.StatusServiceUnavailable, "busy")
			return
		}
	}
	if act.Type == bfschema.Invoke {
		// Action.Execute wants an invoke response in the HTTP body.
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": 200,
			"type": "application/vnd.microsoft.activity.message", "value": "Got it."})
		return
	}
	w.WriteHeader(http.StatusOK)
}

// where returns the channel id and the thread (root message id) of an
// activity; thread is "" for a new post at the channel's top level.
func where(act *bfschema.Activity) (channel, thread string) {
	conv := act.Conversation.ID
	channel, msg, _ := strings.Cut(conv, ";messageid=")
	if cd, ok := act.ChannelData["channel"].(map[string]any); ok {
		if id, ok := cd["id"].(string); ok && id != "" {
			channel = id
		}
	}
	if msg != "" && msg != act.ID {
		thread = msg
	}
	return channel, thread
}

func actor(a bfschema.ChannelAccount) bot.Actor {
	id := a.AadObjectID
	if id == "" {
		id = a.ID
	}
	return bot.Actor{ID: id, Name: a.Name}
}

// route turns an activity into the work it asks for, or nil.
func (b *Bot) route(act *bfschema.Activity, channel, thread string) func(context.Context) {
	r := &responder{b: b, channel: channel, thread: thread, self: act.ID}
	svc := func() Service {
		b.mu.RLock()
		defer b.mu.RUnlock()
		return b.svc
	}
	logErr := func(what string, err error) {
		if err != nil && !errors.Is(err, bot.ErrIgnored) {
			b.o.Log.Warn("teams "+what, "err", err)
		}
	}
	switch act.Type {
	case bfschema.Message:
		if act.From.ID == act.Recipient.ID {
			return nil // our own
		}
		if action, value, ok := submitted(act.Value); ok {
			a := bot.Action{Channel: channel, Message: act.ReplyToID, Thread: thread, Actor: actor(act.From), ID: action, Value: value}
			return func(ctx context.Context) { logErr("action", svc().Action(ctx, a, r)) }
		}
		if strings.Contains(act.Text, "<at>") {
			m := bot.Mention{Channel: channel, Thread: thread, ID: act.ID, Actor: actor(act.From), Text: StripMentions(act.Text)}
			return func(ctx context.Context) { logErr("mention", svc().Mention(ctx, m, r)) }
		}
		m := bot.ChannelMessage{Channel: channel, Thread: thread, ID: act.ID, Text: act.Text, At: act.Timestamp,
			FromApp: act.From.Role == bfschema.BOT || strings.HasPrefix(act.From.ID, "28:"), Author: act.From.Name}
		if m.FromApp {
			m.BotID = act.From.ID
		} else {
			m.Actor = actor(act.From)
		}
		for _, at := range act.Attachments {
			m.Attachments = append(m.Attachments, attachmentOf(at))
		}
		return func(ctx context.Context) { logErr("message", svc().ChannelMessage(ctx, m, r)) }
	case bfschema.MsgReaction:
		var out []bot.Reaction
		for _, x := range act.ReactionsAdded {
			out = append(out, bot.Reaction{Channel: channel, Message: act.ReplyToID, Actor: actor(act.From), Emoji: string(x.Type)})
		}
		for _, x := range act.ReactionsRemoved {
			out = append(out, bot.Reaction{Channel: channel, Message: act.ReplyToID, Actor: actor(act.From), Emoji: string(x.Type), Removed: true})
		}
		return func(ctx context.Context) {
			for _, e := range out {
				logErr("reaction", svc().Reaction(ctx, e, r))
			}
		}
	case bfschema.Invoke:
		data, _ := act.Value["action"].(map[string]any)
		inner, _ := data["data"].(map[string]any)
		action, value, ok := submitted(inner)
		if !ok {
			verb, _ := data["verb"].(string)
			action, value, ok = verb, "", verb != ""
			if v, isStr := inner["value"].(string); isStr {
				value = v
			}
		}
		if !ok {
			return nil
		}
		a := bot.Action{Channel: channel, Message: act.ReplyToID, Thread: thread, Actor: actor(act.From), ID: action, Value: value}
		return func(ctx context.Context) { logErr("action", svc().Action(ctx, a, r)) }
	}
	// conversationUpdate, installationUpdate (their serviceUrl is already
	// remembered), typing and the rest need nothing.
	return nil
}

// submitted reads the data of an Action.Submit or Action.Execute.
func submitted(v map[string]any) (action, value string, ok bool) {
	if v == nil {
		return "", "", false
	}
	action, _ = v["action"].(string)
	value, _ = v["value"].(string)
	return action, value, action != ""
}

// attachmentOf flattens a connector card or Adaptive Card of another app's
// message for the alert parsers.
func attachmentOf(at bfschema.Attachment) bot.Attachment {
	out := bot.Attachment{Title: at.Name}
	c, _ := at.Content.(map[string]any)
	if t, ok := c["title"].(string); ok {
		out.Title = t
	}
	if t, ok := c["text"].(string); ok {
		out.Text = t
	}
	var texts []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "TextBlock" {
				if t, ok := x["text"].(string); ok {
					texts = append(texts, t)
				}
			}
			if x["type"] == "Fact" || (x["title"] != nil && x["value"] != nil) {
				out.Fields = append(out.Fields, bot.Field{Title: fmt.Sprint(x["title"]), Value: fmt.Sprint(x["value"])})
			}
			for k, e := range x {
				if k != "text" {
					walk(e)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(c["body"])
	walk(c["sections"])
	if len(texts) > 0 {
		out.Text = strings.TrimSpace(out.Text + "\n" + strings.Join(texts, "\n"))
	}
	return out
}

// responder answers in the conversation the activity came from. Teams
// channels have no private answers: both go into the thread.
type responder struct {
	b       *Bot
	channel string
	thread  string
	self    string // the activity's own id: the thread root of a new post
}

func (r *responder) Private(ctx context.Context, m bot.Message) error { return r.Public(ctx, m) }

func (r *responder) Public(ctx context.Context, m bot.Message) error {
	thread := r.thread
	if thread == "" {
		thread = r.self
	}
	_, err := r.b.o.Poster.Post(ctx, r.channel, thread, m)
	return err
}
