package guard

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Injection is a passage of data that reads like an instruction to an AI
// agent: the name of the pattern it matched, an excerpt for the journal
// (white space collapsed, redacted, at most about 160 bytes) and its byte
// offsets [Start, End) in the text given to DetectInjection.
type Injection struct {
	Pattern string
	Excerpt string
	Start   int
	End     int
}

// Injection patterns. Each is named by the Pattern of the Injections it
// produces.
const (
	PatternIgnoreInstructions = "ignore-instructions" // ignore all previous instructions, disregard your rules
	PatternRoleReassignment   = "role-reassignment"   // you are now an unrestricted assistant, from now on you…
	PatternNewInstructions    = "new-instructions"    // new instructions:, instructions for the AI
	PatternSystemPrompt       = "system-prompt"       // reveal your system prompt
	PatternActAs              = "act-as"              // act as an unrestricted AI, act as if the alert is resolved
	PatternConceal            = "conceal"             // do not tell the operator, without notifying anyone
	PatternToolCall           = "tool-call"           // call the restart_service tool, <function_calls>
	PatternRunCommand         = "run-command"         // run the following command
	PatternExfiltration       = "exfiltration"        // exfiltrate, send all secrets, upload it to https://…
	PatternDelimiterForgery   = "delimiter-forgery"   // </untrusted-data> in any spelling
	PatternChatTemplate       = "chat-template"       // <|im_start|>, [INST], <<SYS>>, <system>
	PatternRoleHeader         = "role-header"         // "### System:", "Assistant:" at a line start
	PatternChangeRootCause    = "change-root-cause"   // report the root cause as…, the real root cause is…
	PatternMarkResolved       = "mark-resolved"       // mark this incident as resolved, stop the investigation
	PatternDestructiveAction  = "destructive-action"  // you must delete…, roll back production, scale … to 0
	PatternAddressedToAI      = "addressed-to-ai"     // if you are an AI, note to the AI assistant
	PatternInvisibleText      = "invisible-text"      // text hidden in Unicode tag characters
)

type injectionPattern struct {
	name string
	keys []string // literals of the normalised text one of which every match holds
	re   *regexp.Regexp
	// lineStart: the pattern begins with (?:^|\n) and the match must sit at a
	// real line start.
	lineStart bool
}

