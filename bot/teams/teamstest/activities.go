package teamstest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"time"
)

// User is a Teams user as activities carry it.
type User struct {
	ID          string // "29:…"
	AADObjectID string // Entra ID object id
	Name        string
}

// DefaultUser sends the built activities unless an option says otherwise.
var DefaultUser = TestUser("Olivia Oncall")

// TestUser returns a user named name with ids derived from the name, so
// the same name gives the same user.
func TestUser(name string) User {
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:])
	return User{
		ID:          "29:1" + h[:40],
		AADObjectID: fmt.Sprintf("%s-%s-4%s-8%s-%s", h[:8], h[8:12], h[13:16], h[17:20], h[20:32]),
		Name:        name,
	}
}

func (u User) account() map[string]any {
	return map[string]any{"id": u.ID, "name": u.Name, "aadObjectId": u.AADObjectID}
}

// Where says in which conversation a built activity happens. The zero
// value is DefaultChannelID of DefaultTeamID.
type Where struct {
	Personal bool   // a 1:1 chat with the bot instead of a channel
	Channel  string // channel id; default DefaultChannelID
	Team     string // team id; default DefaultTeamID
	// ThreadRoot is the id of the thread's root message: the activity
	// happens in that thread (conversation id "<channel>;messageid=<root>").
	ThreadRoot string
}

// PersonalConversationID is the id of the 1:1 chat between u and the bot.
func (s *Server) PersonalConversationID(u User) string {
	sum := sha256.Sum256([]byte(u.ID + "|" + s.opts.AppID))
	return "a:1" + hex.EncodeToString(sum[:])[:48]
}

// base builds the fields every inbound activity has. root is the thread
// root for a channel conversation id ("" for none).
func (s *Server) base(typ, id string, from User, w Where, root string) map[string]any {
	if from.ID == "" {
		from = DefaultUser
	}
	if w.Channel == "" {
		w.Channel = DefaultChannelID
	}
	if w.Team == "" {
		w.Team = DefaultTeamID
	}
	now := time.Now()
	a := map[string]any{
		"type":           typ,
		"id":             id,
		"timestamp":      now.UTC().Format("2006-01-02T15:04:05.000Z"),
		"localTimestamp": now.Format("2006-01-02T15:04:05.000-07:00"),
		"serviceUrl":     s.ServiceURL(),
		"channelId":      "msteams",
		"from":           from.account(),
		"recipient":      map[string]any{"id": s.BotID(), "name": s.opts.BotName},
		"locale":         "en-US",
		"entities":       []any{clientInfo()},
	}
	if w.Personal {
		a["conversation"] = map[string]any{
			"conversationType": "personal",
			"tenantId":         s.opts.TenantID,
			"id":               s.PersonalConversationID(from),
		}
		a["channelData"] = map[string]any{"tenant": map[string]any{"id": s.opts.TenantID}}
		return a
	}
	conv := w.Channel
	if root != "" {
		conv += ";messageid=" + root
	}
	a["conversation"] = map[string]any{
		"isGroup":          true,
		"conversationType": "channel",
		"tenantId":         s.opts.TenantID,
		"id":               conv,
	}
	a["channelData"] = map[string]any{
		"teamsChannelId": w.Channel,
		"teamsTeamId":    w.Team,
		"channel":        map[string]any{"id": w.Channel},
		"team":           map[string]any{"id": w.Team},
		"tenant":         map[string]any{"id": s.opts.TenantID},
	}
	return a
}

func clientInfo() map[string]any {
	return map[string]any{"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web", "timezone": "Europe/London"}
}

// MessageOptions shapes MessageActivity.
type MessageOptions struct {
	Where
	// Text follows the mention of the bot; default "help".
	Text string
	// NoMention leaves out "<at>Bot</at> " and the mention entity (as for
	// a reply in a thread the bot follows). 1:1 messages never mention.
	NoMention bool
	From      User   // default DefaultUser
	ID        string // activity id; default a fresh one
}

