package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// Role is what a person may do in a space.
type Role int

// Roles, weakest first. Viewers ask and read; operators also start
// investigations, give feedback, unlink and re-run; admins may do all.
const (
	RoleNone Role = iota
	RoleViewer
	RoleOperator
	RoleAdmin
)

// ParseRole reads a role name from the configuration.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "viewer":
		return RoleViewer, nil
	case "operator", "":
		return RoleOperator, nil
	case "admin":
		return RoleAdmin, nil
	}
	return RoleNone, fmt.Errorf("role %q: want viewer, operator or admin", s)
}

func (r Role) String() string {
	return [...]string{"none", "viewer", "operator", "admin"}[r]
}

// Operator grants a role to a person or to a group of people (a Slack
// user group, an Entra group), by the platform's id.
type Operator struct {
	ID   string
	Role Role
}

// SpaceBinding is one space as a chat platform sees it.
type SpaceBinding struct {
	Name             string
	IncidentChannels []string // investigations open their threads in the first
	AlertChannels    []string // other apps post alerts here
	// Operators lists roles; when empty, everyone in the space's channels
	// is an operator. When not, people it does not list are viewers.
	Operators []Operator
}

// Actor is the person behind an interaction.
type Actor struct {
	ID   string // platform user id
	Name string // display name, when known
}

// Mention is a message that mentions the bot.
type Mention struct {
	Channel string
	Thread  string // the thread's root message id; "" when not in a thread
	ID      string // the message's id
	Actor   Actor
	Text    string // without the bot's mention
}

// CommandRequest is a /devops slash command (or a mention parsed as one).
type CommandRequest struct {
	Channel string
	Actor   Actor
	Text    string // after "/devops"
}

// Reaction is an emoji reaction added to or removed from a message.
type Reaction struct {
	Channel string
	Message string // the reacted-to message's id
	Actor   Actor
	Emoji   string // without colons: "+1", "thumbsup", "-1", "like", ...
	Removed bool
}

// Action is a click on one of the bot's buttons.
type Action struct {
	Channel string
	Message string // the message carrying the button
	Thread  string // its thread, when known
	Actor   Actor
	ID      string // Action* constant
	Value   string // the button's value: an investigation or alert id
}

// ChannelMessage is any other message in a bound channel.
type ChannelMessage struct {
	Channel string
	Thread  string
	ID      string
	Actor   Actor
	FromApp bool   // posted by an app or bot (not ours), not a person
	Author  string // the app's or bot's name
	AppID   string
	BotID   string
	Text    string
	// Attachments and Blocks carry the rest of an app's message, flattened.
	Attachments []Attachment
	Blocks      string
	At          time.Time
}

// Attachment is a legacy attachment (Slack) or a connector card section
// (Teams) of an app's message.
type Attachment struct {
	Title, TitleLink, Pretext, Text, Fallback, Color, Footer string
	Fields                                                   []Field
}

// Responder answers the person behind one interaction.
type Responder interface {
	// Private shows m to that person only (Slack: ephemeral).
	Private(ctx context.Context, m Message) error
	// Public posts m where the interaction happened: its thread, or the
	// channel.
	Public(ctx context.Context, m Message) error
}

// StartRequest asks to start an investigation from chat.
type StartRequest struct {
	Preset      string // PresetLatestAlarm, PresetHighCPU, PresetErrorSpike or ""
	Description string
	Actor       string // "slack:U0ALICE"
	Channel     string
	At          time.Time
}

// Question is an on-demand question or a follow-up in a thread.
type Question struct {
	Space         string
	Investigation string // set for follow-ups
	Thread        string // conversation memory key; "" for one-off questions
	Actor         string
	Text          string
}

// Engine is what the chat layer needs from the rest of Nightshift; cmd
// composes it from intake, the runner, the store and the spaces' tools.
type Engine interface {
	// Start opens an investigation from a description or a preset (or
	// links it to one already running, as intake decides).
	Start(ctx context.Context, space string, r StartRequest) (engine.Outcome, error)
	Ask(ctx context.Context, q Question) (engine.Answer, error)
	// Active lists the space's active investigations, newest first.
	Active(ctx context.Context, space string) ([]engine.Investigation, error)
	// Topology describes a resource's neighbourhood, with a picture when
	// one can be drawn.
	Topology(ctx context.Context, space, resource string) (string, *Image, error)
	Feedback(ctx context.Context, space, inv, actor, verdict, comment string) error
	Withdraw(ctx context.Context, space, inv, actor string) (bool, error)
	Reinvestigate(ctx context.Context, space, inv, actor string) error
	Unlink(ctx context.Context, space, alertID, actor string) (engine.Outcome, error)
	// ChannelAlerts turns an app's message in an alert channel into alerts
	// through intake; engine-side "not an alert" is an empty result.
	ChannelAlerts(ctx context.Context, space string, m ChannelMessage) ([]engine.Outcome, error)
}