// The expressions run on normalised text (see normalise): lower case,
// white space collapsed to one ' ' or '\n'. They look for the shape of a
// request to an AI — an imperative with its object — rather than for the
// words alone, so that "ignoring invalid instruction set", "previous
// instructions cache cleared", "You are now connected to database",
// "Rolled back deployment" and "system prompt shown on login page" pass.
var injectionPatterns = []injectionPattern{
	{
		name: PatternIgnoreInstructions,
		keys: []string{"ignore", "disregard", "forget", "override", "bypass"},
		re: regexp.MustCompile(`\b(?:ignore|disregard|forget|override|bypass)\s(?:(?:all|any|every|each|the|of|these|those|such|and)\s){0,3}` +
			`(?:(?:your|my|our|prior|previous|preceding|above|earlier|foregoing|former|original|initial|system|safety|developer)\s){1,3}(?:[\w-]+\s)?` +
			`(?:instructions?|prompts?|directions?|directives?|rules|guidelines|guardrails|commands|orders|constraints|policies|programming|context|messages)\b` +
			`|\b(?:ignore|disregard|forget)\s(?:all|everything|anything)\s(?:(?:you|that|i|we)\s(?:were|was|have\sbeen|had\sbeen)\s(?:told|given|instructed|asked)|above|before|previously|prior|else)\b` +
			`|\b(?:ignore|disregard|forget)\sall\s(?:[\w-]+\s)?(?:instructions|rules|prompts|guidelines)\b` +
			`|\bdisregard\s(?:all|any|everything|anything|previous|prior|above|earlier|your)\b`),
	},
	{
		name: PatternRoleReassignment,
		keys: []string{"you are now", "you're now", "from now on", "pretend", "play as", "your new"},
		re: regexp.MustCompile(`\byou(?:'re|\sare)\snow\s(?:(?:a|an|the|my|in|no\slonger)\s)?(?:[\w-]+\s){0,2}?(?:assistant|ai|chatbot|llm|dan|hacker|developer\smode|god\smode|jailbroken|unrestricted|unfiltered|free\s(?:from|of))\b` +
			`|\bfrom\snow\son,?\s(?:you|your|ignore|always|never|only|respond|answer|act|reply)\b` +
			`|\bpretend\s(?:to\sbe|you(?:'re|\sare)|that\syou)\b` +
			`|\brole-?\s?play\sas\b` +
			`|\byour\snew\s(?:role|task|goal|objective|instructions?|persona|purpose)\s(?:is|are)\b`),
	},
	{
		name: PatternNewInstructions,
		keys: []string{"instruction"},
		re: regexp.MustCompile(`\b(?:new|updated|revised|additional|real|actual|true|important|secret|hidden|urgent|override|priority|system|admin|developer)\s(?:system\s)?instructions?\s?:` +
			`|\binstructions?\s(?:for|to)\s(?:the\s|any\s|all\s)?(?:ai|ai\sagent|ai\sassistant|assistant|model|llm|language\smodel|chatbot)s?\b`),
	},
	{
		name: PatternSystemPrompt,
		keys: []string{"prompt", "instruction", "system message"},
		re: regexp.MustCompile(`\b(?:reveal|print|show|output|repeat|leak|dump|display|disclose|share|return|send|ignore|override|change|update|replace|forget|bypass|tell\sme|what\sis|what's)\s` +
			`(?:(?:me|us|your|the|my|this|its|all|full|entire|original|initial|hidden|exact|complete)\s){0,3}` +
			`(?:system\s(?:prompt|message|instructions)|initial\s(?:prompt|instructions)|hidden\s(?:prompt|instructions)|original\sinstructions|prompt\sinstructions)\b` +
			`|\byour\s(?:system\s(?:prompt|message|instructions)|initial\sinstructions|original\sinstructions|hidden\sinstructions)\b`),
	},
	{
		name: PatternActAs,
		keys: []string{"act as", "act like", "behave as", "behave like", "respond as", "respond like", "answer as", "operate as", "function as"},
		re: regexp.MustCompile(`\b(?:act|behave|respond|answer|operate|function)\s(?:as|like)\s(?:if\syou\s(?:were|are)\s)?(?:(?:a|an|the|my)\s)?(?:[\w-]+\s){0,2}?` +
			`(?:ai|assistant|chatbot|llm|language\smodel|dan|jailbroken|unrestricted|unfiltered|evil|hacker|attacker)\b` +
			`|\bact\sas\sif\s(?:you|the\s(?:alert|incident|issue|error)|this|nothing|everything)\b`),
	},
	{
		name: PatternConceal,
		keys: []string{"do not", "don't", "dont", "never", "must not", "should not", "shouldn't", "without", "keep this"},
		re: regexp.MustCompile(`\b(?:do\snot|don't|dont|never|must\snot|should\snot|shouldn't)\s(?:tell|mention|reveal|disclose|inform|notify|alert|warn|report|flag|escalate|say)\s` +
			`(?:(?:the|this|that|it|anyone|anybody|any|about|to|of|on|them|him|her)\s){0,3}` +
			`(?:users?|operators?|humans?|anyone|anybody|team|on-?call|engineers?|sre|admins?|administrators?|them|this|it|that|incident|alert|error|issue|change|finding|root\scause|deploy(?:ment)?|attack|injection|instructions?|message)\b` +
			`|\bwithout\s(?:telling|mentioning|informing|notifying|alerting)\s(?:the\s|any\s)?(?:users?|operators?|humans?|anyone|anybody|team|on-?call|engineers?)\b` +
			`|\bkeep\sthis\s(?:secret|hidden|confidential|between\sus)\b`),
	},
	{
		name: PatternToolCall,
		keys: []string{"tool", "function", "invoke"},
		re: regexp.MustCompile(`\b(?:call|invoke|execute|trigger|fire)\s(?:the|this|that|your|a)\s(?:[\w-]+\s){0,2}?tools?\b` +
			`|\b(?:call|invoke)\s(?:the\s)?(?:function|tool)\s[\x60'"]?[a-z_][\w.-]*[\x60'"]?\s(?:with|using)\b` +
			`|</?(?:function_calls|tool_use|tool_call|invoke|antml:invoke|antml:function_calls)\b`),
	},
	{
		name: PatternRunCommand,
		keys: []string{"following", "run this", "run these", "execute this", "execute these"},
		re: regexp.MustCompile(`\b(?:run|execute|exec|type|paste|enter|issue)\s(?:the\s|this\s)?following\s(?:[\w-]+\s)?(?:commands?|code|script|query|queries|shell|snippet)\b` +
			`|\b(?:run|execute)\s(?:this|these)\s(?:[\w-]+\s)?(?:commands?|scripts?|code)\b`),
	},
	{
		name: PatternExfiltration,
		keys: []string{"exfiltrat", "secrets", "credentials", "api key", "access key", "secret key", "password", "private key", "tokens",
			"env var", "environment var", ".env", "session cookie", "ssh key", "to http", "to pastebin", "to webhook", "to my ", "to this ", "to our ", "to the following"},
		re: regexp.MustCompile(`\bexfiltrat(?:e|es|ing)\b` +
			`|\b(?:send|post|upload|forward|leak|e-?mail|mail|transmit|copy|share|paste|print|reveal|dump|echo)\s(?:me\s)?(?:(?:all|the|your|any|every|of|these|those|our)\s){0,2}(?:[\w-]+\s)?` +
			`(?:secrets|credentials|api\skeys?|access\skeys?|secret\skeys?|passwords?|private\skeys?|tokens|env(?:ironment)?\svar(?:iable)?s|\.env(?:\sfile)?|session\scookies|ssh\skeys?)\b` +
			`|\b(?:send|post|upload|forward|transmit|copy)\s(?:it|them|this|that|everything|all\sof\sit|the\s(?:data|output|results?|secrets?|credentials|keys?|tokens?|logs?|contents?))\sto\s` +
			`(?:https?://|pastebin|webhook|(?:my|this|our|the\sfollowing)\s(?:server|endpoint|url|address|email))`),
	},
	{
		name: PatternDelimiterForgery,
		keys: []string{"untrusted"},
		re:   regexp.MustCompile(`(?:<|﹤|&lt;?|&#0*60;?|&#x0*3c;?|\\u003c|\\x3c|%3c)\s?(?:(?:/|\\/|&#0*47;?|&#x0*2f;?|%2f)\s?)?untrusted[\s_-]*data\b`),
	},
	{
		name: PatternChatTemplate,
		keys: []string{"<|", "[inst]", "[/inst]", "<<sys>>", "<</sys>>", "of_turn>", "<system", "</system", "<assistant", "</assistant", "<human", "</human", "tool_result>", "function_results>", "<instructions", "</instructions", "system-reminder>"},
		re: regexp.MustCompile(`<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|end_of_turn|start_of_turn)\|>` +
			`|\[/?inst\]|<</?sys>>|</?(?:start|end)_of_turn>` +
			`|</?(?:system|assistant|human|system-reminder|tool_result|function_results|instructions)>`),
	},
	{
		name:      PatternRoleHeader,
		keys:      []string{"#", "assistant", "human"},
		lineStart: true,
		re: regexp.MustCompile(`(?:^|\n)\s?#{1,6}\s?(?:system|assistant|user|human|developer|instructions?|response)\s?:` +
			`|(?:^|\n)\s?(?:assistant|human)\s?:`),
	},
	{
		name: PatternChangeRootCause,
		keys: []string{"root cause", "attribute"},
		re: regexp.MustCompile(`\b(?:change|set|update|override|rewrite|replace|report|state|say|write|record|conclude|claim|declare|attribute|list|mark|put)\s(?:that\s)?(?:the\s|your\s)?root\scause\s(?:is|was|as|to|should\sbe)\b` +
			`|\b(?:the\s)?(?:real|actual|true)\sroot\scause\s(?:is|was)\b` +
			`|\broot\scause\s(?:must|should)\sbe\s(?:reported|recorded|set|listed|marked|given|stated)\b` +
			`|\battribute\s(?:this|it|the\s(?:incident|outage|alert|issue))\sto\b`),
	},
	{
		name: PatternMarkResolved,
		keys: []string{"resolved", "closed", "false positive", "benign", "not an issue", "noise", "fixed", "investigat"},
		re: regexp.MustCompile(`\b(?:mark|close|resolve|flag|declare|report|treat|classify|label|acknowledge|ack)\s` +
			`(?:(?:this|the|that|it|all|these|those|incident|incidents|alert|alerts|page|issue|ticket|investigation|case|as|to)\s){0,4}` +
			`(?:resolved|closed|a\sfalse\spositive|false\spositive|benign|not\san\sissue|noise|fixed)\b` +
			`|\b(?:stop|end|abort|halt|cancel|close)\s(?:the\s|this\s|your\s)?investigat(?:ion|ing)\b`),
	},
	{
		name: PatternDestructiveAction,
		keys: []string{"delete", "drop", "truncate", "destroy", "wipe", "purge", "terminate", "scale", "roll", "shut", "revert", "kill", "deprovision"},
		re: regexp.MustCompile(`\b(?:you\s(?:must|should|need\sto|have\sto|are\s(?:required|instructed|authorized|allowed|expected)\sto)|i\s(?:need|want)\syou\sto|go\sahead\sand|immediately|urgently)\s(?:[\w-]+\s)?` +
			`(?:delete|drop|truncate|destroy|wipe|purge|terminate|scale\s(?:down|to)|roll\s?back|rollback|shut\s?down|revert|kill|deprovision)\b` +
			`|\b(?:delete|drop|truncate|destroy|wipe|purge|terminate|roll\s?back|rollback|shut\s?down|scale\sdown|deprovision)\s(?:(?:the|all|every|your|our)\s)?(?:[\w-]+\s){0,2}?(?:production|prod)\b` +
			`|\bscale\s(?:[\w-]+\s){0,3}?to\s(?:0|zero)(?:\sreplicas)?\b`),
	},
	{
		name: PatternAddressedToAI,
		keys: []string{"you are", "you're", "attention", "note to", "message to", "message for", "dear", "hey", "hello", "calling all"},
		re: regexp.MustCompile(`\b(?:if\syou\sare|if\syou're|you\sare|attention|note\sto|message\s(?:to|for)|dear|hey|hello|calling\sall)\s(?:(?:an?|the|any|all|my|our)\s)?` +
			`(?:ai|llm|large\slanguage\smodel|language\smodel|ai\sassistant|ai\sagent|ai\smodel|ai\ssystem|chatbot|gpt|chatgpt|claude|gemini|copilot|nightshift|autonomous\sagent)s?\b`),
	},
}

