package bot

import (
	"fmt"
	"strings"

	"github.com/nightshift-ops/nightshift/engine"
)

// FollowUp answers a question asked in an investigation's thread from its
// report alone, without a model: why (the evidence), what to do (the plan),
// what changed, what else it could be, what could not be checked. The LLM
// agent answers free-form questions with tools; this is the deterministic
// fallback every install has.
func FollowUp(r *engine.Report, question string) Message {
	q := " " + strings.Join(strings.FieldsFunc(strings.ToLower(question), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '\'')
	}), " ") + " "
	// has matches whole words or word stems at a word start: "plan" must not
	// match "explanation", nor "sure" "pressure".
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(q, " "+w) {
				return true
			}
		}
		return false
	}
	if r == nil {
		return Message{Text: "The investigation has not finished yet; ask again once the root cause is posted."}
	}
	top := r.Top()
	switch {
	case top == nil:
		return Message{Text: r.Summary}
	case has("plan", "fix", "mitigat", "what should", "what do we ", "what do i ", "what can we", "rollback", "roll back", "remediat"):
		var b strings.Builder
		for i, s := range r.Plan {
			fmt.Fprintf(&b, "%d. %s\n   ✔ %s\n   ↩ %s\n", i+1, s.Action, s.Validation, s.Rollback)
		}
		return Message{Text: "*Mitigation plan*\n" + strings.TrimRight(b.String(), "\n")}
	case has("change", "deploy", "release", "rollout", "flag", "config"):
		var lines []string
		for _, h := range r.Hypotheses {
			for _, e := range h.Evidence {
				if e.Kind == "change" {
					lines = append(lines, "- "+e.Summary)
				}
			}
		}
		if len(lines) == 0 {
			return Message{Text: "No change (deployment, configuration, flag, infrastructure) preceded the onset in the inspected resources."}
		}
		return Message{Text: "*Changes that preceded the onset*\n" + strings.Join(dedupe(lines), "\n")}
	case has("else ", "alternative", "other", "sure ", "confiden"):
		var b strings.Builder
		for i, h := range r.Hypotheses {
			fmt.Fprintf(&b, "%d. `%s` — %s, %.0f%%: %s\n", i+1, h.Resource, h.Category, 100*h.Confidence, h.Statement)
		}
		return Message{Text: "*Ranked hypotheses*\n" + strings.TrimRight(b.String(), "\n")}
	case has("gap", "missing", "couldn", "could not", "blind"):
		if len(r.Gaps) == 0 {
			return Message{Text: "Every tool the space offers answered; no gaps."}
		}
		return Message{Text: "*What could not be checked*\n- " + strings.Join(r.Gaps, "\n- ")}
	default: // why, evidence, root cause, anything else
		var b strings.Builder
		fmt.Fprintf(&b, "*%s* (%s, %.0f%%): %s\n", top.Resource, top.Category, 100*top.Confidence, top.Statement)
		for _, e := range top.Evidence {
			if e.Weight > 0 {
				ref := ""
				if e.Call != "" {
					ref = " _(" + e.Call + ")_"
				}
				fmt.Fprintf(&b, "- %s%s\n", e.Summary, ref)
			}
		}
		return Message{Text: strings.TrimRight(b.String(), "\n")}
	}
}

func dedupe(lines []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lines {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}
