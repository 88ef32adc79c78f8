package chatalert

import (
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

// doc is a message made readable: chat markup resolved to plain text, every
// URL collected, the headline picked out.
type doc struct {
	m *Message

	headline string     // first attachment title, else first line of the text, else of the blocks (cleaned)
	lines    []string   // every non-empty line of every part, trimmed, in order, links replaced by their labels
	lineURLs [][]string // the URLs on each line
	all      string     // lines joined by "\n"
	links    []engine.Link
	fields   []Field // attachment fields, cleaned
	footers  []string
	titleURL string // first attachment title link
	colors   []string
}

func newDoc(m *Message) *doc {
	d := &doc{m: m}
	var heads []string
	add := func(s string) string {
		p := clean(truncate(s, maxText))
		for _, l := range p.links {
			d.links = hook.AppendLink(d.links, l.Text, l.URL)
		}
		var text []string
		for ln := range strings.SplitSeq(p.text, "\n") {
			if len(d.lines) >= maxLines {
				break
			}
			t, urls := splitMarkers(ln)
			text = append(text, t)
			if t = strings.TrimSpace(t); t != "" || len(urls) > 0 {
				d.lines = append(d.lines, t)
				d.lineURLs = append(d.lineURLs, urls)
			}
		}
		return strings.Join(text, "\n")
	}

	atts := m.Attachments
	if len(atts) > maxAttachments {
		atts = atts[:maxAttachments]
	}
	text := add(m.Text)
	for _, a := range atts {
		add(a.Pretext)
		title := add(a.Title)
		if a.TitleLink != "" {
			u := html.UnescapeString(strings.TrimSpace(a.TitleLink))
			d.links = hook.AppendLink(d.links, cleanLine(title), u)
			if d.titleURL == "" {
				d.titleURL = u
			}
		}
		if t := firstLine(title); t != "" {
			heads = append(heads, t)
		}
		body := add(a.Text)
		if strings.TrimSpace(title+body) == "" {
			// The fallback repeats the title and text; read it only when
			// they are missing.
			if t := firstLine(add(a.Fallback)); t != "" {
				heads = append(heads, t)
			}
		}
		for i, f := range a.Fields {
			if i == 50 {
				break
			}
			ft, fv := clean(truncate(f.Title, 1024)), clean(truncate(f.Value, maxText))
			for _, l := range append(ft.links, fv.links...) {
				d.links = hook.AppendLink(d.links, l.Text, l.URL)
			}
			title, _ := splitMarkers(ft.text)
			value, urls := splitMarkers(fv.text)
			f := Field{Title: cleanLine(title), Value: strings.TrimSpace(value)}
			d.fields = append(d.fields, f)
			if (f.Title != "" || f.Value != "") && len(d.lines) < maxLines {
				d.lines = append(d.lines, strings.TrimSpace(f.Title+": "+oneLine(f.Value, maxText)))
				d.lineURLs = append(d.lineURLs, urls)
			}
		}
		if a.Footer != "" {
			f, _ := splitMarkers(clean(truncate(a.Footer, 1024)).text)
			d.footers = append(d.footers, cleanLine(f))
		}
		if a.Color != "" {
			d.colors = append(d.colors, strings.ToLower(strings.TrimSpace(a.Color)))
		}
	}
	blocks := add(m.Blocks)

	switch {
	case len(heads) > 0:
		d.headline = heads[0]
	case firstLine(text) != "":
		d.headline = firstLine(text)
	default:
		d.headline = firstLine(blocks)
	}
	d.all = strings.Join(d.lines, "\n")
	return d
}

// field returns the value of the first attachment field whose title is one
// of names (case-insensitive), or "".
func (d *doc) field(names ...string) string {
	for _, f := range d.fields {
		for _, n := range names {
			if strings.EqualFold(f.Title, n) && f.Value != "" {
				return f.Value
			}
		}
	}
	return ""
}

// footerHas reports whether an attachment footer starts with prefix.
func (d *doc) footerHas(prefix string) bool {
	for _, f := range d.footers {
		if strings.HasPrefix(strings.ToLower(f), strings.ToLower(prefix)) {
			return true
		}
	}
	return false
}

// linkMatching returns the first link whose URL matches re, with its submatches.
func (d *doc) linkMatching(re *regexp.Regexp) (engine.Link, []string) {
	for _, l := range d.links {
		if m := re.FindStringSubmatch(l.URL); m != nil {
			return l, m
		}
	}
	return engine.Link{}, nil
}

// linksOn appends the URLs on lines [from, to) of d.lines to links, each
// named by its label in the message, else by the key of its line ("Runbook:
// <url>"), else nothing.
func (d *doc) linksOn(from, to int, links []engine.Link) []engine.Link {
	for i := max(from, 0); i < to && i < len(d.lineURLs); i++ {
		key := ""
		if k, _, ok := keyValue(d.lines[i]); ok && len(k) <= 20 {
			key = k
		}
		for _, u := range d.lineURLs[i] {
			text := key
			for _, l := range d.links {
				if l.URL == u && l.Text != "" && !strings.HasPrefix(l.Text, ":") {
					text = l.Text
					break
				}
			}
			links = hook.AppendLink(links, text, u)
		}
	}
	return links
}

// part is one piece of a message's text, cleaned: link targets are kept
// behind their labels between urlStart and urlEnd, for splitMarkers.
type part struct {
	text  string
	links []engine.Link
}

const (
	urlStart = "\x01"
	urlEnd   = "\x02"
)

var (
	marker = regexp.MustCompile(urlStart + `([^` + urlEnd + `]*)` + urlEnd)
	// Slack's <url|label>, <url>, <@U123>, <#C123|name>, <!here>.
	slackLink = regexp.MustCompile(`<([^<>|\s]+)(?:\|([^<>]*))?>`)
	// Markdown [label](url), as Datadog, Teams and Grafana write links.
	mdLink  = regexp.MustCompile(`\[([^\[\]\n]*)\]\((https?://[^()\s]+)\)`)
	bareURL = regexp.MustCompile(`https?://[^\s<>"'|` + "`" + urlStart + urlEnd + `]+`)
)

// splitMarkers returns a cleaned line without its link markers, and the URLs
// on it (the marked ones and the bare ones).
func splitMarkers(line string) (string, []string) {
	var urls []string
	for _, m := range marker.FindAllStringSubmatch(line, -1) {
		urls = append(urls, m[1])
	}
	line = marker.ReplaceAllString(line, "")
	for _, u := range bareURL.FindAllString(line, -1) {
		urls = append(urls, trimURL(u))
	}
	return line, urls
}

func trimURL(u string) string { return strings.TrimRight(u, ".,;:!?)]}*_") }

// clean resolves chat markup: Slack links become their label (or their URL
// when they have none), mentions their label, markdown links their label;
// every http(s) URL is collected; HTML entities are decoded.
func clean(s string) part {
	var p part
	if s == "" {
		return p
	}
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", urlStart, "", urlEnd, "").Replace(s)
	s = slackLink.ReplaceAllStringFunc(s, func(x string) string {
		sm := slackLink.FindStringSubmatch(x)
		target, label := sm[1], sm[2]
		switch {
		case strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://"):
			u := html.UnescapeString(target)
			p.links = append(p.links, engine.Link{Text: cleanLine(html.UnescapeString(label)), URL: u})
			if strings.TrimSpace(label) == "" {
				return " " + u + " "
			}
			return label + urlStart + u + urlEnd
		case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"),
			strings.HasPrefix(target, "!"), strings.HasPrefix(target, "mailto:"):
			return label
		}
		return x
	})
	s = html.UnescapeString(s)
	s = mdLink.ReplaceAllStringFunc(s, func(x string) string {
		sm := mdLink.FindStringSubmatch(x)
		p.links = append(p.links, engine.Link{Text: cleanLine(sm[1]), URL: sm[2]})
		if strings.TrimSpace(sm[1]) == "" {
			return " " + sm[2] + " "
		}
		return sm[1] + urlStart + sm[2] + urlEnd
	})
	for _, u := range bareURL.FindAllString(marker.ReplaceAllString(s, ""), -1) {
		p.links = append(p.links, engine.Link{URL: trimURL(u)})
	}
	p.text = s
	return p
}

var (
	leadingShortcodes = regexp.MustCompile(`^(\s*:[a-z0-9_+\-]+:)+\s*`)
	spaces            = regexp.MustCompile(`\s+`)
)

// cleanLine strips a line's chat decoration: leading emoji and shortcodes,
// bullets, and the *bold* / _italic_ / ~strike~ / `code` markers around it.
func cleanLine(s string) string {
	s = strings.TrimSpace(s)
	s = leadingShortcodes.ReplaceAllString(s, "")
	s = strings.TrimLeftFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("[(#<{\"'", r))
	})
	s = strings.TrimRight(s, " *_~`")
	s = strings.ReplaceAll(s, "**", "")
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

