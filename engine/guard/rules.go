package guard

import (
	"regexp"
	"strings"
)

// rules in order of precedence: when two rules match the same span, the
// earlier one names it. Specific token formats come first, then the rules
// that rely on a label (Bearer, password=), then the shapes that are only
// probably secret (card numbers, e-mail addresses). The shapes are
// transcribed from gitleaks (github.com/gitleaks/gitleaks,
// cmd/generate/config/rules/*.go, MIT) and detect-secrets
// (github.com/Yelp/detect-secrets, detect_secrets/plugins/*.py, Apache-2.0);
// each scanner says which rule it follows and where it departs from it.
var rules = []rule{
	{KindPrivateKey, scanPrivateKey},
	{KindAWSAccessKey, scanAWSAccessKey},
	{KindAWSSecretKey, scanAWSSecretKey},
	{KindGitHubToken, scanGitHubToken},
	{KindSlackWebhook, scanSlackWebhook},
	{KindSlackToken, scanSlackToken},
	{KindAnthropicKey, scanAnthropicKey},
	{KindOpenAIKey, scanOpenAIKey},
	{KindStripeKey, scanStripeKey},
	{KindGoogleAPIKey, scanGoogleAPIKey},
	{KindJWT, scanJWT},
	{KindPasswordInURL, scanPasswordInURL},
	{KindBearerToken, scanBearerToken},
	{KindBasicAuth, scanBasicAuth},
	{KindPassword, scanPassword},
	{KindCardNumber, scanCardNumber},
	{KindEmail, scanEmail},
}

// Longest bodies examined: a longer run is not a token of the kind. The caps
// (and left boundaries that reject a trigger inside a run of token
// characters) keep every rule linear in the length of the text.
const (
	maxToken      = 512
	maxJWTSegment = 16 << 10
)

// Character classes of token bodies.
func isTokenChar(c byte) bool { return isAlnum(c) || c == '_' || c == '-' } // base64url, \w plus '-'
func isB64Char(c byte) bool   { return isAlnum(c) || c == '+' || c == '/' || c == '=' }
func isBlank(c byte) bool     { return c == ' ' || c == '\t' }
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
func isAlnumDash(c byte) bool { return isAlnum(c) || c == '-' }

// ---- private-key ------------------------------------------------------------

// gitleaks private-key: (?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY-----
// [\s\S-]*KEY----. Here the block runs to its own END line, or, when the
// text was cut before it (log lines are truncated), through the base64
// body, and never past the next BEGIN.
var (
	pemBegin = regexp.MustCompile(`^-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----`)
	pemEnd   = regexp.MustCompile(`^-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----`)
)

const maxPEM = 64 << 10

func scanPrivateKey(sc *scanner, prio int) {
	s := sc.s
	eachIndex(s, "-----BEGIN", func(i int) {
		m := pemBegin.FindStringIndex(s[i:])
		if m == nil {
			return
		}
		body := i + m[1]
		limit := min(len(s), body+maxPEM)
		if j := strings.Index(s[body:limit], "-----BEGIN"); j >= 0 {
			limit = body + j
		}
		for off := body; off < limit; {
			j := strings.Index(s[off:limit], "-----END")
			if j < 0 {
				break
			}
			if e := pemEnd.FindStringIndex(s[off+j:]); e != nil {
				sc.add(i, off+j+e[1], prio)
				return
			}
			off += j + 1
		}
		sc.add(i, pemBodyEnd(s, body, limit), prio)
	})
}

// pemBodyEnd returns the end of the base64 body that starts at i: base64
// characters, white space and the escapes \n and \r of JSON-encoded text,
// without the white space at its end.
func pemBodyEnd(s string, i, limit int) int {
	end := i
	for i < limit {
		c := s[i]
		switch {
		case isB64Char(c):
			i++
			end = i
		case isSpace(c):
			i++
		case c == '\\' && i+1 < limit && (s[i+1] == 'n' || s[i+1] == 'r'):
			i += 2
		default:
			return end
		}
	}
	return end
}

// ---- aws-access-key, aws-secret-key ----------------------------------------

// gitleaks aws-access-token: \b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b,
// without the A3T prefix (not an AWS format) and without the EXAMPLE
// allowlist: example keys are masked too.
func scanAWSAccessKey(sc *scanner, prio int) {
	s := sc.s
	// Two searches instead of four: AKIA, ASIA and ABIA share "IA".
	for _, p := range [...]struct {
		needle string
		back   int
	}{{"IA", 2}, {"ACCA", 0}} {
		sc.each(false, p.needle, func(i int) {
			i -= p.back
			if i < 0 || isAlnum(before(s, i)) {
				return
			}
			if pre := s[i : i+4]; pre != "AKIA" && pre != "ASIA" && pre != "ABIA" && pre != "ACCA" {
				return
			}
			end := runMax(s, i+4, 17, isAlnum)
			if end-i != 20 {
				return
			}
			for k := i + 4; k < end; k++ {
				if !isUpperAlnum(s[k]) {
					return
				}
			}
			sc.add(i, end, prio)
		})
	}
}