// MessageIndex maps posted messages back to investigations and keeps the
// questions the bot is waiting for answers to. store.Store implements it.
type MessageIndex interface {
	ChatMessage(ctx context.Context, platform, space, channel, id string) (string, error)
	SetChatPending(ctx context.Context, platform, space, inv, who, what string, ttl time.Duration) error
	TakeChatPending(ctx context.Context, platform, space, inv, who string) (string, error)
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Platform string // "slack", "teams": prefixes actors and names keys
	Spaces   []SpaceBinding
	Engine   Engine
	Poster   Poster
	Index    MessageIndex
	// MemberOf says whether user belongs to group (a Slack user group, an
	// Entra group); nil when the platform has no groups.
	MemberOf func(ctx context.Context, group, user string) (bool, error)
	Log      *slog.Logger
	Now      func() time.Time
}

// Service handles chat input the same way on every platform: mentions,
// /devops commands, reactions, button clicks, alert-channel messages.
// Transports decode their events into its types, deduplicate deliveries
// and give it a Responder. Every answer stays inside the channel's space.
type Service struct {
	o         ServiceOptions
	byChannel map[string]binding
}

type binding struct {
	space    *SpaceBinding
	incident bool
	alert    bool
}

// NewService returns a Service. A channel bound to two spaces belongs to
// the first.
func NewService(o ServiceOptions) *Service {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, byChannel: map[string]binding{}}
	for i := range o.Spaces {
		sp := &s.o.Spaces[i]
		for _, c := range sp.IncidentChannels {
			b := s.byChannel[c]
			if b.space == nil || b.space == sp {
				s.byChannel[c] = binding{space: sp, incident: true, alert: b.alert}
			}
		}
		for _, c := range sp.AlertChannels {
			b := s.byChannel[c]
			if b.space == nil || b.space == sp {
				s.byChannel[c] = binding{space: sp, incident: b.incident, alert: true}
			}
		}
	}
	return s
}

// IncidentChannel returns a space's first incident channel, or "".
func (s *Service) IncidentChannel(space string) string {
	for _, sp := range s.o.Spaces {
		if sp.Name == space && len(sp.IncidentChannels) > 0 {
			return sp.IncidentChannels[0]
		}
	}
	return ""
}

// SpaceOf returns the space a channel is bound to, or "".
func (s *Service) SpaceOf(channel string) string {
	if b, ok := s.byChannel[channel]; ok {
		return b.space.Name
	}
	return ""
}

// Unbound is the answer in channels bound to no space.
func Unbound() Message {
	return Message{Text: "This channel is not connected to a Nightshift space, so I can't help here. " +
		"An admin can add it to a space's `incident_channels` or `alert_channels`."}
}

func (s *Service) actor(a Actor) string { return s.o.Platform + ":" + a.ID }

// role resolves what a person may do in a space.
func (s *Service) role(ctx context.Context, sp *SpaceBinding, user string) Role {
	if len(sp.Operators) == 0 {
		return RoleOperator
	}
	best := RoleViewer
	for _, op := range sp.Operators {
		if op.Role <= best {
			continue
		}
		if op.ID == user {
			best = op.Role
			continue
		}
		if s.o.MemberOf != nil {
			ok, err := s.o.MemberOf(ctx, op.ID, user)
			if err != nil {
				s.o.Log.Debug("group membership", "group", op.ID, "user", user, "err", err)
			}
			if ok {
				best = op.Role
			}
		}
	}
	return best
}

func denied(need Role, what string) Message {
	return Message{Text: fmt.Sprintf("Only %ss of this space can %s. Ask an admin to add you to the space's `operators`.", need, what)}
}

func failed(what string, err error) Message {
	return Message{Text: fmt.Sprintf("⚠️ Could not %s: %s", what, engine.SafeError(err))}
}

// Command handles a /devops command. Answers are private unless the
// command starts an investigation.
func (s *Service) Command(ctx context.Context, c CommandRequest, r Responder) error {
	b, ok := s.byChannel[c.Channel]
	if !ok {
		return r.Private(ctx, Unbound())
	}
	return s.run(ctx, b.space, c.Channel, c.Actor, ParseCommand(c.Text), r)
}