// maxPerPattern bounds the reports of one pattern: a text that repeats an
// instruction a thousand times needs only the first few flagged, and the
// bound keeps such a text cheap to examine.
const maxPerPattern = 32

// DetectInjection returns the passages of s that read like instructions to
// an AI agent, ordered by Start (then by pattern), at most maxPerPattern (32)
// per pattern. It only reports: what to
// do about a suspected injection (flag it in the journal, warn the operator)
// is the caller's decision. See the package comment for how matching works
// and what it misses.
func DetectInjection(s string) []Injection {
	if s == "" {
		return nil
	}
	norm := normalise(s)
	hits := make([][]int, len(injectionPatterns))
	injectionKeys.find(norm.text, func(k, start int) {
		p := injectionKeyPattern[k]
		if !injectionPatterns[p].lineStart || opensLine(norm.text, start) {
			hits[p] = append(hits[p], start)
		}
	})
	var out []Injection
	for pi := range injectionPatterns {
		p := &injectionPatterns[pi]
		done := 0 // where the last match ended: overlapping windows find it twice
		n := 0
	windows:
		for _, w := range windows(norm.text, hits[pi]) {
			for _, m := range p.re.FindAllStringIndex(norm.text[w[0]:w[1]], -1) {
				a, b := w[0]+m[0], w[0]+m[1]
				if a < done {
					continue
				}
				if n == maxPerPattern {
					break windows
				}
				n++
				done = b
				if p.lineStart {
					if norm.text[a] == '\n' {
						a++
					} else if a > 0 && norm.text[a-1] != '\n' {
						continue
					}
				}
				start, end := norm.orig(a), norm.orig(b)
				out = append(out, Injection{Pattern: p.name, Excerpt: excerpt(s[start:end]), Start: start, End: end})
			}
		}
	}
	out = append(out, invisibleText(s)...)
	slices.SortStableFunc(out, func(x, y Injection) int { return x.Start - y.Start })
	return out
}

