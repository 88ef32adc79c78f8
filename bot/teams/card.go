package teams

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/nightshift-ops/nightshift/bot"
)

// ContentType is the content type of an Adaptive Card attachment.
const ContentType = "application/vnd.microsoft.card.adaptive"

const (
	schema        = "http://adaptivecards.io/schemas/adaptive-card.json"
	cardVersion   = "1.5"
	submitAction  = "Action.Submit"
	dataURIPrefix = "data:image/png;base64,"
)

// MaxCardBytes bounds the JSON of a card, image included (as json.Marshal
// writes it, which over-counts: it escapes <, > and & as \u003c). Teams has
// rejected whole messages over 28 KB with 413 MessageSizeTooBig (the limit
// has been raised since, but not everywhere at once); the 4 KB left are for
// the activity around the card: ids, Text as the summary, the envelope.
const MaxCardBytes = 24 << 10

// Rendering limits. Teams itself limits only the size of the message; the
// others keep cards readable and bound the work of fitting a card.
const (
	maxActions     = 6   // actions Teams shows on a card; the rest are dropped
	maxSections    = 20  // sections per card
	maxFacts       = 20  // fields per card
	maxHeader      = 150 // header
	maxTitle       = 150 // section and image titles
	maxFactTitle   = 100 // a field's title
	maxFactValue   = 500 // a field's value
	maxContext     = 500 // the context line
	maxButtonLabel = 75  // an action's title
	maxSummary     = 500 // Text
	minShrunk      = 200 // a text is cut to no fewer bytes; it is dropped instead
	ellipsis       = "…"
	truncatedNote  = "… _message truncated_"
)

// Card renders m as an Adaptive Card (version 1.5, full width in Teams), as
// the value encoding/json produces when it reads a card: maps, slices of
// any, strings and bools. It is pure: the same Message always gives
// the same card. The body holds, in order:
//
//   - the header: a large bold TextBlock (style heading);
//   - the text: one TextBlock;
//   - the fields: one FactSet (title, value), at most 20;
//   - each section (at most 20): a Container with a bold title TextBlock and
//     its text;
//   - "… message truncated" when content was cut;
//   - the image (a bold title TextBlock and an Image with a data: URI), or a
//     small subtle line saying that it was too large to show;
//   - the context line: a small subtle TextBlock.
//
// Buttons become the card's actions: Action.Submit, title = Label, data =
// {"action": ID, "value": Value}, style "positive" for "primary" and
// "destructive" for "danger". Teams shows six actions; the rest are dropped
// and the context line says how many. Action.Submit (not the Universal
// Actions' Action.Execute) because it works in every Teams client and
// scope and arrives as a plain message activity whose Value is the data:
// the bot needs to answer no invoke, and a slow or failed handler cannot
// make the card show an error. The handler answers by posting or updating
// messages, as on Slack.
//
// Markdown is converted to the subset Teams renders in TextBlocks and facts
// (see markdown): *bold* becomes **bold**, "• " and "* " list items become
// "- ", and line breaks become "\n\n" except inside lists. Code spans keep
// their backticks (Adaptive Cards have no inline code; Teams shows the
// backticks) and nothing inside them is converted.
//
// A card is kept under MaxCardBytes: the header, the context line, labels
// and fields are cut to fixed lengths, then the content is cut from the end
// (the last text shortened, or dropped when little would be left) and
// "… message truncated" added. Cuts end with "…". The image comes last: it
// is embedded only when the card with it still fits (ImageShown), so a large
// picture must be sent some other way. Action values are identifiers the
// action handler routes on and are never cut.
func Card(m bot.Message) map[string]any {
	card, _ := render(m)
	return card
}

// Attachment wraps Card(m) as a Bot Framework attachment.
func Attachment(m bot.Message) map[string]any {
	return map[string]any{"contentType": ContentType, "content": Card(m)}
}

// ImageShown tells whether Card(m) embeds m.Image; when it does not (no
// image, or too large for a card), the transport sends the picture another
// way if it has one.
func ImageShown(m bot.Message) bool {
	_, shown := render(m)
	return shown
}