func (s *Service) run(ctx context.Context, sp *SpaceBinding, channel string, who Actor, cmd Command, r Responder) error {
	switch cmd.Kind {
	case "help":
		return r.Private(ctx, HelpMessage(""))
	case "unknown":
		return r.Private(ctx, HelpMessage(cmd.Raw))
	case "ask":
		ans, err := s.o.Engine.Ask(ctx, Question{Space: sp.Name, Actor: s.actor(who), Text: cmd.Text})
		if err != nil {
			return r.Private(ctx, failed("answer", err))
		}
		return r.Private(ctx, answerMessage(cmd.Text, ans))
	case "status":
		invs, err := s.o.Engine.Active(ctx, sp.Name)
		if err != nil {
			return r.Private(ctx, failed("list investigations", err))
		}
		return r.Private(ctx, StatusList(sp.Name, invs))
	case "topology":
		text, img, err := s.o.Engine.Topology(ctx, sp.Name, cmd.Text)
		if err != nil {
			return r.Private(ctx, failed("draw the topology", err))
		}
		m := Message{Header: "Topology of " + cmd.Text, Text: text}
		if img != nil {
			if up, ok := s.o.Poster.(Uploader); ok {
				if err := up.Upload(ctx, channel, "", *img); err != nil {
					s.o.Log.Warn("upload topology picture", "err", err)
				} else {
					m.Context = "The picture is in the channel."
				}
			}
		}
		return r.Private(ctx, m)
	case "unlink":
		return s.unlink(ctx, sp, who, strings.Fields(cmd.Text)[0], r)
	case "backlog":
		return r.Private(ctx, Message{Text: "The prevention backlog is not built yet in this version."})
	case "investigate":
		if s.role(ctx, sp, who.ID) < RoleOperator {
			return r.Private(ctx, denied(RoleOperator, "start investigations"))
		}
		out, err := s.o.Engine.Start(ctx, sp.Name, StartRequest{Preset: cmd.Preset, Description: cmd.Text,
			Actor: s.actor(who), Channel: channel, At: s.o.Now()})
		if err != nil {
			return r.Private(ctx, failed("start the investigation", err))
		}
		return r.Public(ctx, StartedMessage(who, cmd, out, s.IncidentChannel(sp.Name)))
	}
	return r.Private(ctx, HelpMessage(cmd.Raw))
}

// commandVerbs are the first words that make a mention a command.
var commandVerbs = map[string]bool{"ask": true, "investigate": true, "inv": true, "status": true,
	"topology": true, "topo": true, "unlink": true, "help": true, "backlog": true, "?": true}

// Mention handles a message mentioning the bot: in an investigation's
// thread it is a follow-up; elsewhere a command ("@nightshift status") or,
// for any other text, an investigation of what it describes.
func (s *Service) Mention(ctx context.Context, m Mention, r Responder) error {
	b, ok := s.byChannel[m.Channel]
	if !ok {
		return r.Public(ctx, Unbound())
	}
	sp := b.space
	if m.Thread != "" {
		if inv := s.investigationOf(ctx, sp.Name, m.Channel, m.Thread, IndexThread); inv != "" {
			ans, err := s.o.Engine.Ask(ctx, Question{Space: sp.Name, Investigation: inv, Thread: inv,
				Actor: s.actor(m.Actor), Text: m.Text})
			if err != nil {
				return r.Public(ctx, failed("answer", err))
			}
			return r.Public(ctx, Message{Text: ans.Text, Context: citations(ans)})
		}
	}
	text := strings.TrimSpace(m.Text)
	verb, _, _ := strings.Cut(text, " ")
	cmd := ParseCommand(text)
	if !commandVerbs[strings.ToLower(verb)] {
		cmd = Command{Kind: "investigate", Text: text, Raw: text}
		if text == "" {
			cmd = Command{Kind: "help"}
		}
	}
	// A mention is public: private answers go to the thread as well.
	return s.run(ctx, sp, m.Channel, m.Actor, cmd, publicOnly{r})
}

type publicOnly struct{ Responder }

func (p publicOnly) Private(ctx context.Context, m Message) error { return p.Public(ctx, m) }

func (s *Service) investigationOf(ctx context.Context, space, channel, id, kind string) string {
	inv, _ := s.indexed(ctx, space, channel, id, kind)
	return inv
}

// indexed reads what Threads indexed for a message of the given kind: the
// investigation and, for reports, the thread the message is in.
func (s *Service) indexed(ctx context.Context, space, channel, id, kind string) (inv, thread string) {
	if s.o.Index == nil || id == "" {
		return "", ""
	}
	v, err := s.o.Index.ChatMessage(ctx, s.o.Platform, space, channel, id)
	if err != nil {
		s.o.Log.Warn("read chat message index", "err", err)
		return "", ""
	}
	f := strings.Fields(v)
	if len(f) < 2 || f[0] != kind {
		return "", ""
	}
	if len(f) > 2 {
		thread = f[2]
	}
	return f[1], thread
}

