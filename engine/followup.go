package engine

import (
	"fmt"
	"strings"
)

// FollowUpAnswer answers a question about a finished investigation from its
// report alone, without a model: why (the evidence), what to do (the plan),
// what changed, what else it could be, what could not be checked. The LLM
// agent answers free-form questions with tools; this is the deterministic
// fallback every install has. It returns the answer as Markdown and the
// intent it recognised.
func FollowUpAnswer(r *Report, question string) (text, intent string) {
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
		return "The investigation has not finished yet; ask again once the root cause is posted.", "pending"
	}
	top := r.Top()
	switch {
	case top == nil:
		return r.Summary, "summary"
	case has("plan", "fix", "mitigat", "what should", "what do we ", "what do i ", "what can we", "rollback", "roll back", "remediat"):
		var b strings.Builder
		for i, s := range r.Plan {
			fmt.Fprintf(&b, "%d. %s\n   ✔ %s\n   ↩ %s\n", i+1, s.Action, s.Validation, s.Rollback)
		}
		return "*Mitigation plan*\n" + strings.TrimRight(b.String(), "\n"), "plan"
	case has("change", "deploy", "release", "rollout", "flag", "config"):
		var lines []string
		seen := map[string]bool{}
		for _, h := range r.Hypotheses {
			for _, e := range h.Evidence {
				if e.Kind == "change" && !seen[e.Summary] {
					seen[e.Summary] = true
					lines = append(lines, "- "+e.Summary)
				}
			}
		}
		if len(lines) == 0 {
			return "No change (deployment, configuration, flag, infrastructure) preceded the onset in the inspected resources.", "changes"
		}
		return "*Changes that preceded the onset*\n" + strings.Join(lines, "\n"), "changes"
	case has("else ", "alternative", "other", "sure ", "confiden"):
		var b strings.Builder
		for i, h := range r.Hypotheses {
			fmt.Fprintf(&b, "%d. `%s` — %s, %.0f%%: %s\n", i+1, h.Resource, h.Category, 100*h.Confidence, h.Statement)
		}
		return "*Ranked hypotheses*\n" + strings.TrimRight(b.String(), "\n"), "alternatives"
	case has("gap", "missing", "couldn", "could not", "blind"):
		if len(r.Gaps) == 0 {
			return "Every tool the space offers answered; no gaps.", "gaps"
		}
		return "*What could not be checked*\n- " + strings.Join(r.Gaps, "\n- "), "gaps"
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
		return strings.TrimRight(b.String(), "\n"), "why"
	}
}