// Text is the plain-text summary of m: the header, then the text without
// Markdown (emphasis stars and backticks go, links keep their text); the
// first section or the context line when both are empty, "Nightshift" when
// everything is. It is cut at 500 characters. It suits Activity.Summary
// (notifications, the activity feed) and clients that cannot show cards;
// as Activity.Text next to the card Teams would show it twice.
func Text(m bot.Message) string {
	var parts []string
	if h := oneLine(m.Header); h != "" {
		parts = append(parts, h)
	}
	if t := plainLines(m.Text); t != "" {
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		var candidates []string
		for _, s := range m.Sections {
			candidates = append(candidates, s.Title, s.Text)
		}
		candidates = append(candidates, m.Context)
		for _, c := range candidates {
			if t := plainLines(c); t != "" {
				parts = append(parts, t)
				break
			}
		}
	}
	if len(parts) == 0 {
		return "Nightshift"
	}
	return truncate(strings.Join(parts, "\n"), maxSummary)
}

// mention matches a Teams mention tag and what it encloses.
var mention = regexp.MustCompile(`(?is)<at(?:\s[^>]*)?>.*?</at>`)

// StripMentions removes the <at>…</at> mentions Teams puts in a message's
// text (the bot's own among them), turns non-breaking spaces into spaces,
// collapses runs of spaces and tabs and trims each line and the whole.
func StripMentions(text string) string {
	text = mention.ReplaceAllString(text, " ")
	text = strings.NewReplacer("&nbsp;", " ", "\u00a0", " ", "\r\n", "\n", "\r", "\n").Replace(text)
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// render builds the card and tells whether the image is in it.
func render(m bot.Message) (map[string]any, bool) {
	var head, content, tail []any
	truncated := false

	if h := oneLine(m.Header); h != "" {
		head = append(head, map[string]any{
			"type": "TextBlock", "text": truncate(h, maxHeader), "size": "Large", "weight": "Bolder",
			"style": "heading", "wrap": true,
		})
	}
	if t := markdown(m.Text); t != "" {
		content = append(content, textBlock(t))
	}
	var facts []any
	for _, f := range m.Fields {
		if fact := fact(f); fact != nil {
			facts = append(facts, fact)
		}
	}
	if len(facts) > maxFacts {
		facts, truncated = facts[:maxFacts], true
	}
	if len(facts) > 0 {
		content = append(content, map[string]any{"type": "FactSet", "facts": facts})
	}
	sections := m.Sections
	if len(sections) > maxSections {
		sections, truncated = sections[:maxSections], true
	}
	for _, s := range sections {
		if c := container(s); c != nil {
			content = append(content, c)
		}
	}

	note := oneLine(m.Context)
	var actions []any
	for _, b := range m.Buttons[:min(len(m.Buttons), maxActions)] {
		actions = append(actions, action(b))
	}
	if n := len(m.Buttons) - maxActions; n > 0 {
		note = strings.TrimSpace(fmt.Sprintf("%s … %d more actions not shown", note, n))
	}
	if c := markdown(note); c != "" {
		tail = append(tail, subtle(truncateMarkdown(c, maxContext)))
	}

	build := func(image []any) map[string]any {
		body := make([]any, 0, len(head)+len(content)+len(image)+len(tail)+1)
		body = append(body, head...)
		body = append(body, content...)
		if truncated {
			body = append(body, textBlock(truncatedNote))
		}
		body = append(body, image...)
		body = append(body, tail...)
		if len(body) == 0 {
			body = append(body, textBlock(Text(m)))
		}
		card := map[string]any{
			"$schema": schema,
			"type":    "AdaptiveCard",
			"version": cardVersion,
			"msteams": map[string]any{"width": "Full"},
			"body":    body,
		}
		if len(actions) > 0 {
			card["actions"] = actions
		}
		return card
	}

	// Cut the content from its end until the card fits.
	for len(content) > 0 {
		excess := size(build(nil)) - MaxCardBytes
		if excess <= 0 {
			break
		}
		if !truncated {
			truncated = true
			continue // the note counts too
		}
		last := len(content) - 1
		el := content[last]
		if n := textLen(el); n > minShrunk {
			// The longest cut that fits: JSON escaping makes the size of a
			// cut text hard to tell in advance.
			fits := func(n int) bool {
				content[last] = cut(el, n)
				return size(build(nil)) <= MaxCardBytes
			}
			if !fits(minShrunk) {
				content = content[:last]
				continue
			}
			lo, hi := minShrunk, n-1
			for lo < hi {
				if mid := (lo + hi + 1) / 2; fits(mid) {
					lo = mid
				} else {
					hi = mid - 1
				}
			}
			content[last] = cut(el, lo)
			break
		}
		if e, _ := el.(map[string]any); e["type"] == "FactSet" {
			if facts, _ := e["facts"].([]any); len(facts) > 1 {
				c := clone(e)
				c["facts"] = facts[:len(facts)-1]
				content[last] = c
				continue
			}
		}
		content = content[:last]
	}

	if m.Image == nil || len(m.Image.PNG) == 0 {
		return build(nil), false
	}
	if base64.StdEncoding.EncodedLen(len(m.Image.PNG)) < MaxCardBytes {
		if card := build(image(*m.Image)); size(card) <= MaxCardBytes {
			return card, true
		}
	}
	name := oneLine(m.Image.Title)
	if name == "" {
		name = oneLine(m.Image.Alt)
	}
	if name != "" {
		name = " “" + truncate(name, maxTitle) + "”"
	}
	kb := (len(m.Image.PNG) + 1023) / 1024
	return build([]any{subtle(fmt.Sprintf("Picture%s not shown: too large for a Teams card (%d KB).", name, kb))}), false
}

func textBlock(text string) map[string]any {
	return map[string]any{"type": "TextBlock", "text": text, "wrap": true}
}

func subtle(text string) map[string]any {
	return map[string]any{"type": "TextBlock", "text": text, "size": "Small", "isSubtle": true, "wrap": true, "spacing": "Medium"}
}

// fact renders a field; nil when it is empty.
func fact(f bot.Field) map[string]any {
	title := truncateMarkdown(inline(oneLine(f.Title)), maxFactTitle)
	value := truncateMarkdown(inline(oneLine(f.Value)), maxFactValue)
	if title == "" && value == "" {
		return nil
	}
	if value == "" {
		value = "—"
	}
	return map[string]any{"title": title, "value": value}
}

// container renders a section; nil when it is empty.
func container(s bot.Section) map[string]any {
	var items []any
	if title := oneLine(s.Title); title != "" {
		items = append(items, map[string]any{
			"type": "TextBlock", "text": truncateMarkdown(inline(title), maxTitle), "weight": "Bolder", "wrap": true,
		})
	}
	if text := markdown(s.Text); text != "" {
		tb := textBlock(text)
		if len(items) > 0 {
			tb["spacing"] = "Small"
		}
		items = append(items, tb)
	}
	if len(items) == 0 {
		return nil
	}
	return map[string]any{"type": "Container", "spacing": "Medium", "items": items}
}

// action renders a button. ID and Value are never cut; only the label is.
func action(b bot.Button) map[string]any {
	label := oneLine(b.Label)
	if label == "" {
		label = b.ID
	}
	a := map[string]any{
		"type":  submitAction,
		"title": truncate(label, maxButtonLabel),
		"data":  map[string]any{"action": b.ID, "value": b.Value},
	}
	switch b.Style {
	case "primary":
		a["style"] = "positive"
	case "danger":
		a["style"] = "destructive"
	}
	return a
}

// image renders a picture as a title and an Image with a data: URI, which
// Teams lets users expand.
func image(img bot.Image) []any {
	var els []any
	title := oneLine(img.Title)
	if title != "" {
		els = append(els, map[string]any{
			"type": "TextBlock", "text": truncate(title, maxTitle), "weight": "Bolder", "wrap": true, "spacing": "Medium",
		})
	}
	alt := oneLine(img.Alt)
	if alt == "" {
		alt = title
	}
	el := map[string]any{
		"type":    "Image",
		"url":     dataURIPrefix + base64.StdEncoding.EncodeToString(img.PNG),
		"msteams": map[string]any{"allowExpand": true},
	}
	if alt != "" {
		el["altText"] = alt
	}
	return append(els, el)
}

// textLen is the length of the text cut would cut in a content element:
// a TextBlock's, or a Container's last; 0 for other elements.
func textLen(el any) int {
	e, _ := el.(map[string]any)
	switch e["type"] {
	case "TextBlock":
		t, _ := e["text"].(string)
		return len(t)
	case "Container":
		if items, _ := e["items"].([]any); len(items) > 0 {
			return textLen(items[len(items)-1])
		}
	}
	return 0
}

// cut returns a copy of a content element with its text (see textLen) cut
// to about n bytes and "…".
func cut(el any, n int) any {
	e, _ := el.(map[string]any)
	c := clone(e)
	switch e["type"] {
	case "TextBlock":
		t, _ := e["text"].(string)
		c["text"] = cutMarkdown(t, n)
	case "Container":
		items, _ := e["items"].([]any)
		c["items"] = append(append([]any{}, items[:len(items)-1]...), cut(items[len(items)-1], n))
	}
	return c
}

func clone(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// size is the length of v's JSON as json.Marshal writes it.
func size(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0 // cannot happen: cards hold maps, slices, strings and bools
	}
	return len(b)
}

// links finds the Markdown links [text](url) in s: ends[i] is the end of
// the link that starts at i, 0 when none does. The text holds no brackets
// or line breaks, the URL no ")" or spaces. It takes linear time, where
// trying a regular expression at every "[" would take quadratic time on
// long runs of brackets.
func links(s string) (ends []int) {
	ends = make([]int, len(s))
	// text[i] and url[i] are where, from i on, a link's text or URL stops.
	text, url := make([]int, len(s)+1), make([]int, len(s)+1)
	text[len(s)], url[len(s)] = len(s), len(s)
	for i := len(s) - 1; i >= 0; i-- {
		text[i], url[i] = text[i+1], url[i+1]
		switch s[i] {
		case '[', ']', '\n':
			text[i] = i
		}
		switch s[i] {
		case ')', ' ', '\t', '\n', '\r', '\f':
			url[i] = i
		}
	}
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '[' {
			continue
		}
		j := text[i+1]
		if j == i+1 || j+2 >= len(s) || s[j] != ']' || s[j+1] != '(' {
			continue
		}
		if k := url[j+2]; k > j+2 && k < len(s) && s[k] == ')' {
			ends[i] = k + 1
		}
	}
	return ends
}