func firstLine(s string) string {
	for ln := range strings.SplitSeq(s, "\n") {
		if ln = cleanLine(ln); ln != "" {
			return ln
		}
	}
	return ""
}

// oneLine collapses s to one line of at most n bytes (cut at a rune boundary).
func oneLine(s string, n int) string {
	return truncate(strings.TrimSpace(spaces.ReplaceAllString(s, " ")), n)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// kvLine reads "*Key:* value", "- Key: value", "• *key:* `value`" lines.
var kvLine = regexp.MustCompile(`^\*?([A-Za-z_][A-Za-z0-9_ ./\-]{0,40}?)\*?\s*:\*?(?:\s+(.*))?$`)

// keyValue splits a line into a key and a value, ignoring bullets, bold and
// code markers; ok is false for lines that are not "key: value".
func keyValue(line string) (key, value string, ok bool) {
	line = strings.TrimSpace(line)
	line = leadingShortcodes.ReplaceAllString(line, "")
	line = strings.TrimLeft(line, "•◦▪-–*> \t")
	m := kvLine.FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	return strings.TrimSpace(m[1]), unquote(m[2]), true
}

// unquote removes code and bold markers around a value.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	for range 3 {
		t := strings.Trim(s, "`*_")
		t = strings.TrimSpace(t)
		if t == s {
			break
		}
		s = t
	}
	return s
}