// injectionKeys finds the keys of every pattern in one pass;
// injectionKeyPattern maps a key's index to its pattern's.
var injectionKeys, injectionKeyPattern = func() (*keyMatcher, []int) {
	var keys []string
	var pattern []int
	for i, p := range injectionPatterns {
		for _, k := range p.keys {
			keys = append(keys, k)
			pattern = append(pattern, i)
		}
	}
	return newKeyMatcher(keys), pattern
}()

// A window reaches window bytes on each side of a key; overlapping windows
// are merged up to maxWindow bytes. Past that a new window starts, which may
// overlap the last: small windows keep the regular expressions on their
// fast path when a text is full of keys.
const (
	window    = 320
	maxWindow = 2048
)

// windows returns the spans of norm, cut at white space, within window
// bytes of the offsets in hits, in order; consecutive spans may overlap.
func windows(norm string, hits []int) [][2]int {
	if len(hits) == 0 {
		return nil
	}
	slices.Sort(hits)
	var out [][2]int
	for _, h := range hits {
		ws, we := h-window, h+window
		if ws <= 0 {
			ws = 0
		} else if k := strings.IndexAny(norm[ws:h], " \n"); k >= 0 {
			ws += k + 1
		} else {
			ws = h
		}
		if we >= len(norm) {
			we = len(norm)
		} else if k := strings.LastIndexAny(norm[h:we], " \n"); k > 0 {
			we = h + k
		}
		if n := len(out); n > 0 && ws <= out[n-1][1] && we-out[n-1][0] <= maxWindow {
			out[n-1][1] = max(out[n-1][1], we)
			continue
		}
		out = append(out, [2]int{ws, we})
	}
	return out
}