// gitleaks aws-secret-access-key is [A-Za-z0-9/+=]{40} as a sub-rule of a
// labelled assignment; the labels here are secret[_ -]?(access[_ -]?)?key in
// any case (aws_secret_access_key, SecretAccessKey, "AWS Secret Access Key",
// <SecretAccessKey> in STS XML).
var awsSecretLabel = regexp.MustCompile(`^secret[ _-]?(?:access[ _-]?)?key(?:\\*["'])?[ \t]*(?::=|=>|=|:|>)[ \t]*(?:\\*["'])?`)

func scanAWSSecretKey(sc *scanner, prio int) {
	// A secret key printed right after its access key id ("AKIA… / wJal…",
	// "AKIA…:wJal…") is the other half of the pair, label or not.
	sc.each(false, "IA", func(i int) {
		i -= 2
		if i < 0 || i+20 > len(sc.s) {
			return
		}
		if pre := sc.s[i : i+4]; pre != "AKIA" && pre != "ASIA" {
			return
		}
		v := i + 20
		for k := 0; k < 6 && v < len(sc.s) && strings.IndexByte(" \t/:,;=\"'|", sc.s[v]) >= 0; k++ {
			v++
		}
		if v == i+20 || isB64Char(before(sc.s, v)) && sc.s[v-1] != '/' {
			return
		}
		if end := runMax(sc.s, v, 41, isB64Char); end-v == 40 {
			sc.add(v, end, prio)
		}
	})
	sc.each(true, "secret", func(i int) {
		m := awsSecretLabel.FindStringIndex(sc.lower[i:])
		if m == nil {
			return
		}
		v := i + m[1]
		if end := runMax(sc.s, v, 41, isB64Char); end-v == 40 {
			sc.add(v, end, prio)
		}
	})
}

// ---- github-token -----------------------------------------------------------

// gitleaks github-pat, github-oauth, github-app-token, github-refresh-token:
// gh[pousr]_[0-9a-zA-Z]{36}; github-fine-grained-pat: github_pat_\w{82}. The
// bodies are taken whole (longer ones too) so that a match always ends where
// the token does.
func scanGitHubToken(sc *scanner, prio int) {
	s := sc.s
	eachIndex(s, "github_pat_", func(i int) {
		if isWord(before(s, i)) {
			return
		}
		if end := runMax(s, i+11, maxToken, isWord); end-(i+11) >= 82 {
			sc.add(i, end, prio)
		}
	})
	eachIndex(s, "gh", func(i int) {
		if isAlnum(before(s, i)) {
			return
		}
		if c := at(s, i+2); c == 0 || strings.IndexByte("pousr", c) < 0 || at(s, i+3) != '_' {
			return
		}
		if end := runMax(s, i+4, maxToken, isAlnum); end-(i+4) >= 36 {
			sc.add(i, end, prio)
		}
	})
}

// ---- slack-webhook, slack-token ----------------------------------------------

// gitleaks slack-webhook-url: (?:https?://)?hooks.slack.com/(?:services|
// workflows|triggers)/[A-Za-z0-9+/]{43,56}. The whole URL is the secret.
func scanSlackWebhook(sc *scanner, prio int) {
	s := sc.s
	const host = "hooks.slack.com/"
	eachIndex(s, host, func(i int) {
		p := i + len(host)
		ok := false
		for _, kind := range [...]string{"services/", "workflows/", "triggers/"} {
			if strings.HasPrefix(s[p:], kind) {
				p += len(kind)
				ok = true
				break
			}
		}
		if !ok {
			return
		}
		end := runMax(s, p, maxToken, func(c byte) bool { return isTokenChar(c) || c == '/' || c == '+' })
		if end-p < 20 {
			return
		}
		start := i
		if strings.HasSuffix(s[:i], "https://") {
			start -= len("https://")
		} else if strings.HasSuffix(s[:i], "http://") {
			start -= len("http://")
		}
		sc.add(start, end, prio)
	})
}

// gitleaks slack-bot-token, slack-user-token, slack-legacy-*-token,
// slack-config-*-token: xox[baprs]-…, xoxe.xox[bp]-…, xoxe-…; slack-app-token:
// xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+. Bodies are taken whole, at least ten
// characters.
func scanSlackToken(sc *scanner, prio int) {
	s := sc.s
	eachIndex(s, "xox", func(i int) {
		if isAlnumDash(before(s, i)) {
			return
		}
		p := i + 3
		if strings.HasPrefix(s[p:], "e.xox") {
			p += 5
		}
		if c := at(s, p); c == 0 || strings.IndexByte("abeoprs", c) < 0 || at(s, p+1) != '-' {
			return
		}
		if end := runMax(s, p+2, maxToken, isAlnumDash); end-(p+2) >= 10 {
			sc.add(i, end, prio)
		}
	})
	eachIndex(s, "xapp-", func(i int) {
		if isAlnumDash(before(s, i)) {
			return
		}
		if end := runMax(s, i+5, maxToken, isAlnumDash); end-(i+5) >= 10 {
			sc.add(i, end, prio)
		}
	})
}

