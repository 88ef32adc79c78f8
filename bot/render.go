package bot

import (
	"fmt"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
)

// Button ids.
const (
	ActionAccurate      = "accurate"
	ActionInaccurate    = "inaccurate"
	ActionReinvestigate = "reinvestigate"
	ActionEscalate      = "escalate"
	ActionUnlink        = "unlink"
)

var severityIcon = map[engine.Severity]string{
	engine.SeverityCritical: "🔴", engine.SeverityError: "🟠", engine.SeverityWarning: "🟡", engine.SeverityInfo: "🔵",
}

// ParentMessage is the investigation's message in the incident channel.
func ParentMessage(inv string, a *engine.Alert, linked int) Message {
	m := Message{
		Header: fmt.Sprintf("%s %s", icon(a.Severity), a.Title),
		Fields: []Field{{"Severity", string(a.Severity)}, {"Source", a.Source}},
	}
	if r := a.PrimaryResource(); r != "" {
		m.Fields = append(m.Fields, Field{"Resource", "`" + r + "`"})
	}
	if a.Region != "" {
		m.Fields = append(m.Fields, Field{"Region", a.Region})
	}
	if linked > 0 {
		m.Fields = append(m.Fields, Field{"Linked alerts", fmt.Sprint(linked)})
	}
	var links []string
	for _, l := range a.Links {
		text := l.Text
		if text == "" {
			text = "link"
		}
		links = append(links, fmt.Sprintf("[%s](%s)", text, l.URL))
	}
	if len(links) > 0 {
		m.Text = strings.Join(links, " · ")
	}
	m.Context = "Nightshift is investigating in the thread · " + inv
	return m
}

// ResolvedParent is the parent message once every alert has resolved.
func ResolvedParent(inv string, a *engine.Alert) Message {
	m := ParentMessage(inv, a, 0)
	m.Header = "✅ Resolved: " + a.Title
	m.Context = "All alerts resolved · " + inv
	return m
}

func icon(s engine.Severity) string {
	if i, ok := severityIcon[s]; ok {
		return i
	}
	return "⚪"
}

var phaseIcon = map[engine.Phase]string{
	engine.PhaseTriage: "🧭", engine.PhaseGather: "🔍", engine.PhaseAnalyse: "🧠",
	engine.PhaseMitigate: "🛠️", engine.PhaseReport: "📝", engine.PhaseDone: "✅", engine.PhaseFailed: "❌",
}

// StatusMessage is the single status line of a thread, edited in place.
func StatusMessage(p engine.Phase, text string) Message {
	i := phaseIcon[p]
	if i == "" {
		i = "⏳"
	}
	return Message{Text: fmt.Sprintf("%s *%s* — %s", i, phaseName(p), text)}
}

func phaseName(p engine.Phase) string {
	if p == "" {
		return "Working"
	}
	return strings.ToUpper(string(p[:1])) + string(p[1:])
}

// FindingMessage is a confirmed finding, posted as a reply.
func FindingMessage(ev *engine.Evidence) Message {
	m := Message{Text: fmt.Sprintf("🔎 *Finding* (%s on `%s`): %s", ev.Kind, ev.Resource, ev.Summary)}
	if ev.Call != "" {
		m.Context = "from " + ev.Call
	}
	return m
}

// LinkedMessage says that an alert joined the investigation, and why.
func LinkedMessage(a *engine.Alert, out *engine.Outcome) Message {
	m := Message{Text: fmt.Sprintf("🔗 *Linked:* %s (%s)", a.Title, a.Source)}
	if out != nil {
		m.Text += fmt.Sprintf(" — score %.2f, %s", out.Score, out.Reasons)
		m.Buttons = []Button{{ID: ActionUnlink, Label: "Unlink", Value: out.AlertID}}
	}
	return m
}

// ReportMessage is the root cause and mitigation plan.
func ReportMessage(r *engine.Report) Message {
	m := Message{Header: "Root cause and mitigation plan"}
	if top := r.Top(); top != nil {
		m.Text = fmt.Sprintf("*%s* — %s, confidence %.0f%%\n%s", top.Resource, top.Category, 100*top.Confidence, top.Statement)
	} else {
		m.Text = r.Summary
	}
	if len(r.Hypotheses) > 0 {
		var b strings.Builder
		for i, h := range r.Hypotheses {
			if i == 3 {
				break
			}
			fmt.Fprintf(&b, "%d. `%s` — %s, %.0f%%\n", i+1, h.Resource, h.Category, 100*h.Confidence)
		}
		m.Sections = append(m.Sections, Section{"Hypotheses", strings.TrimSpace(b.String())})
	}
	if top := r.Top(); top != nil {
		var b strings.Builder
		n := 0
		for _, e := range top.Evidence {
			if e.Weight <= 0 || n == 5 {
				continue
			}
			ref := ""
			if e.Call != "" {
				ref = " _(" + e.Call + ")_"
			}
			fmt.Fprintf(&b, "- %s%s\n", e.Summary, ref)
			n++
		}
		m.Sections = append(m.Sections, Section{"Evidence", strings.TrimSpace(b.String())})
	}
	if len(r.Plan) > 0 {
		var b strings.Builder
		for i, s := range r.Plan {
			fmt.Fprintf(&b, "%d. %s _(risk: %s)_\n   ✔ validate: %s\n   ↩ roll back: %s\n", i+1, s.Action, s.Risk, s.Validation, s.Rollback)
		}
		m.Sections = append(m.Sections, Section{"Mitigation plan", strings.TrimRight(b.String(), "\n")})
	}
	if len(r.Gaps) > 0 {
		m.Sections = append(m.Sections, Section{"Gaps", "- " + strings.Join(r.Gaps, "\n- ")})
	}
	m.Buttons = []Button{
		{ID: ActionAccurate, Label: "👍 Accurate", Value: r.Investigation, Style: "primary"},
		{ID: ActionInaccurate, Label: "👎 Inaccurate", Value: r.Investigation},
		{ID: ActionReinvestigate, Label: "Investigate again", Value: r.Investigation},
		{ID: ActionEscalate, Label: "Ask for human support", Value: r.Investigation, Style: "danger"},
	}
	m.Context = fmt.Sprintf("%s reasoner · %d tool calls · %d model calls · %d tokens · %s", r.Reasoner, r.Cost.ToolCalls,
		r.Cost.ModelCalls, r.Cost.Tokens, r.Cost.Wall.Round(1e6))
	return m
}
