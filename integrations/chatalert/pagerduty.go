package chatalert

import (
	"regexp"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

var (
	pdIncidentURL = regexp.MustCompile(`^https://[\w.-]+\.pagerduty\.com/incidents?/([A-Za-z0-9]+)`)
	pdStatus      = regexp.MustCompile(`(?i)\b(triggered|acknowledged|unacknowledged|resolved|escalated|reassigned|reopened)\b(?:\s+by\s+[^#:\n]{1,60})?`)
	pdNumber      = regexp.MustCompile(`#(\d{1,9})\b`)
)

// parsePagerDuty reads the PagerDuty Slack app's incident notifications:
// "Triggered #1234 Database down", "Resolved #1234 ...", with Service,
// Urgency, Priority and Assigned fields and a link to the incident. The
// incident (its id, else its number) is the identity, so its trigger and its
// resolution share a fingerprint.
func parsePagerDuty(d *doc) []draft {
	l, m := d.linkMatching(pdIncidentURL)
	id := ""
	if m != nil {
		id = m[1]
	}
	if id == "" && !pagerdutyAuthor.MatchString(d.m.Author) {
		return nil
	}

	// The status and the number are on the headline, or on one of the
	// first lines (pretext, text) when the headline is the incident title.
	var status, number, statusLine string
	plain := func(s string) string { return cleanLine(strings.NewReplacer("*", "", "_", " ").Replace(s)) }
	head := plain(d.headline)
	cands := append([]string{d.headline}, d.lines[:min(len(d.lines), 5)]...)
	if f := d.field("Status"); f != "" {
		cands = append(cands, f)
	}
	for _, c := range cands {
		c = plain(c)
		if status == "" {
			if sm := pdStatus.FindStringSubmatch(c); sm != nil {
				status, statusLine = strings.ToLower(sm[1]), c
			}
		}
		if number == "" {
			if nm := pdNumber.FindStringSubmatch(c); nm != nil {
				number = nm[1]
			}
		}
	}
	if status == "" || (id == "" && number == "") {
		return nil
	}

	title := head
	if statusLine == head || title == "" {
		title = pdStatus.ReplaceAllString(statusLine, "")
	}
	title = pdNumber.ReplaceAllString(title, "")
	title = strings.Trim(strings.TrimSpace(title), ":-–|() ")
	title = cleanLine(title)

	kv := map[string]string{}
	for _, ln := range d.lines {
		if k, v, ok := keyValue(ln); ok {
			if k = strings.ToLower(k); kv[k] == "" {
				kv[k] = v
			}
		}
	}
	service := firstNonEmpty(d.field("Service", "Impacted Service"), kv["service"])
	urgency := firstNonEmpty(d.field("Urgency"), kv["urgency"])
	priority := firstNonEmpty(d.field("Priority"), kv["priority"])

	dr := draft{
		rule:    "incident/" + firstNonEmpty(id, "#"+number),
		title:   title,
		service: service,
		status:  engine.AlertFiring,
		labels: map[string]string{
			"incident_id":     id,
			"incident_number": number,
			"pd_status":       status,
			"urgency":         urgency,
			"priority":        priority,
			"service":         service,
			"assigned":        firstNonEmpty(d.field("Assigned", "Assignee", "Assigned to"), kv["assigned"], kv["assigned to"]),
		},
	}
	if title == "" {
		dr.title = "PagerDuty incident " + firstNonEmpty("#"+number, id)
	}
	if status == "resolved" {
		dr.status = engine.AlertResolved
	}
	dr.severity = engine.ParseSeverity(priority)
	if dr.severity == engine.SeverityUnknown {
		dr.severity = engine.ParseSeverity(urgency)
	}
	dr.links = hook.AppendLink(nil, "PagerDuty incident", l.URL)
	dr.links = d.linksOn(0, len(d.lines), dr.links)
	var desc []string
	for _, ln := range d.lines {
		if c := cleanLine(ln); c != "" && plain(c) != head && plain(c) != statusLine && len(desc) < 10 {
			desc = append(desc, ln)
		}
	}
	dr.description = strings.Join(desc, "\n")
	return []draft{dr}
}