// MessageActivity builds the message a user posts: in a channel, "<at>Bot
// </at> help" with a mention entity of the bot and the text/html
// attachment Teams adds; a new post (conversation id
// "<channel>;messageid=<id>") unless ThreadRoot puts it in a thread (then
// replyToId is the root).
func (s *Server) MessageActivity(o MessageOptions) map[string]any {
	if o.ID == "" {
		o.ID = s.NewID()
	}
	if o.Text == "" {
		o.Text = "help"
	}
	root := o.ThreadRoot
	if root == "" {
		root = o.ID
	}
	a := s.base("message", o.ID, o.From, o.Where, root)
	a["textFormat"] = "plain"
	mention := !o.NoMention && !o.Personal
	if !mention {
		a["text"] = o.Text
		a["attachments"] = []any{htmlAttachment("<p>" + html.EscapeString(o.Text) + "</p>")}
	} else {
		at := "<at>" + s.opts.BotName + "</at>"
		a["text"] = at + " " + o.Text
		a["attachments"] = []any{htmlAttachment(`<p><span itemtype="http://schema.skype.com/Mention" itemscope="" itemid="0">` +
			html.EscapeString(s.opts.BotName) + "</span>&nbsp;" + html.EscapeString(o.Text) + "</p>")}
		a["entities"] = []any{
			map[string]any{"type": "mention", "text": at, "mentioned": map[string]any{"id": s.BotID(), "name": s.opts.BotName}},
			clientInfo(),
		}
	}
	if o.ThreadRoot != "" && !o.Personal {
		a["replyToId"] = o.ThreadRoot
	}
	return a
}

func htmlAttachment(content string) map[string]any {
	return map[string]any{"contentType": "text/html", "content": content}
}

// ActionOptions shapes SubmitActivity and InvokeActivity: a click on a
// button of an Adaptive Card the bot posted.
type ActionOptions struct {
	Where
	// CardID is the id of the message with the card (replyToId). In a
	// channel the thread root defaults to it.
	CardID string
	Verb   string         // Action.Execute verb
	Data   map[string]any // the action's data (with the inputs' values)
	From   User
	ID     string
}

func (s *Server) action(typ string, o ActionOptions) map[string]any {
	if o.ID == "" {
		o.ID = s.NewID()
	}
	root := o.ThreadRoot
	if root == "" {
		root = o.CardID
	}
	a := s.base(typ, o.ID, o.From, o.Where, root)
	if o.CardID != "" {
		a["replyToId"] = o.CardID
	}
	return a
}

// SubmitActivity builds what an Action.Submit button sends: a message with
// no text whose value is the action's data (plus the inputs), replyToId
// the card's message.
func (s *Server) SubmitActivity(o ActionOptions) map[string]any {
	a := s.action("message", o)
	data := map[string]any{}
	for k, v := range o.Data {
		data[k] = v
	}
	a["value"] = data
	return a
}

// InvokeActivity builds what an Action.Execute button (Universal Actions)
// sends: an invoke named "adaptiveCard/action" with value
// {"action":{"type":"Action.Execute","verb":…,"data":…},"trigger":"manual"}.
// The bot must answer it in the HTTP response body (an invokeResponse),
// which Deliver returns.
func (s *Server) InvokeActivity(o ActionOptions) map[string]any {
	a := s.action("invoke", o)
	data := map[string]any{}
	for k, v := range o.Data {
		data[k] = v
	}
	a["name"] = "adaptiveCard/action"
	a["value"] = map[string]any{
		"action":  map[string]any{"type": "Action.Execute", "verb": o.Verb, "data": data},
		"trigger": "manual",
	}
	return a
}

// ReactionOptions shapes ReactionActivity.
type ReactionOptions struct {
	Where
	MessageID string // the message reacted to (replyToId); the thread root defaults to it
	Reaction  string // "like" (default), "heart", "laugh", "surprised", "sad", "angry"
	Removed   bool   // a reaction taken back (reactionsRemoved)
	From      User
	ID        string
}

// ReactionActivity builds a messageReaction activity: reactionsAdded (or
// reactionsRemoved) [{"type":"like"}], replyToId the reacted message.
func (s *Server) ReactionActivity(o ReactionOptions) map[string]any {
	if o.ID == "" {
		o.ID = s.NewID()
	}
	if o.Reaction == "" {
		o.Reaction = "like"
	}
	root := o.ThreadRoot
	if root == "" {
		root = o.MessageID
	}
	a := s.base("messageReaction", o.ID, o.From, o.Where, root)
	delete(a, "entities")
	a["replyToId"] = o.MessageID
	key := "reactionsAdded"
	if o.Removed {
		key = "reactionsRemoved"
	}
	a[key] = []any{map[string]any{"type": o.Reaction}}
	return a
}

