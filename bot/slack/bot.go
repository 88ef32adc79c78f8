package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/nightshift-ops/nightshift/bot"
)

// What the app needs from Slack; deploy/slack/manifest.yaml must ask for
// exactly this (TestManifestMatchesTheBot).
var (
	// Events are the Events API subscriptions the bot handles.
	Events = []string{"app_mention", "message.channels", "message.groups", "reaction_added", "reaction_removed"}
	// Scopes are the bot token scopes of the events and Web API methods
	// the bot uses.
	Scopes = []string{"app_mentions:read", "channels:history", "groups:history", "chat:write", "commands",
		"files:write", "reactions:read", "usergroups:read", "users:read"}
)

// Command is the slash command the bot answers.
const Command = "/devops"

// Service is the platform-neutral handler the Bot feeds (bot.Service).
type Service interface {
	Mention(ctx context.Context, m bot.Mention, r bot.Responder) error
	Command(ctx context.Context, c bot.CommandRequest, r bot.Responder) error
	Reaction(ctx context.Context, e bot.Reaction, r bot.Responder) error
	Action(ctx context.Context, a bot.Action, r bot.Responder) error
	ChannelMessage(ctx context.Context, m bot.ChannelMessage, r bot.Responder) error
}

// Dedup reports whether a delivery key is seen for the first time across
// every replica (store.Store.FirstDelivery).
type Dedup func(ctx context.Context, key string, ttl time.Duration) (bool, error)

// Options configure a Bot.
type Options struct {
	// API is a client with the bot token (xoxb-) and the app-level token
	// (xapp-, slack.OptionAppLevelToken) for Socket Mode.
	API   *slack.Client
	Dedup Dedup // nil: no dedup across replicas (one process only)
	// Workers bounds the events handled at once (default 8). Events are
	// acknowledged before they are queued.
	Workers int
	Log     *slog.Logger
	// SocketOptions are passed to socketmode.New (tests set the ping
	// interval).
	SocketOptions []socketmode.Option
}

// dedupTTL is how long an envelope or event id is remembered: Slack retries
// an unacknowledged event three times within about an hour.
const dedupTTL = 2 * time.Hour

// Bot is Nightshift's Slack app over Socket Mode: no public endpoint. It
// acknowledges every envelope at once (Slack wants it within 3 seconds),
// drops deliveries another replica already took (Dedup), and hands events
// to the Service on a bounded pool of workers. Socket Mode reconnects on
// its own, with backoff, when Slack asks (disconnect) or the connection
// drops.
type Bot struct {
	o      Options
	svc    Service
	poster *Poster
	self   struct{ user, bot, team string }

	usersMu sync.Mutex
	users   map[string]string // user id → display name
	groupMu sync.Mutex
	groups  map[string]groupCache
}

type groupCache struct {
	members map[string]bool
	at      time.Time
}

// New returns a Bot; Run connects it.
func New(o Options) *Bot {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Bot{o: o, poster: NewPoster(o.API), users: map[string]string{}, groups: map[string]groupCache{}}
}

// Poster is the bot's poster (for bot.Threads).
func (b *Bot) Poster() *Poster { return b.poster }

// MemberOf says whether user is in the Slack user group (usergroups.users.list,
// cached for five minutes). Ids that are not user groups are not.
func (b *Bot) MemberOf(ctx context.Context, group, user string) (bool, error) {
	if !strings.HasPrefix(group, "S") {
		return false, nil
	}
	b.groupMu.Lock()
	c, ok := b.groups[group]
	b.groupMu.Unlock()
	if !ok || time.Since(c.at) > 5*time.Minute {
		ids, err := b.o.API.GetUserGroupMembersContext(ctx, group)
		if err != nil {
			return false, fmt.Errorf("slack usergroups.users.list %s: %w", group, err)
		}
		c = groupCache{members: map[string]bool{}, at: time.Now()}
		for _, id := range ids {
			c.members[id] = true
		}
		b.groupMu.Lock()
		b.groups[group] = c
		b.groupMu.Unlock()
	}
	return c.members[user], nil
}

