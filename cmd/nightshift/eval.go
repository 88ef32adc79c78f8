package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/tmc/langchaingo/llms"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/llm"
	"github.com/nightshift-ops/nightshift/integrations/sandbox"
)

// evalResult scores one scenario.
type evalResult struct {
	Scenario   string   `json:"scenario"`
	Set        string   `json:"set"`
	Expected   string   `json:"expected"`
	Category   string   `json:"expected_category"`
	Top3       []string `json:"top3"`
	GotCat     string   `json:"category"`
	Hit1       bool     `json:"hit1"`
	Hit3       bool     `json:"hit3"`
	CatHit     bool     `json:"category_hit"`
	Mentions   bool     `json:"mentions"`
	Missing    []string `json:"missing_mentions,omitempty"`
	Seconds    float64  `json:"seconds"`
	ToolCalls  int      `json:"tool_calls"`
	Tokens     int      `json:"tokens"`
	FirstFind  float64  `json:"time_to_first_finding_s"`
	RootCauseS float64  `json:"time_to_root_cause_s"`
	Error      string   `json:"error,omitempty"`
}

type evalTotals struct {
	Set       string  `json:"set"`
	Scenarios int     `json:"scenarios"`
	Top1      float64 `json:"top1"`
	Top3      float64 `json:"top3"`
	Category  float64 `json:"category"`
	Mentions  float64 `json:"mentions"`
	ToolCalls float64 `json:"mean_tool_calls"`
	Tokens    float64 `json:"mean_tokens"`
	Seconds   float64 `json:"mean_seconds"`
}