// Threader is implemented by Responders that can answer in a given
// thread instead (a reaction's event does not say which thread its
// message is in).
type Threader interface {
	InThread(thread string) Responder
}

// Verdict maps a reaction's emoji to a feedback verdict, or "".
func Verdict(emoji string) string {
	e := strings.Trim(strings.ToLower(emoji), ":")
	if i := strings.Index(e, "::skin-tone"); i >= 0 {
		e = e[:i]
	}
	switch e {
	case "+1", "thumbsup", "👍", "like", "heart", "white_check_mark", "heavy_check_mark":
		return engine.VerdictAccurate
	case "-1", "thumbsdown", "👎", "x", "angry", "sad":
		return engine.VerdictInaccurate
	}
	return ""
}

// Reaction handles an emoji on the root-cause message: 👍 accurate, 👎
// inaccurate (and the bot asks what was wrong); removing it withdraws it.
func (s *Service) Reaction(ctx context.Context, e Reaction, r Responder) error {
	b, ok := s.byChannel[e.Channel]
	if !ok {
		return nil
	}
	verdict := Verdict(e.Emoji)
	if verdict == "" {
		return nil
	}
	inv, thread := s.indexed(ctx, b.space.Name, e.Channel, e.Message, IndexReport)
	if inv == "" {
		return nil // a reaction on some other message
	}
	if t, ok := r.(Threader); ok && thread != "" {
		r = t.InThread(thread)
	}
	if e.Removed {
		if s.role(ctx, b.space, e.Actor.ID) < RoleOperator {
			return nil
		}
		if _, err := s.o.Engine.Withdraw(ctx, b.space.Name, inv, s.actor(e.Actor)); err != nil {
			return r.Private(ctx, failed("withdraw the feedback", err))
		}
		return nil
	}
	return s.feedback(ctx, b.space, inv, e.Actor, verdict, r)
}

func (s *Service) feedback(ctx context.Context, sp *SpaceBinding, inv string, who Actor, verdict string, r Responder) error {
	if s.role(ctx, sp, who.ID) < RoleOperator {
		return r.Private(ctx, denied(RoleOperator, "give feedback"))
	}
	if err := s.o.Engine.Feedback(ctx, sp.Name, inv, s.actor(who), verdict, ""); err != nil {
		return r.Private(ctx, failed("record the feedback", err))
	}
	if verdict != engine.VerdictInaccurate {
		return r.Private(ctx, Message{Text: "👍 Thanks — recorded as *accurate*. This space's next investigations try what you confirmed first."})
	}
	if s.o.Index != nil {
		if err := s.o.Index.SetChatPending(ctx, s.o.Platform, sp.Name, inv, who.ID, "comment", 24*time.Hour); err != nil {
			s.o.Log.Warn("remember pending question", "err", err)
		}
	}
	name := who.Name
	if name == "" {
		name = "you"
	}
	return r.Public(ctx, Message{Text: fmt.Sprintf("👎 Thanks, %s — recorded as *inaccurate*. What was wrong, or what was the real cause? "+
		"Your next reply in this thread is kept with the feedback.", name)})
}

// Action handles a button click.
func (s *Service) Action(ctx context.Context, a Action, r Responder) error {
	b, ok := s.byChannel[a.Channel]
	if !ok {
		return r.Private(ctx, Unbound())
	}
	sp := b.space
	switch a.ID {
	case ActionAccurate:
		return s.feedback(ctx, sp, a.Value, a.Actor, engine.VerdictAccurate, r)
	case ActionInaccurate:
		return s.feedback(ctx, sp, a.Value, a.Actor, engine.VerdictInaccurate, r)
	case ActionReinvestigate:
		if s.role(ctx, sp, a.Actor.ID) < RoleOperator {
			return r.Private(ctx, denied(RoleOperator, "re-run investigations"))
		}
		if err := s.o.Engine.Reinvestigate(ctx, sp.Name, a.Value, s.actor(a.Actor)); err != nil {
			return r.Private(ctx, failed("investigate again", err))
		}
		return r.Public(ctx, Message{Text: "🔁 Investigating again with fresh data; the new report will follow in this thread."})
	case ActionEscalate:
		return r.Private(ctx, Message{Text: "Asking for human support is not configured for this space yet: " +
			"page your on-call through PagerDuty for now."})
	case ActionUnlink:
		return s.unlink(ctx, sp, a.Actor, a.Value, r)
	}
	return r.Private(ctx, Message{Text: "I don't know that button."})
}

