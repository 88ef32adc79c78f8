package chatalert

import (
	"regexp"
	"slices"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

var (
	// Status words. Upper case ones count anywhere in the headline; title
	// case ones only as a prefix ("Triggered: ...") or in brackets, so that
	// prose ("an alert about ...") does not.
	genFiringUpper  = regexp.MustCompile(`\b(ALARM|ALERT|ALERTING|FIRING|CRITICAL|CRIT|PROBLEM|DOWN|OUTAGE|TRIGGERED)\b`)
	genFiringTitle  = regexp.MustCompile(`(?i)(?:^|[\[(])(alarm|alert|alerting|firing|critical|triggered|problem|down|sev[ -]?[0-4]|p[0-4])(?:[\])]|\s*[:–—]|\s+-\s)`)
	genResolvedAny  = regexp.MustCompile(`\b(RESOLVED|RECOVERED|CLEARED)\b`)
	genResolvedIn   = regexp.MustCompile(`(?i)^resolved in [^:]{1,40}:\s*`) // Zabbix: "Resolved in 25m 3s: <problem>"
	genResolvedHead = regexp.MustCompile(`(?i)(?:^|[\[(])(resolved|recovered|cleared|ok|up)(?:[\])]|\s*[:–—]|\s+-\s)`)
	genStatusWords  = regexp.MustCompile(`(?i)\b(alarm|alert|alerting|firing|critical|crit|problem|down|outage|triggered|resolved|recovered|cleared|ok|warning|warn|sev[ -]?[0-4]|p[0-4])\b`)

	// Resource-like tokens.
	genARN  = regexp.MustCompile(`\barn:aws[\w-]*:[\w-]+:[\w-]*:\d*:[^\s,;)\]]+`)
	genK8s  = regexp.MustCompile(`\bk8s/[\w.\-/]+`)
	genHost = regexp.MustCompile(`\b[a-z][a-z0-9]*(?:[-.][a-z0-9]+)+\b`)
	genIPv4 = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b`)
	genNum  = regexp.MustCompile(`[-+]?\d+(?:[.,]\d+)?\s*%?`)
)

// parseGeneric is the conservative fallback for an app's message that is
// clearly an alert: a status word in the headline (ALARM, FIRING, CRITICAL,
// "Triggered:", RESOLVED, ...) and something it is about (an ARN, a k8s/
// path, a known key=value label, a host name with digits, an IP address).
// Questions are never alerts.
func parseGeneric(d *doc) []draft {
	head := d.headline
	if head == "" || strings.HasSuffix(strings.TrimSpace(head), "?") {
		return nil
	}
	resolved := genResolvedAny.MatchString(head) || genResolvedHead.MatchString(head) || genResolvedIn.MatchString(head)
	firing := genFiringUpper.MatchString(head) || genFiringTitle.MatchString(head)
	if !resolved && !firing {
		return nil
	}

	// What it is about: the headline first, then the next lines.
	scope := head
	for i, ln := range d.lines {
		if i == 6 {
			break
		}
		scope += "\n" + ln
	}
	scope = stripURLs(scope)
	labels := labelTokens(scope)
	var res []string
	add := func(r string) {
		if r != "" && !slices.Contains(res, r) {
			res = append(res, r)
		}
	}
	for _, a := range genARN.FindAllString(scope, 10) {
		add(a)
	}
	for _, k := range genK8s.FindAllString(scope, 10) {
		add(strings.TrimRight(k, "./-"))
	}
	for _, r := range hook.TargetFromLabels(labels).Resources {
		add(r)
	}
	headNoURL := stripURLs(head)
	for _, h := range genHost.FindAllString(headNoURL, 10) {
		if hostLike(h) && !inAny(h, res) {
			add("host/" + h)
		}
	}
	for _, ip := range genIPv4.FindAllString(headNoURL, 5) {
		if !inAny(ip, res) {
			add("host/" + ip)
		}
	}
	if len(res) == 0 && len(labels) == 0 {
		return nil
	}

	// The rule is the headline without its status words, numbers and
	// targets: what stays the same between the alarm and the all-clear.
	rule := genResolvedIn.ReplaceAllString(headNoURL, "")
	for _, r := range res {
		rule = strings.ReplaceAll(rule, strings.TrimPrefix(r, "host/"), " ")
	}
	for k, v := range labels {
		rule = strings.ReplaceAll(rule, k+":"+v, " ")
		rule = strings.ReplaceAll(rule, k+"="+v, " ")
	}
	rule = genStatusWords.ReplaceAllString(rule, " ")
	rule = genNum.ReplaceAllString(rule, " ")
	rule = strings.Map(func(r rune) rune {
		if strings.ContainsRune("[](){}:;,.!*_`~|\"'–—-", r) {
			return ' '
		}
		return r
	}, rule)
	rule = strings.ToLower(strings.Join(strings.Fields(rule), " "))

	dr := draft{
		rule:      rule,
		title:     head,
		ident:     labels,
		resources: res,
		status:    engine.AlertFiring,
		severity:  severityWord(head),
	}
	for _, ln := range d.lines {
		if k, v, ok := keyValue(ln); ok && (strings.EqualFold(k, "severity") || strings.EqualFold(k, "priority")) {
			if s := engine.ParseSeverity(v); s != engine.SeverityUnknown {
				dr.severity = s
				break
			}
		}
	}
	if resolved {
		dr.status = engine.AlertResolved
	}
	for _, r := range res {
		// arn:partition:service:region:account:resource
		if p := strings.SplitN(r, ":", 6); len(p) == 6 && p[0] == "arn" {
			dr.region, dr.account = p[3], p[4]
			break
		}
	}
	dr.links = d.linksOn(0, len(d.lines), nil)
	var desc []string
	for _, ln := range d.lines {
		if c := cleanLine(ln); c != "" && c != head && len(desc) < 10 {
			desc = append(desc, ln)
		}
	}
	dr.description = strings.Join(desc, "\n")
	return []draft{dr}
}

// hostLike reports whether a dashed or dotted token names a machine rather
// than being a word ("follow-up") or a version ("v1.2"): it has a digit, and
// is not a bare version number or a file name.
func hostLike(s string) bool {
	if !strings.ContainsAny(s, "0123456789") {
		return false
	}
	if len(s) > 1 && s[0] == 'v' && strings.ContainsAny(s[1:2], "0123456789") {
		return false
	}
	for _, ext := range []string{".go", ".py", ".js", ".ts", ".yaml", ".yml", ".json", ".md", ".txt", ".log"} {
		if strings.HasSuffix(s, ext) {
			return false
		}
	}
	return true
}

func inAny(s string, rs []string) bool {
	for _, r := range rs {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

func stripURLs(s string) string { return bareURL.ReplaceAllString(s, " ") }
