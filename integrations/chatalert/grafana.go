package chatalert

import (
	"regexp"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

// grafanaBlock is one alert of Grafana's default message (default.message,
// __text_alert_list in grafana/alerting templates/default_template.go):
//
//	Value: A=93.2, C=1
//	Labels:
//	 - alertname = HighCPU
//	Annotations:
//	 - summary = ...
//	Source: https://grafana.example/alerting/grafana/uid/view
//	Silence: ...
//	Dashboard: ...
//	Panel: ...
type grafanaBlock struct {
	from, to    int
	status      engine.AlertStatus
	value       string
	labels      map[string]string
	annotations map[string]string
	links       []engine.Link
}

func grafanaBlocks(d *doc, def engine.AlertStatus) []grafanaBlock {
	var blocks []grafanaBlock
	section := def
	mode := ""
	start := func(i int) *grafanaBlock {
		if n := len(blocks); n > 0 {
			blocks[n-1].to = i
		}
		blocks = append(blocks, grafanaBlock{from: i, to: len(d.lines), status: section,
			labels: map[string]string{}, annotations: map[string]string{}})
		return &blocks[len(blocks)-1]
	}
	var cur *grafanaBlock
	for i, ln := range d.lines {
		switch strings.ToLower(cleanLine(ln)) {
		case "firing":
			section, cur, mode = engine.AlertFiring, nil, ""
			continue
		case "resolved":
			section, cur, mode = engine.AlertResolved, nil, ""
			continue
		}
		if (mode == "labels" || mode == "annotations") && cur != nil && isBullet(ln) {
			if k, v, ok := strings.Cut(strings.TrimLeft(strings.TrimSpace(ln), "-•* "), " = "); ok {
				k, v = strings.TrimSpace(k), strings.TrimSpace(v)
				if mode == "labels" {
					cur.labels[k] = v
				} else {
					cur.annotations[k] = v
				}
				continue
			}
		}
		k, v, ok := keyValue(ln)
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "value":
			cur, mode = start(i), ""
			cur.value = v
		case "labels":
			if cur == nil || len(cur.labels) > 0 {
				cur = start(i)
			}
			mode = "labels"
		case "annotations":
			if cur != nil {
				mode = "annotations"
			}
		case "source", "dashboard", "panel", "silence":
			mode = ""
			if cur != nil && !strings.EqualFold(k, "silence") {
				for _, u := range d.lineURLs[i] {
					cur.links = hook.AppendLink(cur.links, k, u)
				}
			}
		default:
			mode = ""
		}
	}
	// Blocks without labels are not Grafana alerts (a "Value:" line in
	// some other text).
	out := blocks[:0]
	for _, b := range blocks {
		if len(b.labels) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// grafanaMarked reports whether the message says it is Grafana's.
func grafanaMarked(d *doc) bool {
	return grafanaAuthor.MatchString(d.m.Author) || d.footerHas("Grafana") ||
		strings.Contains(d.titleURL, "/alerting/")
}

// legacyTitle is Grafana's legacy dashboard alerting title,
// "[" + state + "] " + rule name (EvalContext.GetNotificationTitle).
var legacyTitle = regexp.MustCompile(`^\[(Alerting|OK|No Data|Pending|Paused|Execution Error|Unknown)\]\s+(.+)$`)

// parseGrafana reads Grafana's Slack notifications: unified alerting's
// default title and message, one alert per block, or the title alone; and
// legacy dashboard alerts.
func parseGrafana(d *doc) []draft {
	if m := legacyTitle.FindStringSubmatch(d.headline); m != nil {
		return grafanaLegacy(d, m[1], m[2])
	}
	h, hasHeader := groupHeaderOf(d)
	def := h.status
	if !hasHeader {
		def = engine.AlertFiring
	}
	blocks := grafanaBlocks(d, def)
	marked := grafanaMarked(d)
	switch {
	case len(blocks) > 0 && (hasHeader || marked):
	case hasHeader && marked:
		return []draft{{
			rule:     h.rest,
			title:    h.rest,
			status:   h.status,
			severity: severityWord(h.rest),
			labels:   map[string]string{"group": h.rest},
			links:    hook.AppendLink(nil, "Grafana", d.titleURL),
		}}
	default:
		return nil
	}

	out := make([]draft, 0, len(blocks))
	for _, b := range blocks {
		alertname := b.labels["alertname"]
		dr := draft{
			rule:        firstNonEmpty(alertname, h.rest),
			ident:       hook.Without(b.labels, "alertname"),
			labels:      map[string]string{"alertname": alertname},
			title:       firstNonEmpty(b.annotations["summary"], alertname, h.rest),
			description: firstNonEmpty(b.annotations["description"], b.annotations["message"]),
			severity:    engine.ParseSeverity(firstNonEmpty(b.labels["severity"], b.annotations["severity"])),
			status:      b.status,
			links:       b.links,
		}
		if dr.title == alertname {
			if r := hook.TargetFromLabels(b.labels).Resources; len(r) > 0 {
				dr.title += " on " + r[0]
			}
		}
		if b.value != "" && b.value != "[no value]" {
			dr.description = strings.TrimSpace(dr.description + "\nValue: " + b.value)
		}
		dr.links = hook.AppendLink(dr.links, "Runbook", b.annotations["runbook_url"])
		out = append(out, dr)
	}
	return out
}

// grafanaLegacy reads a legacy dashboard alert: title "[Alerting] rule",
// title link to the panel, the rule's message as text, and the evaluated
// series as fields.
func grafanaLegacy(d *doc, state, rule string) []draft {
	if !grafanaMarked(d) && !strings.Contains(d.titleURL, "tab=alert") {
		return nil
	}
	dr := draft{rule: rule, title: rule, labels: map[string]string{"grafana_state": state}}
	switch state {
	case "OK":
		dr.status, dr.severity = engine.AlertResolved, engine.SeverityInfo
	case "Alerting":
		dr.status = engine.AlertFiring
	case "No Data", "Execution Error":
		// As for CloudWatch's INSUFFICIENT_DATA: the data stopped, which
		// may or may not be the thing being down.
		dr.status, dr.severity = engine.AlertFiring, engine.SeverityWarning
	default: // Pending, Paused, Unknown: no condition to act on
		return nil
	}
	// The panel the rule belongs to identifies it beside its name.
	panel := firstNonEmpty(queryParam(d.titleURL, "viewPanel"), queryParam(d.titleURL, "panelId"), queryParam(d.titleURL, "editPanel"))
	if panel != "" {
		dr.ident = map[string]string{"panel": panel}
	}
	var desc []string
	for _, ln := range d.lines {
		if cleanLine(ln) == d.headline {
			continue
		}
		desc = append(desc, ln)
		if len(desc) == 20 {
			break
		}
	}
	dr.description = strings.Join(desc, "\n")
	if dr.severity == "" {
		dr.severity = severityWord(rule)
	}
	dr.links = hook.AppendLink(nil, "Grafana panel", d.titleURL)
	dr.links = d.linksOn(0, len(d.lines), dr.links)
	return []draft{dr}
}