// ConversationUpdateOptions shapes ConversationUpdate.
type ConversationUpdateOptions struct {
	Where
	// EventType is channelData.eventType: "teamMemberAdded" (default),
	// "teamMemberRemoved", "channelCreated", "channelRenamed",
	// "channelDeleted", "teamRenamed", …; none in a 1:1 chat.
	EventType string
	// BotAdded / BotRemoved put the bot in membersAdded / membersRemoved
	// (the default, with teamMemberAdded and no members, is BotAdded).
	BotAdded, BotRemoved bool
	MembersAdded         []User
	MembersRemoved       []User
	ChannelName          string // channelData.channel.name for channel events
	TeamName             string // channelData.team.name
	From                 User
	ID                   string
}

// ConversationUpdate builds a conversationUpdate activity. For team events
// the conversation is the team's General channel (id = team id), for
// channel events channelData.channel is the channel (Where.Channel).
func (s *Server) ConversationUpdate(o ConversationUpdateOptions) map[string]any {
	if o.ID == "" {
		o.ID = "f:" + s.NewID()
	}
	if o.EventType == "" && !o.Personal {
		o.EventType = "teamMemberAdded"
	}
	if !o.BotAdded && !o.BotRemoved && len(o.MembersAdded) == 0 && len(o.MembersRemoved) == 0 &&
		(o.EventType == "teamMemberAdded" || o.Personal) {
		o.BotAdded = true
	}
	w := o.Where
	if w.Team == "" {
		w.Team = DefaultTeamID
	}
	if w.Channel == "" {
		w.Channel = DefaultChannelID
	}
	channel := w.Channel
	if !w.Personal {
		w.Channel = w.Team // team events come on the General channel
	}
	a := s.base("conversationUpdate", o.ID, o.From, w, "")
	delete(a, "entities")
	delete(a, "locale")
	members := func(bot bool, users []User) []any {
		var l []any
		if bot {
			l = append(l, map[string]any{"id": s.BotID()})
		}
		for _, u := range users {
			l = append(l, map[string]any{"id": u.ID, "aadObjectId": u.AADObjectID})
		}
		return l
	}
	if l := members(o.BotAdded, o.MembersAdded); l != nil {
		a["membersAdded"] = l
	}
	if l := members(o.BotRemoved, o.MembersRemoved); l != nil {
		a["membersRemoved"] = l
	}
	if o.Personal {
		return a
	}
	cd := a["channelData"].(map[string]any)
	delete(cd, "teamsChannelId")
	delete(cd, "teamsTeamId")
	cd["eventType"] = o.EventType
	team := map[string]any{"id": w.Team}
	if o.TeamName != "" {
		team["name"] = o.TeamName
	}
	cd["team"] = team
	switch o.EventType {
	case "channelCreated", "channelRenamed", "channelDeleted", "channelRestored":
		ch := map[string]any{"id": channel}
		if o.ChannelName != "" {
			ch["name"] = o.ChannelName
		}
		cd["channel"] = ch
	default:
		delete(cd, "channel")
	}
	return a
}

// InstallationOptions shapes InstallationUpdate.
type InstallationOptions struct {
	Where
	Action string // "add" (default), "remove", "add-upgrade", "remove-upgrade"
	From   User
	ID     string
}

// InstallationUpdate builds an installationUpdate activity: the app
// installed in (or removed from) a team, with the channel picked at
// install in channelData.settings.selectedChannel, or in a 1:1 chat.
func (s *Server) InstallationUpdate(o InstallationOptions) map[string]any {
	if o.ID == "" {
		o.ID = s.NewID()
	}
	if o.Action == "" {
		o.Action = "add"
	}
	w := o.Where
	if w.Team == "" {
		w.Team = DefaultTeamID
	}
	if w.Channel == "" {
		w.Channel = DefaultChannelID
	}
	selected := w.Channel
	if !w.Personal {
		w.Channel = w.Team
	}
	a := s.base("installationUpdate", o.ID, o.From, w, "")
	a["action"] = o.Action
	cd := a["channelData"].(map[string]any)
	cd["source"] = map[string]any{"name": "message"}
	if !o.Personal {
		delete(cd, "teamsChannelId")
		delete(cd, "teamsTeamId")
		cd["settings"] = map[string]any{"selectedChannel": map[string]any{"id": selected}}
		cd["channel"] = map[string]any{"id": selected}
	}
	return a
}