func evalCmd(e env) *cobra.Command {
	var dir string
	var asJSON bool
	var lf llmFlags
	c := &cobra.Command{
		Use:   "eval",
		Short: "Run a scenario library through the full pipeline and score the root causes",
		Long: `Plays every scenario of the built-in library (or of --scenarios DIR, searched
recursively) through intake, correlation and the investigation, and compares
the ranked root causes with each scenario's truth: top-1 and top-3 hits,
category, must-mention stems, time to first finding and root cause, tool calls.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := loadScenarios(dir)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("load scenarios: %w", err)}
			}
			lc, err := lf.resolve(llm.Config{}, e.getenv)
			if err != nil {
				return err
			}
			model, err := modelOf(cmd.Context(), lc)
			if err != nil {
				return err
			}
			results := runEval(cmd.Context(), loaded, dir, lc, model)
			totals := summarize(results)
			if asJSON {
				all := totals[len(totals)-1]
				return json.NewEncoder(e.stdout).Encode(map[string]any{"scenarios": all.Scenarios, "top1": all.Top1,
					"top3": all.Top3, "category": all.Category, "mentions": all.Mentions, "sets": totals, "results": results})
			}
			printEval(e.stdout, results, totals)
			fmt.Fprintf(e.stdout, "\npeak RSS %.1f MiB\n", float64(peakRSS())/(1<<20))
			for _, r := range results {
				if r.Error != "" {
					return &exitError{code: 1, err: fmt.Errorf("scenario %s failed: %s", r.Scenario, r.Error)}
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "scenarios", "", "folder of scenario files (default: the built-in library)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	lf.add(c)
	return c
}

func runEval(ctx context.Context, loaded []sandbox.Loaded, root string, lc llm.Config, model llms.Model) []evalResult {
	log := slog.New(slog.DiscardHandler)
	var out []evalResult
	for _, l := range loaded {
		r := evalResult{Scenario: l.Scenario.Name, Set: setOf(l.Path, root)}
		if l.Truth != nil {
			r.Expected, r.Category = l.Truth.RootCause, l.Truth.Category
		}
		run, err := playScenario(ctx, l, nil, log, lc, model)
		if err != nil {
			r.Error = err.Error()
			out = append(out, r)
			continue
		}
		score(&r, run.report, l.Truth)
		r.Seconds = run.wall.Seconds()
		out = append(out, r)
	}
	return out
}

// score compares a report with a scenario's truth.
func score(r *evalResult, rep *engine.Report, truth *sandbox.Truth) {
	r.ToolCalls, r.Tokens = rep.Cost.ToolCalls, rep.Cost.Tokens
	r.FirstFind, r.RootCauseS = rep.FirstFinding.Seconds(), rep.RootCause.Seconds()
	for i, h := range rep.Hypotheses {
		if i == 3 {
			break
		}
		r.Top3 = append(r.Top3, h.Resource)
	}
	if top := rep.Top(); top != nil {
		r.GotCat = top.Category
	}
	if truth == nil {
		return
	}
	r.Hit1 = len(r.Top3) > 0 && r.Top3[0] == truth.RootCause
	for _, x := range r.Top3 {
		if x == truth.RootCause {
			r.Hit3 = true
		}
	}
	r.CatHit = r.GotCat == truth.Category
	text := strings.ToLower(rep.Summary)
	r.Mentions = true
	for _, m := range truth.MustMention {
		if !strings.Contains(text, strings.ToLower(m)) {
			r.Mentions = false
			r.Missing = append(r.Missing, m)
		}
	}
}

// setOf names the set a scenario belongs to: its folder under the root.
func setOf(path, root string) string {
	if root == "" {
		return "built-in"
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	rel, err := filepath.Rel(root, filepath.Dir(path))
	if err != nil || rel == "." {
		return filepath.Base(root)
	}
	return rel
}

func summarize(rs []evalResult) []evalTotals {
	by := map[string][]evalResult{}
	for _, r := range rs {
		by[r.Set] = append(by[r.Set], r)
	}
	var sets []string
	for s := range by {
		sets = append(sets, s)
	}
	sort.Strings(sets)
	var out []evalTotals
	tot := func(name string, list []evalResult) evalTotals {
		t := evalTotals{Set: name, Scenarios: len(list)}
		for _, r := range list {
			t.Top1 += b2f(r.Hit1)
			t.Top3 += b2f(r.Hit3)
			t.Category += b2f(r.CatHit)
			t.Mentions += b2f(r.Mentions)
			t.ToolCalls += float64(r.ToolCalls)
			t.Tokens += float64(r.Tokens)
			t.Seconds += r.Seconds
		}
		if n := float64(len(list)); n > 0 {
			t.Top1, t.Top3, t.Category, t.Mentions = t.Top1/n, t.Top3/n, t.Category/n, t.Mentions/n
			t.ToolCalls, t.Tokens, t.Seconds = t.ToolCalls/n, t.Tokens/n, t.Seconds/n
		}
		return t
	}
	for _, s := range sets {
		out = append(out, tot(s, by[s]))
	}
	if len(sets) > 1 || len(sets) == 0 {
		out = append(out, tot("all", rs))
	} else {
		all := out[0]
		all.Set = "all"
		out = append(out, all)
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func printEval(w io.Writer, rs []evalResult, totals []evalTotals) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\texpected\ttop-3\thit@1\thit@3\tcategory\tmentions\tseconds\ttool calls")
	mark := func(b bool) string {
		if b {
			return "✓"
		}
		return "✗"
	}
	for _, r := range rs {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\tERROR: %s\t\t\t\t\t\t\n", r.Scenario, r.Expected, r.Error)
			continue
		}
		cat := mark(r.CatHit) + " " + r.GotCat
		men := mark(r.Mentions)
		if len(r.Missing) > 0 {
			men += " (" + strings.Join(r.Missing, ",") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%d\n", r.Scenario, r.Expected, strings.Join(r.Top3, " "),
			mark(r.Hit1), mark(r.Hit3), cat, men, r.Seconds, r.ToolCalls)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "set\tscenarios\ttop-1\ttop-3\tcategory\tmentions\tmean tool calls\tmean tokens\tmean seconds")
	for _, t := range totals {
		fmt.Fprintf(tw, "%s\t%d\t%.0f%%\t%.0f%%\t%.0f%%\t%.0f%%\t%.1f\t%.0f\t%.2f\n", t.Set, t.Scenarios, 100*t.Top1, 100*t.Top3,
			100*t.Category, 100*t.Mentions, t.ToolCalls, t.Tokens, t.Seconds)
	}
	tw.Flush()
}
