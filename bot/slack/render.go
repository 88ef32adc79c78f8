package slack

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/nightshift-ops/nightshift/bot"
)

// Block Kit limits (https://docs.slack.dev/reference/block-kit). Slack
// rejects the whole message when one is exceeded, so the renderer truncates
// instead. Lengths are counted in characters (runes), as slack-go does.
const (
	maxBlocks        = 50   // blocks per message
	maxText          = 3000 // section and context text
	maxHeader        = 150  // header text
	maxFields        = 10   // fields per section
	maxFieldText     = 2000 // one field
	maxButtons       = 25   // elements per actions block
	maxButtonLabel   = 75   // button text
	maxFallback      = 500  // notification text; Slack allows more, nobody reads it
	ellipsis         = "…"
	truncatedSection = "… _message truncated_"
)

// Blocks renders m as Slack Block Kit blocks, in this order: a header, the
// text, the fields (two columns, at most ten per section), one section per
// m.Sections entry (bold title, then its text), the buttons as one actions
// block and the context line. It is pure: the same Message always gives the
// same blocks.
//
// Markdown is converted to Slack mrkdwn: **bold** becomes *bold*,
// [text](url) becomes <url|text>, "- " list items become "• ", and &, < and
// > are escaped; code spans are kept as they are apart from escaping.
//
// Over-long content is cut to Block Kit's limits rather than rejected: the
// header at 150 characters, a text over 3000 characters is split into
// several sections, a message over 50 blocks loses its last content blocks
// (a "… message truncated" section says so), and buttons past the 25th are
// dropped (the context line says how many). Cuts end with "…".
//
// m.Image yields no block: an image block needs a public URL or a Slack
// file id, and a bot.Image only carries PNG bytes. The transport uploads
// images separately (files.uploadV2 into the thread).
func Blocks(m bot.Message) []slack.Block {
	var head, content, tail []slack.Block

	if h := oneLine(m.Header); h != "" {
		head = append(head, slack.NewHeaderBlock(plain(truncate(h, maxHeader))))
	}

	for _, part := range split(mrkdwn(m.Text), maxText) {
		content = append(content, section(part))
	}
	for i := 0; i < len(m.Fields); i += maxFields {
		var fs []*slack.TextBlockObject
		for _, f := range m.Fields[i:min(i+maxFields, len(m.Fields))] {
			if t := field(f); t != "" {
				fs = append(fs, md(t))
			}
		}
		if len(fs) > 0 {
			content = append(content, slack.NewSectionBlock(nil, fs, nil))
		}
	}
	for _, s := range m.Sections {
		text := mrkdwn(s.Text)
		if title := oneLine(s.Title); title != "" {
			text = strings.TrimRight("*"+mrkdwn(title)+"*\n"+text, "\n")
		}
		for _, part := range split(text, maxText) {
			content = append(content, section(part))
		}
	}

	note := m.Context
	if len(m.Buttons) > 0 {
		var els []slack.BlockElement
		for _, b := range m.Buttons[:min(len(m.Buttons), maxButtons)] {
			els = append(els, button(b))
		}
		tail = append(tail, slack.NewActionBlock("", els...))
		if n := len(m.Buttons) - maxButtons; n > 0 {
			note = strings.TrimSpace(fmt.Sprintf("%s … %d more actions not shown", note, n))
		}
	}
	if c := mrkdwn(note); c != "" {
		tail = append(tail, slack.NewContextBlock("", md(truncateMrkdwn(c, maxText))))
	}

	if room := maxBlocks - len(head) - len(tail); len(content) > room {
		content = append(content[:room-1], section(truncatedSection))
	}
	blocks := make([]slack.Block, 0, len(head)+len(content)+len(tail))
	blocks = append(blocks, head...)
	blocks = append(blocks, content...)
	return append(blocks, tail...)
}

