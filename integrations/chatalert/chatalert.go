package chatalert

import (
	"encoding/json"
	"errors"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

// ErrNotAlert is Parse's answer for a message that is not an alert: human
// chatter, a question, Nightshift's own messages, or an app message no
// recogniser understands. It is not a failure; callers just ignore the
// message.
var ErrNotAlert = errors.New("chatalert: not an alert")

// Platforms.
const (
	PlatformSlack = "slack"
	PlatformTeams = "teams"
)

// Recogniser names, as they appear in the "chat_app" label.
const (
	AppAWSChatbot   = "aws-chatbot"
	AppDatadog      = "datadog"
	AppGrafana      = "grafana"
	AppPagerDuty    = "pagerduty"
	AppAlertmanager = "alertmanager"
	AppGeneric      = "generic"
)

// Message is one chat message, as the chat surface received it, flattened to
// what every platform has.
type Message struct {
	Platform string `json:"platform"`          // "slack", "teams"
	Channel  string `json:"channel,omitempty"` // channel (conversation) id
	ID       string `json:"id,omitempty"`      // message id: Slack ts, Teams activity id

	// Author is the posting app's or bot's display name ("AWS Chatbot",
	// "Datadog", "Grafana", "PagerDuty", "alertmanager", ...) or, for a
	// person, their user name.
	Author string `json:"author,omitempty"`
	// AppID and BotID are set for messages posted by an app, a bot or an
	// incoming webhook (Slack app_id / bot_id; Teams the bot, app or
	// connector id). A message with neither is a person's and is never an
	// alert, even when it quotes one.
	AppID string `json:"app_id,omitempty"`
	BotID string `json:"bot_id,omitempty"`

	Text        string       `json:"text,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"` // Slack legacy attachments, Teams connector cards
	Blocks      string       `json:"blocks,omitempty"`      // plain text of Block Kit / Adaptive Card blocks, flattened by the caller
	At          time.Time    `json:"at,omitzero"`
}

// Attachment is a Slack legacy attachment or a Teams connector card section.
type Attachment struct {
	Title     string  `json:"title,omitempty"`
	TitleLink string  `json:"title_link,omitempty"`
	Pretext   string  `json:"pretext,omitempty"`
	Text      string  `json:"text,omitempty"`
	Fallback  string  `json:"fallback,omitempty"`
	Color     string  `json:"color,omitempty"`
	Fields    []Field `json:"fields,omitempty"`
	Footer    string  `json:"footer,omitempty"`
}

// Field is an attachment field or a card fact.
type Field struct {
	Title string `json:"title,omitempty"`
	Value string `json:"value,omitempty"`
}

// Limits that keep one message from costing much: text beyond maxText per
// part (Slack's own limit for a message's text is 40,000 characters) and
// lines beyond maxLines are ignored, and a message yields at most maxAlerts
// alerts.
const (
	maxText        = 40000
	maxLines       = 2000
	maxAttachments = 20
	maxAlerts      = 100
	maxRawText     = 4 << 10
)

// draft is what a recogniser makes of one alert in a message; finish turns it
// into an engine.Alert.
type draft struct {
	rule        string            // what fired: alert, alarm, monitor or incident; part of the fingerprint
	ident       map[string]string // identifying labels; part of the fingerprint
	resources   []string          // part of the fingerprint when set; else Resources come from the labels (hook.TargetFromLabels) and are not fingerprinted beyond ident
	labels      map[string]string // further labels, not identifying
	title       string
	description string
	severity    engine.Severity
	status      engine.AlertStatus
	service     string
	region      string
	account     string
	links       []engine.Link
}

type recogniser struct {
	app    string
	author *regexp.Regexp // authors that are this app: tried first
	parse  func(*doc) []draft
}

// Authors (display names) of the apps the recognisers know.
var (
	awsAuthor          = regexp.MustCompile(`(?i)\b(aws|amazon|chatbot)\b`)
	grafanaAuthor      = regexp.MustCompile(`(?i)\bgrafana\b`)
	alertmanagerAuthor = regexp.MustCompile(`(?i)\b(alert ?manager|prometheus)\b`)
	pagerdutyAuthor    = regexp.MustCompile(`(?i)\bpager ?duty\b`)
	datadogAuthor      = regexp.MustCompile(`(?i)\bdata ?dog\b`)
)

// recognisers in the order they are tried; generic must stay last.
var recognisers = []recogniser{
	{AppAWSChatbot, awsAuthor, parseAWS},
	{AppGrafana, grafanaAuthor, parseGrafana},
	{AppAlertmanager, alertmanagerAuthor, parseAlertmanager},
	{AppPagerDuty, pagerdutyAuthor, parsePagerDuty},
	{AppDatadog, datadogAuthor, parseDatadog},
	{AppGeneric, nil, parseGeneric},
}

// Parse returns the alerts m carries, in the order it lists them, or
// ErrNotAlert. It is safe for concurrent use.
func Parse(m Message) ([]engine.Alert, error) {
	d := newDoc(&m)
	if !d.fromApp() || d.ownMessage() {
		return nil, ErrNotAlert
	}
	tried := make([]bool, len(recognisers))
	try := func(i int) []engine.Alert {
		tried[i] = true
		drafts := recognisers[i].parse(d)
		if len(drafts) == 0 {
			return nil
		}
		return finish(&m, d, recognisers[i].app, drafts)
	}
	for i, r := range recognisers {
		if r.author != nil && r.author.MatchString(m.Author) {
			if out := try(i); out != nil {
				return out, nil
			}
		}
	}
	for i := range recognisers {
		if !tried[i] {
			if out := try(i); out != nil {
				return out, nil
			}
		}
	}
	return nil, ErrNotAlert
}

// fromApp reports whether an app posted the message: people's messages have
// neither an app nor a bot id, whatever their author is called.
func (d *doc) fromApp() bool {
	return strings.TrimSpace(d.m.AppID) != "" || strings.TrimSpace(d.m.BotID) != ""
}

// Nightshift's own messages (bot/render.go): the parent message's context,
// the resolved parent, the report, findings, linked alerts and status lines.
var ownPatterns = []*regexp.Regexp{
	regexp.MustCompile(`Nightshift is investigating`),
	regexp.MustCompile(`All alerts resolved ·`),
	regexp.MustCompile(`(?m)^\W*Root cause and mitigation plan\W*$`),
	regexp.MustCompile(`(?m)^\s*🔎\s*\*?Finding\*?\b`),
	regexp.MustCompile(`(?m)^\s*🔗\s*\*?Linked:`),
	regexp.MustCompile(`(?m)^\s*(🧭|🔍|🧠|🛠️|🛠|📝|✅|❌|⏳)\s*\*?(Triage|Gather|Analyse|Mitigate|Report|Done|Failed|Working)\*?\s+—`),
	regexp.MustCompile(`(?i)\bnightshift\b.*\b(investigat|reasoner|tool calls)`),
}

func (d *doc) ownMessage() bool {
	if strings.EqualFold(strings.TrimSpace(d.m.Author), "nightshift") {
		return true
	}
	for _, p := range ownPatterns {
		if p.MatchString(d.all) {
			return true
		}
	}
	return false
}

// finish turns a recogniser's drafts into alerts.
func finish(m *Message, d *doc, app string, drafts []draft) []engine.Alert {
	if len(drafts) > maxAlerts {
		drafts = drafts[:maxAlerts]
	}
	raw := rawJSON(m)
	out := make([]engine.Alert, 0, len(drafts))
	for i, dr := range drafts {
		labels := make(map[string]string, len(dr.ident)+len(dr.labels)+1)
		maps.Copy(labels, dr.labels)
		maps.Copy(labels, dr.ident)
		labels["chat_app"] = app
		if m.Platform != "" {
			labels["chat_platform"] = m.Platform
		}
		for k, v := range labels {
			if strings.TrimSpace(v) == "" && k != "chat_app" {
				delete(labels, k)
			}
		}

		t := hook.TargetFromLabels(labels)
		res := dr.resources
		if len(res) == 0 {
			res = t.Resources
		}
		a := engine.Alert{
			Source:      engine.SourceChat,
			Title:       oneLine(dr.title, 300),
			Description: strings.TrimSpace(dr.description),
			Severity:    dr.severity,
			Status:      dr.status,
			Resources:   res,
			Service:     firstNonEmpty(dr.service, t.Service),
			Component:   t.Component,
			Account:     firstNonEmpty(dr.account, t.Account),
			Region:      firstNonEmpty(dr.region, t.Region),
			Labels:      labels,
			StartsAt:    m.At,
			Links:       dr.links,
			Raw:         raw,
		}
		if a.Status == "" {
			a.Status = engine.AlertFiring
		}
		if a.Severity == "" {
			a.Severity = engine.SeverityUnknown
		}
		if a.Status == engine.AlertResolved {
			a.EndsAt = m.At
		}
		if a.Title == "" {
			a.Title = oneLine(dr.rule, 300)
		}
		if a.Title == "" {
			a.Title = "Alert in chat"
		}
		if m.Channel != "" && m.ID != "" {
			a.DeliveryID = m.Platform + ":" + m.Channel + ":" + m.ID
			if len(drafts) > 1 {
				a.DeliveryID += ":" + strconv.Itoa(i)
			}
		}
		rule := strings.TrimSpace(dr.rule)
		if rule == "" {
			rule = strings.ToLower(a.Title)
		}
		a.Fingerprint = engine.StructuredFingerprint(engine.SourceChat+":"+app, rule, dr.resources, nonEmpty(dr.ident))
		out = append(out, a)
	}
	return out
}

func nonEmpty(m map[string]string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if v = strings.TrimSpace(v); v != "" {
			if out == nil {
				out = make(map[string]string, len(m))
			}
			out[k] = v
		}
	}
	return out
}

// rawJSON is a small copy of the message, long texts cut, for Alert.Raw.
func rawJSON(m *Message) json.RawMessage {
	c := *m
	c.Text = truncate(c.Text, maxRawText)
	c.Blocks = truncate(c.Blocks, maxRawText)
	if len(c.Attachments) > maxAttachments {
		c.Attachments = c.Attachments[:maxAttachments]
	}
	c.Attachments = append([]Attachment(nil), c.Attachments...)
	for i := range c.Attachments {
		a := &c.Attachments[i]
		a.Text = truncate(a.Text, maxRawText)
		a.Fallback = truncate(a.Fallback, maxRawText)
		a.Pretext = truncate(a.Pretext, maxRawText)
		if len(a.Fields) > 50 {
			a.Fields = a.Fields[:50]
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	return b
}