// Run connects and hands events to svc until ctx ends. It learns who it
// is with auth.test first, so that it can ignore its own messages.
func (b *Bot) Run(ctx context.Context, svc Service) error {
	b.svc = svc
	for attempt := 0; ; attempt++ {
		id, err := b.o.API.AuthTestContext(ctx)
		if err == nil {
			b.self.user, b.self.bot, b.self.team = id.UserID, id.BotID, id.TeamID
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := min(time.Duration(1<<min(attempt, 6))*time.Second, time.Minute)
		b.o.Log.Error("slack auth.test failed; retrying", "err", err, "in", wait)
		if !sleep(ctx, wait) {
			return nil
		}
	}
	b.poster.team = b.self.team
	b.o.Log.Info("slack connected as", "user", b.self.user, "bot", b.self.bot, "team", b.self.team)

	sm := socketmode.New(b.o.API, b.o.SocketOptions...)
	queue := make(chan func(context.Context), 1024)
	var wg sync.WaitGroup
	for range b.o.Workers {
		wg.Go(func() {
			for job := range queue {
				job(ctx)
			}
		})
	}
	defer func() {
		close(queue)
		wg.Wait()
	}()

	runErr := make(chan error, 1)
	go func() {
		for attempt := 0; ; attempt++ {
			err := sm.RunContext(ctx)
			if ctx.Err() != nil {
				runErr <- nil
				return
			}
			wait := min(time.Duration(1<<min(attempt, 6))*time.Second, time.Minute)
			b.o.Log.Error("slack socket mode stopped; reconnecting", "err", err, "in", wait)
			if !sleep(ctx, wait) {
				runErr <- nil
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return <-runErr
		case evt := <-sm.Events:
			if job := b.accept(ctx, sm, evt); job != nil {
				select {
				case queue <- job:
				case <-ctx.Done():
				}
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// accept acknowledges one Socket Mode event and returns the work it asks
// for, or nil.
func (b *Bot) accept(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) func(context.Context) {
	switch evt.Type {
	case socketmode.EventTypeConnecting, socketmode.EventTypeHello:
		b.o.Log.Debug("slack socket mode", "event", evt.Type)
		return nil
	case socketmode.EventTypeConnected:
		b.o.Log.Info("slack socket mode connected")
		return nil
	case socketmode.EventTypeDisconnect:
		b.o.Log.Info("slack asked to reconnect")
		return nil
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed, socketmode.EventTypeInvalidAuth:
		b.o.Log.Warn("slack socket mode", "event", evt.Type, "data", fmt.Sprint(evt.Data))
		return nil
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not decode the envelope and will not ack it;
		// without an ack Slack redelivers it forever.
		if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			var env struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(bad.Message, &env) == nil && env.EnvelopeID != "" {
				_ = sm.AckCtx(ctx, env.EnvelopeID, nil)
			}
			b.o.Log.Warn("slack envelope not understood; acknowledged and dropped", "envelope", env.EnvelopeID, "err", bad.Cause)
		}
		return nil
	}
	if evt.Request == nil {
		return nil
	}
	if err := sm.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
		b.o.Log.Warn("slack ack", "envelope", evt.Request.EnvelopeID, "err", err)
	}
	key := "slack:env:" + evt.Request.EnvelopeID
	if evt.Type == socketmode.EventTypeEventsAPI {
		var outer struct {
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(evt.Request.Payload, &outer) == nil && outer.EventID != "" {
			key = "slack:event:" + outer.EventID
		}
	}
	if !b.first(ctx, key) {
		b.o.Log.Debug("slack delivery already handled", "key", key, "retry", evt.Request.RetryAttempt)
		return nil
	}
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok {
			return nil
		}
		return func(ctx context.Context) { b.event(ctx, ev) }
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			return nil
		}
		return func(ctx context.Context) { b.command(ctx, cmd) }
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || cb.Type != slack.InteractionTypeBlockActions {
			return nil
		}
		return func(ctx context.Context) { b.actions(ctx, cb) }
	}
	return nil
}

// first asks Dedup; when the store cannot answer the event is handled
// (twice is better than never).
func (b *Bot) first(ctx context.Context, key string) bool {
	if b.o.Dedup == nil {
		return true
	}
	ok, err := b.o.Dedup(ctx, key, dedupTTL)
	if err != nil {
		b.o.Log.Warn("slack dedup: store not answering; handling the event", "key", key, "err", err)
		return true
	}
	return ok
}

// mentionRe matches user mentions, <@U123> or <@U123|name>.
var mentionRe = regexp.MustCompile(`<@([A-Z0-9]+)(\|[^>]*)?>`)

func (b *Bot) stripSelf(text string) string {
	out := mentionRe.ReplaceAllStringFunc(text, func(m string) string {
		if sub := mentionRe.FindStringSubmatch(m); sub != nil && sub[1] == b.self.user {
			return ""
		}
		return m
	})
	return strings.Join(strings.Fields(out), " ")
}

func (b *Bot) actor(ctx context.Context, id string) bot.Actor {
	b.usersMu.Lock()
	name, ok := b.users[id]
	b.usersMu.Unlock()
	if !ok {
		if u, err := b.o.API.GetUserInfoContext(ctx, id); err == nil {
			name = u.Profile.DisplayName
			if name == "" {
				name = u.RealName
			}
			if name == "" {
				name = u.Name
			}
		}
		b.usersMu.Lock()
		if len(b.users) > 10000 {
			clear(b.users)
		}
		b.users[id] = name
		b.usersMu.Unlock()
	}
	return bot.Actor{ID: id, Name: name}
}

func (b *Bot) event(ctx context.Context, ev slackevents.EventsAPIEvent) {
	var err error
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		if e.BotID != "" || e.User == b.self.user {
			return
		}
		thread := e.ThreadTimeStamp
		r := &responder{b: b, channel: e.Channel, user: e.User, thread: orTS(thread, e.TimeStamp)}
		err = b.svc.Mention(ctx, bot.Mention{Channel: e.Channel, Thread: thread, ID: e.TimeStamp,
			Actor: b.actor(ctx, e.User), Text: b.stripSelf(e.Text)}, r)
	case *slackevents.MessageEvent:
		err = b.message(ctx, e)
	case *slackevents.ReactionAddedEvent:
		if e.User == b.self.user {
			return
		}
		r := &responder{b: b, channel: e.Item.Channel, user: e.User}
		err = b.svc.Reaction(ctx, bot.Reaction{Channel: e.Item.Channel, Message: e.Item.Timestamp,
			Actor: b.actor(ctx, e.User), Emoji: e.Reaction}, r)
	case *slackevents.ReactionRemovedEvent:
		if e.User == b.self.user {
			return
		}
		r := &responder{b: b, channel: e.Item.Channel, user: e.User}
		err = b.svc.Reaction(ctx, bot.Reaction{Channel: e.Item.Channel, Message: e.Item.Timestamp,
			Actor: bot.Actor{ID: e.User}, Emoji: e.Reaction, Removed: true}, r)
	default:
		return
	}
	if err != nil && !errors.Is(err, bot.ErrIgnored) {
		b.o.Log.Warn("slack event", "type", ev.InnerEvent.Type, "err", err)
	}
}

func orTS(thread, ts string) string {
	if thread != "" {
		return thread
	}
	return ts
}

// ignoredSubtypes are message events that are not new messages.
var ignoredSubtypes = map[string]bool{"message_changed": true, "message_deleted": true, "channel_join": true,
	"channel_leave": true, "channel_topic": true, "channel_purpose": true, "channel_name": true,
	"message_replied": true, "pinned_item": true, "unpinned_item": true, "ekm_access_denied": true}

func (b *Bot) message(ctx context.Context, e *slackevents.MessageEvent) error {
	if ignoredSubtypes[e.SubType] || e.Channel == "" {
		return nil
	}
	msg := e.Message
	if msg == nil {
		msg = &slack.Msg{}
	}
	botID := orTS(e.BotID, msg.BotID)
	if e.User == b.self.user || (botID != "" && botID == b.self.bot) || msg.User == b.self.user {
		return nil // our own
	}
	text := orTS(e.Text, msg.Text)
	if e.User != "" && strings.Contains(text, "<@"+b.self.user) {
		return nil // a mention: app_mention handles it
	}
	m := bot.ChannelMessage{Channel: e.Channel, Thread: e.ThreadTimeStamp, ID: e.TimeStamp, Text: text,
		FromApp: botID != "" || e.SubType == "bot_message", BotID: botID, Author: e.Username, At: tsTime(e.TimeStamp)}
	if msg.BotProfile != nil {
		m.AppID, m.Author = msg.BotProfile.AppID, orTS(msg.BotProfile.Name, m.Author)
		m.FromApp = true
	}
	if m.Author == "" {
		m.Author = msg.Username
	}
	if !m.FromApp {
		m.Actor = bot.Actor{ID: e.User}
	}
	for _, a := range msg.Attachments {
		at := bot.Attachment{Title: a.Title, TitleLink: a.TitleLink, Pretext: a.Pretext, Text: a.Text,
			Fallback: a.Fallback, Color: a.Color, Footer: a.Footer}
		for _, f := range a.Fields {
			at.Fields = append(at.Fields, bot.Field{Title: f.Title, Value: f.Value})
		}
		m.Attachments = append(m.Attachments, at)
	}
	m.Blocks = blocksText(e.Blocks)
	if m.Blocks == "" {
		m.Blocks = blocksText(msg.Blocks)
	}
	r := &responder{b: b, channel: e.Channel, user: e.User, thread: orTS(e.ThreadTimeStamp, e.TimeStamp)}
	return b.svc.ChannelMessage(ctx, m, r)
}

// tsTime reads a Slack ts ("1700000000.000100") as a time.
func tsTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	var s, us int64
	fmt.Sscan(sec, &s)
	if len(frac) > 0 {
		fmt.Sscan((frac + "000000")[:6], &us)
	}
	if s == 0 {
		return time.Now()
	}
	return time.Unix(s, us*1000)
}

// blocksText flattens the text of section, header, context and rich text
// blocks.
func blocksText(bs slack.Blocks) string {
	var out []string
	for _, blk := range bs.BlockSet {
		switch v := blk.(type) {
		case *slack.SectionBlock:
			if v.Text != nil {
				out = append(out, v.Text.Text)
			}
			for _, f := range v.Fields {
				out = append(out, f.Text)
			}
		case *slack.HeaderBlock:
			if v.Text != nil {
				out = append(out, v.Text.Text)
			}
		case *slack.ContextBlock:
			for _, el := range v.ContextElements.Elements {
				if t, ok := el.(*slack.TextBlockObject); ok {
					out = append(out, t.Text)
				}
			}
		}
	}
	return strings.Join(out, "\n")
}

func (b *Bot) command(ctx context.Context, cmd slack.SlashCommand) {
	r := &responder{b: b, channel: cmd.ChannelID, user: cmd.UserID, responseURL: cmd.ResponseURL}
	if err := b.svc.Command(ctx, bot.CommandRequest{Channel: cmd.ChannelID, Actor: b.actor(ctx, cmd.UserID), Text: cmd.Text}, r); err != nil {
		b.o.Log.Warn("slack command", "command", cmd.Command, "err", err)
	}
}

func (b *Bot) actions(ctx context.Context, cb slack.InteractionCallback) {
	channel := orTS(cb.Channel.ID, cb.Container.ChannelID)
	msgTS := orTS(cb.Container.MessageTs, cb.Message.Timestamp)
	thread := orTS(cb.Message.ThreadTimestamp, msgTS)
	for _, a := range cb.ActionCallback.BlockActions {
		r := &responder{b: b, channel: channel, user: cb.User.ID, thread: thread, responseURL: cb.ResponseURL}
		err := b.svc.Action(ctx, bot.Action{Channel: channel, Message: msgTS, Thread: thread,
			Actor: b.actor(ctx, cb.User.ID), ID: a.ActionID, Value: a.Value}, r)
		if err != nil {
			b.o.Log.Warn("slack action", "action", a.ActionID, "err", err)
		}
	}
}

// responder answers one interaction: privately with the slash command's
// response URL or chat.postEphemeral, publicly in the thread (or channel).
type responder struct {
	b           *Bot
	channel     string
	user        string
	thread      string
	responseURL string
}

// InThread implements bot.Threader.
func (r *responder) InThread(thread string) bot.Responder {
	c := *r
	c.thread = thread
	return &c
}

func (r *responder) Private(ctx context.Context, m bot.Message) error {
	if r.responseURL != "" {
		return r.respond(ctx, "ephemeral", m)
	}
	opts := []slack.MsgOption{slack.MsgOptionBlocks(Blocks(m)...), slack.MsgOptionText(Fallback(m), true)}
	if r.thread != "" {
		opts = append(opts, slack.MsgOptionTS(r.thread))
	}
	err := retry(ctx, func() error {
		_, err := r.b.o.API.PostEphemeralContext(ctx, r.channel, r.user, opts...)
		return err
	})
	if err != nil {
		return fmt.Errorf("slack chat.postEphemeral: %w", err)
	}
	return nil
}

func (r *responder) Public(ctx context.Context, m bot.Message) error {
	if r.thread == "" && r.responseURL != "" {
		return r.respond(ctx, "in_channel", m)
	}
	_, err := r.b.poster.Post(ctx, r.channel, r.thread, m)
	return err
}

// respond answers through a response URL (slash commands, buttons): no
// channel membership needed, and ephemeral answers need no user id.
func (r *responder) respond(ctx context.Context, kind string, m bot.Message) error {
	blocks := Blocks(m)
	body := &slack.WebhookMessage{ResponseType: kind, Text: Fallback(m), Blocks: &slack.Blocks{BlockSet: blocks}}
	err := retry(ctx, func() error { return slack.PostWebhookContext(ctx, r.responseURL, body) })
	if err != nil {
		return fmt.Errorf("slack response_url: %w", err)
	}
	return nil
}

// Upload implements bot.Uploader with files.uploadV2 (getUploadURLExternal,
// the upload, completeUploadExternal) into the thread.
func (p *Poster) Upload(ctx context.Context, channel, thread string, img bot.Image) error {
	name := strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' {
			return '-'
		}
		return r
	}, strings.ToLower(img.Title))
	if name == "" {
		name = "chart"
	}
	err := retry(ctx, func() error {
		_, err := p.api.UploadFileContext(ctx, slack.UploadFileParameters{
			Reader: bytes.NewReader(img.PNG), FileSize: len(img.PNG), Filename: name + ".png",
			Title: img.Title, AltTxt: img.Alt, Channel: channel, ThreadTimestamp: thread,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("slack files.uploadV2: %w", err)
	}
	return nil
}

// StartStream implements bot.Streamer with chat.startStream in a thread.
func (p *Poster) StartStream(ctx context.Context, channel, thread, text string) (bot.Ref, error) {
	opts := []slack.MsgOption{slack.MsgOptionTS(thread), slack.MsgOptionMarkdownText(text)}
	if p.team != "" {
		opts = append(opts, slack.MsgOptionRecipientTeamID(p.team))
	}
	var ch, ts string
	err := retry(ctx, func() error {
		var err error
		ch, ts, err = p.api.StartStreamContext(ctx, channel, opts...)
		return err
	})
	if err != nil {
		return bot.Ref{}, fmt.Errorf("slack chat.startStream: %w", err)
	}
	return bot.Ref{Channel: orTS(ch, channel), ID: ts, Thread: thread}, nil
}

// AppendStream implements bot.Streamer.
func (p *Poster) AppendStream(ctx context.Context, ref bot.Ref, text string) error {
	err := retry(ctx, func() error {
		_, _, err := p.api.AppendStreamContext(ctx, ref.Channel, ref.ID, slack.MsgOptionMarkdownText(text))
		return err
	})
	if err != nil {
		return fmt.Errorf("slack chat.appendStream: %w", err)
	}
	return nil
}

// StopStream implements bot.Streamer.
func (p *Poster) StopStream(ctx context.Context, ref bot.Ref, text string) error {
	err := retry(ctx, func() error {
		_, _, err := p.api.StopStreamContext(ctx, ref.Channel, ref.ID, slack.MsgOptionMarkdownText(text))
		return err
	})
	if err != nil {
		return fmt.Errorf("slack chat.stopStream: %w", err)
	}
	return nil
}
