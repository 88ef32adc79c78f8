package chatalert

import (
	"regexp"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

// groupHeader is the title Alertmanager's default template (__subject in
// template/default.tmpl) and Grafana's default.title give a notification:
// "[FIRING:2] group values (common label values)", "[RESOLVED] ...", and in
// Grafana "[FIRING:1, RESOLVED:2] ...".
var groupHeader = regexp.MustCompile(`(?i)^\[(FIRING|RESOLVED)(?::\s*(\d+))?(?:,\s*RESOLVED:\s*(\d+))?\]\s*(.*)$`)

type header struct {
	status  engine.AlertStatus // of the group
	rest    string             // what follows the brackets: "group values (common values)"
	counted bool               // "[FIRING:2]": the count is the template's, not a person's or another tool's
}

// groupHeaderOf finds the group header in the headline or the first lines.
func groupHeaderOf(d *doc) (header, bool) {
	cands := []string{d.headline}
	for i, ln := range d.lines {
		if i == 3 {
			break
		}
		cands = append(cands, cleanLine(ln))
	}
	for _, c := range cands {
		if m := groupHeader.FindStringSubmatch(c); m != nil {
			h := header{status: engine.AlertFiring, rest: strings.TrimSpace(spaces.ReplaceAllString(m[4], " ")), counted: m[2] != ""}
			if strings.EqualFold(m[1], "RESOLVED") {
				h.status = engine.AlertResolved
			}
			return h, true
		}
	}
	return header{}, false
}

var (
	promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	// " - `critical`" after the summary on an "*Alert:*" line.
	severitySuffix = regexp.MustCompile("\\s+[-–]\\s+`?([A-Za-z0-9_-]+)`?\\s*$")
)

// amBlock is one "*Alert:*" section of the common slack_config text template.
type amBlock struct {
	from, to    int // lines
	alertLine   string
	annotations map[string]string // lower-case keys: description, severity, summary, runbook, ...
	labels      map[string]string // from the *Details:* list
}

// amBlocks splits lines into "*Alert:*" sections.
func amBlocks(lines []string) []amBlock {
	var blocks []amBlock
	var cur *amBlock
	details := false
	for i, ln := range lines {
		k, v, ok := keyValue(ln)
		if ok && (strings.EqualFold(k, "Alert") || strings.EqualFold(k, "Alerts")) && !isBullet(strings.TrimLeft(ln, " ")) {
			if cur != nil {
				cur.to = i
			}
			blocks = append(blocks, amBlock{from: i, to: len(lines), alertLine: v,
				annotations: map[string]string{}, labels: map[string]string{}})
			cur = &blocks[len(blocks)-1]
			details = false
			continue
		}
		if cur == nil {
			continue
		}
		if details && isBullet(ln) {
			name, value := "", ""
			if k, v, ok := keyValue(ln); ok {
				name, value = k, v
			} else if k, v, ok := strings.Cut(strings.TrimLeft(strings.TrimSpace(ln), "•◦▪-–* "), " = "); ok {
				name, value = strings.TrimSpace(k), unquote(v)
			}
			if promLabelName.MatchString(name) {
				cur.labels[name] = value
			}
			continue
		}
		details = false
		if !ok {
			continue
		}
		key := strings.ToLower(k)
		if key == "details" || key == "labels" {
			details = true
			continue
		}
		if _, seen := cur.annotations[key]; !seen {
			cur.annotations[key] = v
		}
	}
	return blocks
}

// parseAlertmanager reads a notification of Alertmanager's slack_config: the
// default title ("[FIRING:2] ..."), and the "*Alert:* / *Description:* /
// *Details:*" text template most configurations use, one alert per
// "*Alert:*" section. A title alone gives one alert for the group.
func parseAlertmanager(d *doc) []draft {
	h, hasHeader := groupHeaderOf(d)
	blocks := amBlocks(d.lines)
	byAuthor := alertmanagerAuthor.MatchString(d.m.Author)
	shaped := false
	for _, b := range blocks {
		if len(b.labels) > 0 {
			shaped = true
		}
	}
	// "[RESOLVED] x" alone is also how other tools write; without
	// Alertmanager's author, its link or its alert list, leave it to them.
	marked := byAuthor || strings.Contains(d.titleURL, "/#/alerts") || shaped
	switch {
	case hasHeader && (marked || h.counted || len(blocks) > 0):
	case !hasHeader && len(blocks) > 0 && (byAuthor || shaped):
	default:
		return nil
	}
	status := h.status
	if !hasHeader {
		status = statusWord(d.headline, engine.AlertFiring)
	}

	var baseLinks []engine.Link
	if strings.Contains(d.titleURL, "/#/alerts") || byAuthor {
		baseLinks = hook.AppendLink(nil, "Alertmanager", d.titleURL)
	}

	if len(blocks) == 0 {
		dr := draft{
			rule:     h.rest,
			title:    h.rest,
			status:   status,
			severity: severityWord(h.rest),
			links:    d.linksOn(0, len(d.lines), baseLinks),
			labels:   map[string]string{"group": h.rest},
		}
		return []draft{dr}
	}

	out := make([]draft, 0, len(blocks))
	for _, b := range blocks {
		alertLine := b.alertLine
		sev := engine.ParseSeverity(b.labels["severity"])
		if m := severitySuffix.FindStringSubmatch(alertLine); m != nil {
			if s := engine.ParseSeverity(m[1]); s != engine.SeverityUnknown {
				alertLine = strings.TrimSpace(alertLine[:len(alertLine)-len(m[0])])
				if sev == engine.SeverityUnknown {
					sev = s
				}
			}
		}
		if sev == engine.SeverityUnknown {
			sev = engine.ParseSeverity(b.annotations["severity"])
		}
		alertname := b.labels["alertname"]
		ident := hook.Without(b.labels, "alertname")
		if len(b.labels) == 0 {
			ident = nil
		}
		dr := draft{
			rule:        firstNonEmpty(alertname, alertLine, h.rest),
			ident:       ident,
			labels:      map[string]string{"alertname": alertname},
			title:       firstNonEmpty(b.annotations["summary"], alertLine, alertname, h.rest),
			description: firstNonEmpty(b.annotations["description"], b.annotations["message"]),
			severity:    sev,
			status:      status,
		}
		if s := statusWord(b.annotations["status"], ""); s != "" {
			dr.status = s
		}
		if dr.title == alertname {
			if r := hook.TargetFromLabels(b.labels).Resources; len(r) > 0 {
				dr.title += " on " + r[0]
			}
		}
		links := append([]engine.Link(nil), baseLinks...)
		for _, k := range []string{"runbook", "runbook_url"} {
			links = hook.AppendLink(links, "Runbook", b.annotations[k])
		}
		links = d.linksOn(b.from, b.to, links)
		dr.links = links
		out = append(out, dr)
	}
	return out
}

// statusWord reads firing/resolved from a status word at the start of s
// ("resolved", "[RESOLVED]", "OK", "Recovered", "firing"), or returns def.
func statusWord(s string, def engine.AlertStatus) engine.AlertStatus {
	w := strings.ToLower(strings.Trim(strings.TrimSpace(s), "[]*:_ "))
	switch {
	case strings.HasPrefix(w, "resolved"), strings.HasPrefix(w, "recovered"), w == "ok", strings.HasPrefix(w, "ok "), strings.HasPrefix(w, "ok:"):
		return engine.AlertResolved
	case strings.HasPrefix(w, "firing"), strings.HasPrefix(w, "alerting"), strings.HasPrefix(w, "triggered"):
		return engine.AlertFiring
	}
	return def
}