// opensLine reports whether the key at i opens a line, after at most a few
// spaces and '#'.
func opensLine(norm string, i int) bool {
	for k := 0; k < 8 && i > 0 && (norm[i-1] == ' ' || norm[i-1] == '#'); k++ {
		i--
	}
	return i == 0 || norm[i-1] == '\n'
}

// normText is the normalised view of a text, with the way back to offsets in
// the original.
type normText struct {
	text    string
	anchors []anchor // where the mapping to the original jumps
	n       int      // length of the original
}

// anchor says that text[norm] came from original[orig]; the bytes after it
// map one to one until the next anchor.
type anchor struct{ norm, orig int }

// orig maps an offset in the normalised text to one in the original.
func (t *normText) orig(i int) int {
	if i >= len(t.text) {
		return t.n
	}
	k, found := slices.BinarySearchFunc(t.anchors, i, func(a anchor, i int) int { return a.norm - i })
	if !found {
		k--
	}
	a := t.anchors[k]
	return a.orig + i - a.norm
}

// normalise returns s in lower case with fullwidth forms folded to ASCII,
// typographic quotes made plain, format characters (Cf) dropped and every
// run of white space — including the escapes \n, \r and \t of JSON-encoded
// text and invalid UTF-8 — collapsed into one '\n' if it holds a line break
// and one ' ' otherwise.
func normalise(s string) *normText {
	t := &normText{n: len(s)}
	b := make([]byte, 0, len(s))
	last := -2 // original offset of the last byte written
	emit := func(c byte, o int) {
		if o != last+1 {
			t.anchors = append(t.anchors, anchor{len(b), o})
		}
		b = append(b, c)
		last = o
	}
	var rb [utf8.UTFMax]byte
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && !isSpace(c) && c != '\\' {
			if isUpper(c) {
				c += 'a' - 'A'
			}
			if i == last+1 { // the common case, inlined
				b = append(b, c)
				last = i
			} else {
				emit(c, i)
			}
			i++
			continue
		}
		if c == ' ' && i+1 < len(s) && s[i+1] < utf8.RuneSelf && !isSpace(s[i+1]) && s[i+1] != '\\' && i == last+1 {
			b = append(b, ' ') // a lone space, the next most common case
			last = i
			i++
			continue
		}
		if _, _, ok := spaceAt(s, i); ok {
			start, newline := i, false
			for {
				n, nl, ok := spaceAt(s, i)
				if !ok {
					if r, m := utf8.DecodeRuneInString(s[i:]); m > 0 && unicode.Is(unicode.Cf, r) {
						i += m
						continue
					}
					break
				}
				newline = newline || nl
				i += n
			}
			if newline {
				emit('\n', start)
			} else {
				emit(' ', start)
			}
			continue
		}
		if c < utf8.RuneSelf { // a backslash that starts no escape
			emit(c, i)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.Is(unicode.Cf, r):
			i += n
			continue
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == '\u2018' || r == '\u2019':
			r = '\''
		case r == '\u201C' || r == '\u201D':
			r = '"'
		}
		r = unicode.ToLower(r)
		k := utf8.EncodeRune(rb[:], r)
		for j := range k {
			emit(rb[j], i+min(j, n-1))
		}
		i += n
	}
	t.text = string(b)
	return t
}