// numbered matches an ordered list item.
var numbered = regexp.MustCompile(`^\d{1,9}[.)] `)

// markdown converts Nightshift's Markdown to the subset Teams renders in
// Adaptive Card TextBlocks (**bold**, _italic_, "- " and "1. " lists,
// [text](url)). Teams breaks lines on "\n" inside lists only; elsewhere a
// line break needs "\n\n". So consecutive list items, and indented lines
// that continue one, are joined with "\n", and all other lines with "\n\n"
// (blank lines collapse). Inline conversion is left to inline.
func markdown(s string) string {
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(strings.TrimSpace(s))
	var b strings.Builder
	inList := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, " \t")
		if strings.TrimSpace(line) == "" {
			continue
		}
		item, cont := false, false
		switch {
		case strings.HasPrefix(line, "- "), strings.HasPrefix(line, "* "):
			line, item = "- "+inline(strings.TrimLeft(line[2:], " ")), true
		case strings.HasPrefix(line, "• "):
			line, item = "- "+inline(strings.TrimLeft(line[len("• "):], " ")), true
		case numbered.MatchString(line):
			line, item = inline(line), true
		case inList && (line[0] == ' ' || line[0] == '\t'):
			line, cont = inline(line), true
		default: // indented, it would be a code block, which Teams lacks
			line = inline(strings.TrimLeft(line, " \t"))
		}
		if b.Len() > 0 {
			if inList && (item || cont) {
				b.WriteString("\n")
			} else {
				b.WriteString("\n\n")
			}
		}
		b.WriteString(line)
		inList = item || cont
	}
	return b.String()
}