// Fallback is the plain text Slack shows in notifications and where blocks
// cannot be shown: the header, or else the first line of the text (or of
// the first section), without Markdown. It is not escaped; the Poster
// escapes it when sending.
func Fallback(m bot.Message) string {
	candidates := []string{m.Header, firstLine(m.Text)}
	for _, s := range m.Sections {
		candidates = append(candidates, s.Title, firstLine(s.Text))
	}
	candidates = append(candidates, m.Context)
	for _, c := range candidates {
		if t := plainText(oneLine(c)); t != "" {
			return truncate(t, maxFallback)
		}
	}
	return "Nightshift"
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func md(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(md(text), nil, nil)
}

// field renders one two-column field as "*Title*\nValue".
func field(f bot.Field) string {
	title, value := oneLine(f.Title), mrkdwn(f.Value)
	switch {
	case title == "":
		return truncateMrkdwn(value, maxFieldText)
	case value == "":
		return truncateMrkdwn("*"+mrkdwn(title)+"*", maxFieldText)
	}
	return truncateMrkdwn("*"+mrkdwn(title)+"*\n"+value, maxFieldText)
}

// button renders b. Its action_id and value are identifiers the action
// handler routes on, so they are never cut; only the label is.
func button(b bot.Button) *slack.ButtonBlockElement {
	label := oneLine(b.Label)
	if label == "" {
		label = b.ID
	}
	el := slack.NewButtonBlockElement(b.ID, b.Value, plain(truncate(label, maxButtonLabel)))
	switch b.Style {
	case "primary":
		el = el.WithStyle(slack.StylePrimary)
	case "danger":
		el = el.WithStyle(slack.StyleDanger)
	}
	return el
}

// link matches a Markdown link at the start of the input.
var link = regexp.MustCompile(`^\[([^\]\n]+)\]\(([^)\s]+)\)`)

// mrkdwn converts Nightshift's Markdown subset to Slack mrkdwn and escapes
// the characters Slack treats as control characters.
func mrkdwn(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	lineStart := true
	for i := 0; i < len(s); {
		if lineStart && strings.HasPrefix(s[i:], "- ") {
			b.WriteString("• ")
			i += 2
			lineStart = false
			continue
		}
		lineStart = false
		switch c := s[i]; {
		case c == '`':
			// A code span: copied as is (escaped), no formatting inside.
			end := strings.IndexByte(s[i+1:], '`')
			if end < 0 {
				b.WriteString(escape(s[i:]))
				return b.String()
			}
			b.WriteString(escape(s[i : i+end+2]))
			i += end + 2
		case strings.HasPrefix(s[i:], "**"):
			b.WriteByte('*')
			i += 2
		case c == '[' && link.MatchString(s[i:]):
			g := link.FindStringSubmatch(s[i:])
			fmt.Fprintf(&b, "<%s|%s>", escapeURL(g[2]), escape(g[1]))
			i += len(g[0])
		case c == '&':
			b.WriteString("&amp;")
			i++
		case c == '<':
			b.WriteString("&lt;")
			i++
		case c == '>':
			b.WriteString("&gt;")
			i++
		default:
			b.WriteByte(c) // a byte of UTF-8: the whole rune is copied in turn
			lineStart = c == '\n'
			i++
		}
	}
	return b.String()
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escape(s string) string { return escaper.Replace(s) }

// escapeURL escapes a link target; a "|" would end it early.
func escapeURL(u string) string { return strings.ReplaceAll(escape(u), "|", "%7C") }

// plainText strips Markdown for notification text: emphasis markers and
// backticks go, links keep their text.
func plainText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if g := link.FindStringSubmatch(s[i:]); g != nil {
			b.WriteString(g[1])
			i += len(g[0])
			continue
		}
		if c := s[i]; c != '*' && c != '`' {
			b.WriteByte(c)
		}
		i++
	}
	return strings.TrimSpace(b.String())
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// truncate cuts s to at most n runes, ending with "…" when it cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimRight(prefix(s, n-1), " \n") + ellipsis
}

// truncateMrkdwn is truncate for converted mrkdwn: the cut never leaves half
// an escape (&amp;) or half a link (<url|text>).
func truncateMrkdwn(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimRight(safeCut(prefix(s, n-1)), " \n") + ellipsis
}

// split cuts converted mrkdwn into parts of at most n runes, preferring
// line breaks, then spaces; each cut part but the last ends with "…".
func split(s string, n int) []string {
	var parts []string
	for s != "" {
		if utf8.RuneCountInString(s) <= n {
			parts = append(parts, s)
			break
		}
		head := prefix(s, n-1)
		if i := strings.LastIndexByte(head, '\n'); i > len(head)/2 {
			head = head[:i]
		} else if i := strings.LastIndexByte(head, ' '); i > len(head)/2 {
			head = head[:i]
		}
		head = safeCut(head)
		if head == "" { // a single link or escape longer than n: cut it anyway
			head = prefix(s, n-1)
		}
		parts = append(parts, strings.TrimRight(head, " \n")+ellipsis)
		s = strings.TrimLeft(s[len(head):], " \n")
	}
	return parts
}

// prefix returns the first n runes of s.
func prefix(s string, n int) string {
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		if size == 0 {
			break
		}
		i += size
	}
	return s[:i]
}

// safeCut shortens a cut-off prefix of mrkdwn so that it does not end
// inside an escape or a link.
func safeCut(s string) string {
	if i := strings.LastIndexByte(s, '&'); i >= 0 && !strings.Contains(s[i:], ";") {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '<'); i >= 0 && !strings.Contains(s[i:], ">") {
		s = s[:i]
	}
	return s
}
