package skills

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// BM25 parameters. k1 is how quickly repeating a term stops adding to a
// skill's score, b how much long skills are penalised, k3 the same
// saturation for terms repeated in the query (a query made of many findings
// repeats its key words). A skill's name and description say when it
// applies, so their words count descriptionWeight times as much as the
// body's.
const (
	bm25K1            = 1.2
	bm25B             = 0.75
	bm25K3            = 1.2
	descriptionWeight = 2
)

// Index ranks skills by relevance to a piece of text with Okapi BM25. It is
// immutable once built and safe for concurrent use.
type Index struct {
	skills   []Skill
	lengths  []float64 // weighted token count per skill
	avgLen   float64
	postings map[string][]posting
}

type posting struct {
	doc int
	tf  float64 // weighted term frequency
}

// Match is one skill selected by Index.Select, with its BM25 score.
type Match struct {
	Skill Skill
	Score float64
}

// NewIndex indexes the skills' names, descriptions and bodies. The index
// keeps the skills (not copies of their slices): do not change them after.
func NewIndex(set []Skill) *Index {
	ix := &Index{
		skills:   slices.Clone(set),
		lengths:  make([]float64, len(set)),
		postings: map[string][]posting{},
	}
	var total float64
	for i, s := range set {
		tf := map[string]float64{}
		for _, t := range Tokenize(s.Name + " " + s.Description) {
			tf[t] += descriptionWeight
		}
		for _, t := range Tokenize(s.Body) {
			tf[t]++
		}
		// Map order does not matter: each posting list grows in skill order.
		for t, f := range tf {
			ix.lengths[i] += f
			ix.postings[t] = append(ix.postings[t], posting{doc: i, tf: f})
		}
		total += ix.lengths[i]
	}
	if len(set) > 0 {
		ix.avgLen = total / float64(len(set))
	}
	return ix
}

// Select returns at most k skills relevant to query, best first. query is
// free text: the alert's title and description, the resource types
// involved, the findings so far. Only skills that apply to agent are
// considered (see Skill.AppliesTo; "" considers all); only skills with a
// positive score are returned, so a skill that shares no word with the query
// never is. Ties are broken by name. k <= 0 means no limit.
func (ix *Index) Select(query, agent string, k int) []Match {
	qtf := map[string]float64{}
	for _, t := range Tokenize(query) {
		qtf[t]++
	}
	terms := make([]string, 0, len(qtf))
	for t := range qtf {
		if len(ix.postings[t]) > 0 {
			terms = append(terms, t)
		}
	}
	slices.Sort(terms) // a fixed summation order makes scores reproducible
	n := float64(len(ix.skills))
	scores := make([]float64, len(ix.skills))
	for _, t := range terms {
		ps := ix.postings[t]
		df := float64(len(ps))
		// The "+1" form of the Okapi IDF (as in Lucene) stays positive for
		// terms found in most skills instead of turning them into penalties.
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		qw := (bm25K3 + 1) * qtf[t] / (bm25K3 + qtf[t])
		for _, p := range ps {
			norm := bm25K1 * (1 - bm25B + bm25B*ix.lengths[p.doc]/ix.avgLen)
			scores[p.doc] += qw * idf * p.tf * (bm25K1 + 1) / (p.tf + norm)
		}
	}
	// Rank small (doc, score) pairs and build Matches, which carry a whole
	// Skill, only for the ones returned.
	type hit struct {
		doc   int
		score float64
	}
	var hits []hit
	for i, s := range ix.skills {
		if scores[i] > 0 && s.AppliesTo(agent) {
			hits = append(hits, hit{i, scores[i]})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		if c := strings.Compare(ix.skills[a.doc].Name, ix.skills[b.doc].Name); c != 0 {
			return c
		}
		return a.doc - b.doc
	})
	if k > 0 && len(hits) > k {
		hits = hits[:k]
	}
	if len(hits) == 0 {
		return nil
	}
	out := make([]Match, len(hits))
	for i, h := range hits {
		out[i] = Match{Skill: ix.skills[h.doc], Score: h.score}
	}
	return out
}

// Tokenize turns text into the terms that Index compares: words split on
// anything but letters and digits, and at case changes inside a word
// ("OOMKilled" gives oom, kill and oomkill), lower-cased, without English
// stop words or one-letter words, lightly stemmed so that "throttling",
// "throttled" and "throttles" all give "throttl".
func Tokenize(text string) []string {
	var out []string
	emit := func(w string) {
		if utf8.RuneCountInString(w) < 2 || stopWords[w] {
			return
		}
		out = append(out, stem(w))
	}
	for _, word := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		parts := camelParts(word)
		for _, p := range parts {
			emit(strings.ToLower(p))
		}
		if len(parts) > 1 {
			emit(strings.ToLower(word))
		}
	}
	return out
}

// camelParts splits "ThrottledRequests" into Throttled, Requests and
// "OOMKilled" into OOM, Killed. Words without inner case changes come back
// whole.
func camelParts(w string) []string {
	if !hasInnerUpper(w) {
		return []string{w}
	}
	rs := []rune(w)
	var parts []string
	start := 0
	for i := 1; i < len(rs); i++ {
		lowerToUpper := unicode.IsLower(rs[i-1]) && unicode.IsUpper(rs[i])
		acronymEnd := unicode.IsUpper(rs[i-1]) && unicode.IsUpper(rs[i]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
		if lowerToUpper || acronymEnd {
			parts = append(parts, string(rs[start:i]))
			start = i
		}
	}
	return append(parts, string(rs[start:]))
}

func hasInnerUpper(w string) bool {
	for i, r := range w {
		if i > 0 && unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

// stem strips common English inflections, keeping at least three letters.
// It is deliberately light (no Porter steps beyond plurals, -ed, -ing and a
// final -e): it only has to make a query and a runbook use the same form.
func stem(w string) string {
	cut := func(suffix string) (string, bool) {
		if strings.HasSuffix(w, suffix) && len(w)-len(suffix) >= 3 {
			return w[:len(w)-len(suffix)], true
		}
		return w, false
	}
	switch {
	case strings.HasSuffix(w, "ies"):
		if s, ok := cut("ies"); ok {
			w = s + "y"
		}
	case strings.HasSuffix(w, "sses"):
		w, _ = cut("es")
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w, _ = cut("s")
	}
	switch {
	case strings.HasSuffix(w, "ied"):
		if s, ok := cut("ied"); ok {
			w = s + "y"
		}
	case strings.HasSuffix(w, "ing"):
		if s, ok := cut("ing"); ok {
			w = undouble(s)
		}
	case strings.HasSuffix(w, "ed"):
		if s, ok := cut("ed"); ok {
			w = undouble(s)
		}
	}
	if s, ok := cut("e"); ok {
		w = s
	}
	return w
}

// undouble turns "stopp" into "stop" and "runn" into "run", but keeps the
// doubles English keeps ("kill", "pass", "buzz").
func undouble(w string) string {
	n := len(w)
	if n >= 4 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouylsz", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		a about above after again against all also am an and any are as at be
		because been before being below between both but by can could did do
		does doing down during each few for from further had has have having he
		her here hers him his how if in into is it its itself just me more most
		my no nor not now of off on once only or other our ours out over own
		same she should so some such than that the their theirs them then there
		these they this those through to too under until up very was we were
		what when where which while who whom why will with would you your yours
		yourself via per etc eg ie`) {
		m[w] = true
	}
	return m
}()