// ---- anthropic-key, openai-key ------------------------------------------------

// gitleaks anthropic-api-key, anthropic-admin-api-key and the OAuth tokens:
// sk-ant-(api03|admin01|oat01|ort01)-[A-Za-z0-9_-]{…}. Any sk-ant- prefix with
// a body of twenty or more is taken, so that new versions are covered.
func scanAnthropicKey(sc *scanner, prio int) {
	s := sc.s
	sc.each(false, "sk-", func(i int) {
		if !strings.HasPrefix(s[i:], "sk-ant-") || isTokenChar(before(s, i)) {
			return
		}
		if end := runMax(s, i+7, maxToken, isTokenChar); end-(i+7) >= 20 {
			sc.add(i, end, prio)
		}
	})
}

// gitleaks openai-api-key: sk-(proj|svcacct|admin)-…T3BlbkFJ… and the legacy
// sk-[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20}. Keys without the T3BlbkFJ marker
// are taken when they carry a project/service-account/admin prefix and forty
// more characters, or, for the legacy form, thirty-two or more alphanumerics
// of mixed case with a digit (never a hyphenated name such as a pod
// "sk-worker-7d9f8b6c5-x2x4z").
func scanOpenAIKey(sc *scanner, prio int) {
	s := sc.s
	sc.each(false, "sk-", func(i int) {
		if isTokenChar(before(s, i)) || strings.HasPrefix(s[i:], "sk-ant-") {
			return
		}
		end := runMax(s, i+3, maxToken, isTokenChar)
		body := s[i+3 : end]
		ok := strings.Contains(body, "T3BlbkFJ")
		for _, p := range [...]string{"proj-", "svcacct-", "admin-", "None-"} {
			if strings.HasPrefix(body, p) && len(body)-len(p) >= 40 {
				ok = true
			}
		}
		if !ok && len(body) >= 32 {
			c := classify(body)
			ok = c.digit && c.upper && c.lower && !c.other && !c.sep
		}
		if ok {
			sc.add(i, end, prio)
		}
	})
}

// ---- stripe-key, google-api-key ------------------------------------------------

// gitleaks stripe-access-token: (?i)(sk|rk)_(test|live|prod)_[a-zA-Z0-9]{10,99};
// publishable pk_ keys are public and kept.
func scanStripeKey(sc *scanner, prio int) {
	s := sc.s
	eachIndex(s, "k_", func(j int) {
		i := j - 1
		if i < 0 || (s[i] != 's' && s[i] != 'r') || isAlnum(before(s, i)) {
			return
		}
		mode := s[j+2 : min(len(s), j+7)]
		if mode != "live_" && mode != "test_" && mode != "prod_" {
			return
		}
		if end := runMax(s, j+7, maxToken, isAlnum); end-(j+7) >= 10 {
			sc.add(i, end, prio)
		}
	})
}

// gitleaks gcp-api-key: AIza[\w-]{35} as a whole token.
func scanGoogleAPIKey(sc *scanner, prio int) {
	s := sc.s
	eachIndex(s, "AIza", func(i int) {
		if isTokenChar(before(s, i)) {
			return
		}
		if end := runMax(s, i+4, 36, isTokenChar); end-(i+4) == 35 {
			sc.add(i, end, prio)
		}
	})
}

// ---- jwt -------------------------------------------------------------------------

// gitleaks jwt: ey[0-9a-z]{30,34}\.ey[0-9a-z-\/_]{30,500}\.[0-9a-zA-Z-\/_]{10,200}={0,2}.
// Here: a header of ten or more base64url characters starting eyJ (the
// encoding of `{"`), then two more segments (a signed JWS; the signature may
// be empty for alg "none") or four (an encrypted JWE).
func scanJWT(sc *scanner, prio int) {
	s := sc.s
	eachIndex(s, "eyJ", func(i int) {
		if isTokenChar(before(s, i)) {
			return
		}
		var lens [5]int
		segs, p := 0, i
		for {
			e := runMax(s, p, maxJWTSegment, isTokenChar)
			lens[segs] = e - p
			segs++
			p = e
			if segs == len(lens) || at(s, p) != '.' {
				break
			}
			p++
		}
		if segs > 3 && lens[segs-1] == 0 { // a full stop after the token
			segs--
			p--
		}
		switch {
		case lens[0] < 10:
			return
		case segs == 3 && lens[1] >= 2:
		case segs == 5 && lens[2] > 0 && lens[3] > 0:
		default:
			return
		}
		for k := 0; k < 2 && at(s, p) == '='; k++ {
			p++
		}
		sc.add(i, p, prio)
	})
}