// inline converts one line: a *bold* span (single stars, at word
// boundaries, on one line) becomes **bold**; code spans and links are
// copied as they are, and so are **bold** and _italic_.
func inline(s string) string {
	// mask hides code spans and links from the search for stars.
	mask := []byte(s)
	ends := links(s)
	hide := func(from, to int) {
		for k := from; k < to; k++ {
			mask[k] = 'x'
		}
	}
	for i := 0; i < len(s); {
		switch {
		case s[i] == '`':
			end := strings.IndexByte(s[i+1:], '`')
			if end < 0 { // unclosed: the rest is code
				hide(i, len(s))
				i = len(s)
				continue
			}
			hide(i, i+end+2)
			i += end + 2
		case ends[i] > 0:
			hide(i, ends[i])
			i = ends[i]
		default:
			i++
		}
	}
	// double holds the single stars to write as "**"; run is the length
	// of the run of stars at i.
	var double []int
	run := func(i int) int {
		j := i
		for j < len(mask) && mask[j] == '*' {
			j++
		}
		return j - i
	}
	for i := 0; i < len(mask); {
		if mask[i] != '*' {
			i++
			continue
		}
		if n := run(i); n > 1 {
			i += n // **bold** already, or a rule of stars
			continue
		}
		if i+1 >= len(mask) || space(mask[i+1]) || (i > 0 && word(mask[i-1])) {
			i++
			continue
		}
		closer := -1
		for k := i + 1; k < len(mask); k++ {
			if mask[k] != '*' {
				continue
			}
			if n := run(k); n > 1 {
				k += n - 1
				continue
			}
			if !space(mask[k-1]) && (k+1 == len(mask) || !word(mask[k+1])) {
				closer = k
			}
			break
		}
		if closer < 0 {
			i++
			continue
		}
		double = append(double, i, closer)
		i = closer + 1
	}
	if len(double) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, k := range double {
		b.WriteString(s[last:k])
		b.WriteString("**")
		last = k + 1
	}
	b.WriteString(s[last:])
	return b.String()
}

