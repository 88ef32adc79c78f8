package chatalert

import (
	"maps"
	"net/url"
	"regexp"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

const ddTransitions = `Re-Triggered|Triggered|Recovered|Re-Warn|Warn|Warning|Re-No Data|No Data|Renotify|Resolved`

var (
	// "Triggered: [P1] High CPU on host:web-1" (Slack notifications).
	ddTitleColon = regexp.MustCompile(`(?i)^(` + ddTransitions + `)\s*:\s*(.+)$`)
	// "[Triggered on {host:web-1}] High CPU" (event titles).
	ddTitleBracket = regexp.MustCompile(`(?i)^\[(` + ddTransitions + `)(?:\s+on\s+([^\]]*))?\]\s*(.+)$`)
	ddPrefix       = regexp.MustCompile(`(?i)^\[(P[0-5]|TEST)\]\s*`)
	ddSite         = `[^/\s]*(?:datadoghq\.(?:com|eu)|ddog-gov\.com)`
	ddAnyLink      = regexp.MustCompile(`^https?://` + ddSite + `/`)
	// A monitor's page: https://app.datadoghq.com/monitors/123?group=host%3Aa
	// (or /monitors#123 on older links).
	ddMonitorLink = regexp.MustCompile(`^https?://` + ddSite + `/monitors[#/](\d+)`)
	ddScope       = regexp.MustCompile(`\{([^{}]*)\}`)
)

// parseDatadog reads Datadog monitor notifications: "Triggered: [P1] title",
// "Recovered: ...", "Warn: ...", "No Data: ...", or the event form
// "[Triggered on {host:a}] title", from Datadog's app or with a link to
// Datadog. The monitor (from its link) and the group it alerted on are the
// identity; without a monitor link, the title without its transition.
func parseDatadog(d *doc) []draft {
	if !datadogAuthor.MatchString(d.m.Author) {
		if _, m := d.linkMatching(ddAnyLink); m == nil {
			return nil
		}
	}
	var transition, rest, scopeText string
	cands := []string{d.headline}
	for i, ln := range d.lines {
		if i == 3 {
			break
		}
		cands = append(cands, cleanLine(ln))
	}
	for _, c := range cands {
		if m := ddTitleColon.FindStringSubmatch(c); m != nil {
			transition, rest = m[1], m[2]
			break
		}
		if m := ddTitleBracket.FindStringSubmatch(c); m != nil {
			transition, scopeText, rest = m[1], m[2], m[3]
			break
		}
	}
	if transition == "" {
		return nil
	}

	labels := map[string]string{"transition": transition}
	for {
		m := ddPrefix.FindStringSubmatch(rest)
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "TEST") {
			labels["test"] = "true"
		} else {
			labels["priority"] = strings.ToUpper(m[1])
		}
		rest = rest[len(m[0]):]
	}
	rest = strings.TrimSpace(rest)
	labels["priority"] = firstNonEmpty(labels["priority"], d.field("Priority"))

	// The alerting group: the monitor link's group, else the scope in the
	// title ("on {host:a,env:b}").
	scope := map[string]string{}
	monitorID := ""
	monitor, mm := d.linkMatching(ddMonitorLink)
	if mm != nil {
		monitorID = mm[1]
		if g := queryParam(monitor.URL, "group"); g != "" {
			maps.Copy(scope, ddTags(g))
		}
	}
	if len(scope) == 0 {
		st := scopeText
		if st == "" {
			if m := ddScope.FindStringSubmatch(rest); m != nil {
				st = m[1]
			}
		}
		maps.Copy(scope, ddTags(strings.Trim(st, "{} ")))
	}

	// Tags: a Tags field or line, and known tags written in the text.
	tags := labelTokens(d.all)
	if v := d.field("Tags"); v != "" {
		maps.Copy(tags, ddTags(v))
	}
	for _, ln := range d.lines {
		if k, v, ok := keyValue(ln); ok && strings.EqualFold(k, "tags") {
			maps.Copy(tags, ddTags(v))
		}
	}
	maps.Copy(tags, scope)
	maps.Copy(labels, conventional(tags))
	labels["monitor_id"] = monitorID

	dr := draft{
		title:  rest,
		labels: labels,
		status: engine.AlertFiring,
	}
	if monitorID != "" {
		dr.rule = "monitor/" + monitorID
		dr.ident = scope
		if len(scope) == 0 {
			// A simple monitor, or a multi-alert one whose link names no
			// group: the group the title names, if any.
			dr.ident = labelTokens(rest)
		}
	} else {
		dr.rule = strings.ToLower(strings.TrimSpace(ddScope.ReplaceAllString(rest, "")))
		dr.ident = scope
		if len(scope) == 0 {
			dr.ident = labelTokens(rest)
		}
	}

	t := strings.ToLower(transition)
	if t == "recovered" || t == "resolved" {
		dr.status = engine.AlertResolved
	}
	dr.severity = engine.ParseSeverity(labels["priority"])
	if dr.severity == engine.SeverityUnknown {
		switch strings.TrimPrefix(t, "re-") {
		case "triggered", "renotify":
			dr.severity = engine.SeverityError // what Datadog's $ALERT_TYPE says of a triggered alert
		case "warn", "warning", "no data":
			dr.severity = engine.SeverityWarning
		default:
			dr.severity = engine.SeverityInfo
		}
	}
	if mm != nil {
		dr.links = hook.AppendLink(nil, "Monitor", monitor.URL)
	}
	dr.links = d.linksOn(0, len(d.lines), dr.links)
	var desc []string
	for _, ln := range d.lines {
		if c := cleanLine(ln); c != "" && c != d.headline && len(desc) < 15 {
			desc = append(desc, ln)
		}
	}
	dr.description = strings.Join(desc, "\n")
	return []draft{dr}
}

// ddTags parses Datadog's "key:value" tag lists ("host:a,env:b" or
// space-separated). A tag without a value is dropped: it names no target.
func ddTags(s string) map[string]string {
	out := map[string]string{}
	if u, err := url.QueryUnescape(s); err == nil {
		s = u
	}
	for _, tag := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		k, v, ok := strings.Cut(strings.Trim(tag, "`*_{}"), ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" || strings.HasPrefix(v, "//") {
			continue
		}
		if _, seen := out[k]; !seen {
			out[k] = v
		}
	}
	return out
}