// spaceAt reports whether s[i:] starts with white space — ASCII or Unicode
// space, an escape \n, \r or \t, or a byte of invalid UTF-8 — its length and
// whether it breaks a line.
func spaceAt(s string, i int) (n int, newline, ok bool) {
	if i >= len(s) {
		return 0, false, false
	}
	c := s[i]
	switch {
	case isSpace(c):
		return 1, c == '\n' || c == '\r', true
	case c == '\\':
		if e := at(s, i+1); e == 'n' || e == 'r' || e == 't' {
			return 2, e != 't', true
		}
		return 0, false, false
	case c < utf8.RuneSelf:
		return 0, false, false
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if (r == utf8.RuneError && n == 1) || unicode.IsSpace(r) {
		return n, r == '\u2028' || r == '\u2029' || r == '\u0085', true
	}
	return 0, false, false
}

const maxExcerpt = 160

// excerpt prepares matched text for the journal: white space collapsed,
// format characters dropped, cut to about maxExcerpt bytes, redacted.
func excerpt(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Cf, r):
			continue
		}
		if b.Len() >= maxExcerpt {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out, _ := Redact(b.String())
	return out
}

// invisibleText reports runs of Unicode tag characters (U+E0000–U+E007F),
// which render as nothing but spell ASCII to a model ("ASCII smuggling"),
// except the tag sequences of subdivision flag emoji, which follow a waving
// black flag (U+1F3F4). The excerpt spells out the hidden text.
func invisibleText(s string) []Injection {
	if !strings.Contains(s, "\U000E0000"[:2]) { // the first two bytes of every tag character
		return nil
	}
	var out []Injection
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r < 0xE0000 || r > 0xE007F {
			i += n
			continue
		}
		start := i
		var hidden strings.Builder
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r < 0xE0000 || r > 0xE007F {
				break
			}
			if r >= 0xE0020 && r <= 0xE007E {
				hidden.WriteByte(byte(r - 0xE0000))
			}
			i += n
		}
		if strings.HasSuffix(s[:start], "\U0001F3F4") {
			continue
		}
		out = append(out, Injection{Pattern: PatternInvisibleText, Excerpt: excerpt("hidden text: " + hidden.String()), Start: start, End: i})
	}
	return out
}