func space(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

func word(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// plainLines is plainText for each line of s, without empty lines.
func plainLines(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n") {
		if t := plainText(oneLine(l)); t != "" {
			lines = append(lines, t)
		}
	}
	return strings.Join(lines, "\n")
}

// plainText strips Markdown: emphasis stars and backticks go, links keep
// their text.
func plainText(s string) string {
	var b strings.Builder
	ends := links(s)
	for i := 0; i < len(s); {
		if ends[i] > 0 {
			b.WriteString(s[i+1 : strings.IndexByte(s[i:], ']')+i])
			i = ends[i]
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

// truncate cuts s to at most n runes, ending with "…" when it cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimRight(prefix(s, n-1), " \n") + ellipsis
}

// truncateMarkdown is truncate for converted Markdown: the cut leaves no
// half link, code span or bold marker.
func truncateMarkdown(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimRight(safeCut(prefix(s, n-1)), " \n") + ellipsis
}

// cutMarkdown cuts converted Markdown to at most n bytes plus "…",
// preferring a line break, then a space, in the last half.
func cutMarkdown(s string, n int) string {
	if len(s) <= n {
		return s
	}
	head := s[:n]
	for len(head) > 0 && !utf8.RuneStart(s[len(head)]) {
		head = head[:len(head)-1]
	}
	if i := strings.LastIndexByte(head, '\n'); i > len(head)/2 {
		head = head[:i]
	} else if i := strings.LastIndexByte(head, ' '); i > len(head)/2 {
		head = head[:i]
	}
	if cut := safeCut(head); cut != "" {
		head = cut
	}
	return strings.TrimRight(head, " \n") + ellipsis
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

// openLink matches the start of a link cut off at the end of the input.
var openLink = regexp.MustCompile(`\[(?:[^\[\]\n]*|[^\[\]\n]+\]\([^)\s]*)$`)

// safeCut shortens a cut-off prefix of Markdown so that it does not end
// inside a code span, a link or a bold span.
func safeCut(s string) string {
	if strings.Count(s, "`")%2 == 1 {
		s = s[:strings.LastIndexByte(s, '`')]
	}
	if loc := openLink.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	// An odd number of "**" outside code spans: cut at the last one.
	n, last, code := 0, -1, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '`':
			code = !code
		case !code && strings.HasPrefix(s[i:], "**"):
			n, last = n+1, i
			i++
		}
	}
	if n%2 == 1 {
		s = s[:last]
	}
	return s
}