// isBullet reports whether a line is a list item.
func isBullet(line string) bool {
	line = strings.TrimSpace(line)
	for _, b := range []string{"•", "◦", "▪", "- ", "– ", "* "} {
		if strings.HasPrefix(line, b) {
			return true
		}
	}
	return false
}

// severityWord finds an explicit severity in s: critical, warning, sev2, P1,
// high, ...; it returns SeverityUnknown when s states none.
func severityWord(s string) engine.Severity {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-')
	}) {
		// "sev-2" is one word; "CRITICAL-db-down" is a severity and a name.
		for _, c := range append([]string{w}, strings.Split(w, "-")...) {
			switch strings.ToLower(c) {
			case "alert", "page", "ok", "low", "notice", "debug", "info", "error", "err", "high", "major", "minor", "medium", "moderate", "average":
				continue // too common in prose to be a severity on their own
			}
			if sev := engine.ParseSeverity(c); sev != engine.SeverityUnknown {
				return sev
			}
		}
	}
	return engine.SeverityUnknown
}

// labelToken is key:value or key=value, as tags and label sets are written.
var labelToken = regexp.MustCompile(`(?:^|[\s,{(\[])([a-zA-Z_][a-zA-Z0-9_.\-/]{0,62})\s?[:=]\s?"?([^\s,})\]"]{1,200})`)

// knownKeys are the tag and label names that name a target; generic and
// Datadog text is only mined for these, so that prose ("note: ...") is not
// taken for labels.
var knownKeys = []string{
	"host", "hostname", "instance", "service", "app", "env", "environment", "region", "cluster",
	"namespace", "deployment", "statefulset", "daemonset", "pod", "container", "container_name",
	"kube_namespace", "kube_deployment", "kube_stateful_set", "kube_daemon_set", "pod_name",
	"kube_cluster_name", "availability-zone", "availability_zone", "account", "aws_account",
	"account_id", "resource", "component", "job", "queue", "db", "database", "team",
}

// labelTokens returns the known key:value pairs written in s.
func labelTokens(s string) map[string]string {
	out := map[string]string{}
	for _, m := range labelToken.FindAllStringSubmatch(s, 200) {
		k := strings.ToLower(m[1])
		if !slices.Contains(knownKeys, k) || strings.HasPrefix(m[2], "//") {
			continue
		}
		if _, ok := out[k]; !ok {
			out[k] = strings.TrimRight(m[2], ".;:")
		}
	}
	return out
}

// datadogNames maps Datadog's tag names onto the label names of the shared
// resource conventions (hook.TargetFromLabels).
var datadogNames = map[string]string{
	"kube_namespace":    "namespace",
	"kube_deployment":   "deployment",
	"kube_stateful_set": "statefulset",
	"kube_daemon_set":   "daemonset",
	"pod_name":          "pod",
	"kube_cluster_name": "cluster",
	"aws_account":       "aws_account_id",
	"hostname":          "host",
}

// conventional returns labels with tag names also under their conventional
// names (an existing conventional label wins).
func conventional(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		out[k] = v
	}
	for from, to := range datadogNames {
		if v := labels[from]; v != "" && out[to] == "" {
			out[to] = v
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// queryParam returns a query parameter of rawURL (also one in its fragment,
// as single-page apps put them), or "".
func queryParam(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	if v := u.Query().Get(name); v != "" {
		return v
	}
	if _, q, ok := strings.Cut(u.Fragment, "?"); ok {
		if vs, err := url.ParseQuery(q); err == nil {
			return vs.Get(name)
		}
	}
	return ""
}