// unlink moves an alert out of its investigation (button or command).
func (s *Service) unlink(ctx context.Context, sp *SpaceBinding, who Actor, alertID string, r Responder) error {
	if s.role(ctx, sp, who.ID) < RoleOperator {
		return r.Private(ctx, denied(RoleOperator, "unlink alerts"))
	}
	out, err := s.o.Engine.Unlink(ctx, sp.Name, alertID, s.actor(who))
	if err != nil {
		return r.Private(ctx, failed("unlink the alert", err))
	}
	return r.Public(ctx, Message{Text: fmt.Sprintf("↪️ Unlinked alert `%s`: it now has its own investigation `%s`.", alertID, out.Investigation)})
}

// ErrIgnored says a channel message was not for the bot.
var ErrIgnored = errors.New("message ignored")

// ChannelMessage handles other messages in bound channels: apps' messages
// in alert channels become alerts; a reply in an investigation's thread
// from someone the bot asked what was wrong is kept with their feedback.
// Everything else (people talking) is left alone.
func (s *Service) ChannelMessage(ctx context.Context, m ChannelMessage, r Responder) error {
	b, ok := s.byChannel[m.Channel]
	if !ok {
		return ErrIgnored
	}
	if b.alert && m.FromApp {
		outs, err := s.o.Engine.ChannelAlerts(ctx, b.space.Name, m)
		if err != nil {
			return fmt.Errorf("alert from channel %s: %w", m.Channel, err)
		}
		if len(outs) == 0 {
			return ErrIgnored
		}
		return nil
	}
	if m.FromApp || m.Thread == "" || s.o.Index == nil {
		return ErrIgnored
	}
	inv := s.investigationOf(ctx, b.space.Name, m.Channel, m.Thread, IndexThread)
	if inv == "" {
		return ErrIgnored
	}
	what, err := s.o.Index.TakeChatPending(ctx, s.o.Platform, b.space.Name, inv, m.Actor.ID)
	if err != nil || what != "comment" {
		return ErrIgnored
	}
	if err := s.o.Engine.Feedback(ctx, b.space.Name, inv, s.actor(m.Actor), engine.VerdictInaccurate, m.Text); err != nil {
		return r.Public(ctx, failed("keep your answer", err))
	}
	return r.Public(ctx, Message{Text: "📝 Kept with your feedback. Thank you — the space's next investigations learn from it."})
}

// answerMessage renders an answer to /devops ask.
func answerMessage(q string, a engine.Answer) Message {
	return Message{Text: a.Text, Context: strings.TrimSpace("Q: " + q + " · " + citations(a))}
}

func citations(a engine.Answer) string {
	if len(a.Citations) == 0 {
		return ""
	}
	return "from " + strings.Join(a.Citations, ", ")
}

// StatusList renders a space's active investigations.
func StatusList(space string, invs []engine.Investigation) Message {
	if len(invs) == 0 {
		return Message{Text: fmt.Sprintf("No active investigations in *%s*. 🌙", space)}
	}
	var b strings.Builder
	for i, inv := range invs {
		if i == 20 {
			fmt.Fprintf(&b, "… and %d more\n", len(invs)-20)
			break
		}
		fmt.Fprintf(&b, "- %s *%s* — %s, %d alert(s), opened %s · `%s`\n", icon(inv.Severity), inv.Title,
			phaseName(inv.Phase), inv.AlertCount, inv.OpenedAt.UTC().Format("Jan 2 15:04 MST"), inv.ID)
	}
	return Message{Header: fmt.Sprintf("Active investigations in %s", space), Text: strings.TrimSpace(b.String())}
}

// StartedMessage says that a chat request started (or joined) an
// investigation.
func StartedMessage(who Actor, cmd Command, out engine.Outcome, incident string) Message {
	what := cmd.Text
	if cmd.Preset != "" {
		what = strings.TrimSpace(cmd.Preset + " " + cmd.Text)
	}
	name := who.Name
	if name == "" {
		name = "Someone"
	}
	switch out.Decision {
	case engine.DecisionLinked, engine.DecisionDuplicate:
		return Message{Text: fmt.Sprintf("🔗 %s asked to investigate _%s_ — it joins investigation `%s`, already under way (score %.2f, %s).",
			name, what, out.Investigation, out.Score, out.Reasons)}
	}
	m := Message{Text: fmt.Sprintf("🚨 %s started an investigation: _%s_ · `%s`", name, what, out.Investigation)}
	if incident != "" {
		m.Context = "Follow it in the incident channel's thread."
	}
	return m
}
