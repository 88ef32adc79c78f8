package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/llm"
)

func investigateCmd(e env) *cobra.Command {
	var scenario string
	var asJSON bool
	var lf llmFlags
	c := &cobra.Command{
		Use:   "investigate",
		Short: "Investigate a scenario: its alerts go through intake and correlation, then the evidence reasoner",
		Long: `Plays one scenario (a built-in name, see "nightshift eval", or a scenario file)
in an embedded store: its alerts go through the real intake and correlation,
then the investigation runs against the scenario's simulated telemetry,
printing progress as it streams and the final report as Markdown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scenario == "" {
				return fmt.Errorf("--scenario is required (a built-in name or a file)")
			}
			l, err := loadScenario(scenario)
			if err != nil {
				return err
			}
			var progress engine.Progress
			if !asJSON {
				progress = &textProgress{w: e.stdout}
			}
			log := slog.New(slog.DiscardHandler)
			if e.getenv("NIGHTSHIFT_DEBUG") != "" {
				log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			lc, err := lf.resolve(llm.Config{}, e.getenv)
			if err != nil {
				return err
			}
			model, err := modelOf(cmd.Context(), lc)
			if err != nil {
				return err
			}
			run, err := playScenario(cmd.Context(), l, progress, log, lc, model)
			if err != nil {
				return err
			}
			if asJSON {
				return writeReportJSON(e.stdout, run)
			}
			fmt.Fprintln(e.stdout)
			fmt.Fprint(e.stdout, ReportMarkdown(run.report))
			return nil
		},
	}
	c.Flags().StringVar(&scenario, "scenario", "", "built-in scenario name or scenario file")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	lf.add(c)
	return c
}

func writeReportJSON(w io.Writer, run *scenarioRun) error {
	rep := run.report
	type hyp struct {
		Resource   string            `json:"resource"`
		Category   string            `json:"category"`
		Confidence float64           `json:"confidence"`
		Statement  string            `json:"statement"`
		Evidence   []engine.Evidence `json:"evidence"`
	}
	hs := make([]hyp, 0, len(rep.Hypotheses))
	for _, h := range rep.Hypotheses {
		hs = append(hs, hyp{h.Resource, h.Category, h.Confidence, h.Statement, h.Evidence})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(map[string]any{
		"investigation": rep.Investigation, "summary": rep.Summary, "hypotheses": hs, "plan": rep.Plan,
		"gaps": rep.Gaps, "skills": rep.Skills, "cost": rep.Cost, "alerts": run.outcomes, "notes": rep.Notes, "reasoner": rep.Reasoner,
	})
}

// textProgress prints progress events as lines.
type textProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *textProgress) Emit(_ context.Context, ev engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Kind {
	case engine.EventOpened:
		fmt.Fprintf(p.w, "🚨 %s  [%s, %s]\n", ev.Alert.Title, ev.Alert.Severity, ev.Alert.Source)
	case engine.EventLinked:
		fmt.Fprintf(p.w, "🔗 linked: %s\n", ev.Alert.Title)
	case engine.EventStatus:
		fmt.Fprintf(p.w, "⏳ %s\n", ev.Text)
	case engine.EventFinding:
		fmt.Fprintf(p.w, "🔎 %s\n", ev.Text)
	case engine.EventFailed:
		fmt.Fprintf(p.w, "❌ %s\n", ev.Text)
	}
}

// ReportMarkdown renders a report for terminals and files.
func ReportMarkdown(r *engine.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Root cause — %s\n\n", r.Title)
	b.WriteString(r.Summary + "\n\n")
	if len(r.Hypotheses) > 0 {
		b.WriteString("### Hypotheses\n\n")
		for i, h := range r.Hypotheses {
			fmt.Fprintf(&b, "%d. **%s** — %s, confidence %.0f%%\n", i+1, h.Resource, h.Category, 100*h.Confidence)
			for j, ev := range h.Evidence {
				if j == 6 {
					break
				}
				ref := ""
				if ev.Call != "" {
					ref = " (" + ev.Call + ")"
				}
				fmt.Fprintf(&b, "   - %s: %s%s\n", ev.Kind, ev.Summary, ref)
			}
		}
		b.WriteString("\n")
	}
	if len(r.Plan) > 0 {
		b.WriteString("### Mitigation plan\n\n")
		for i, s := range r.Plan {
			fmt.Fprintf(&b, "%d. %s _(risk: %s)_\n   - validate: %s\n   - roll back: %s\n", i+1, s.Action, s.Risk, s.Validation, s.Rollback)
		}
		b.WriteString("\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("### Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
	if len(r.Gaps) > 0 {
		b.WriteString("### Gaps\n\n")
		for _, g := range r.Gaps {
			fmt.Fprintf(&b, "- %s\n", g)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "_%d tool calls, %d model calls, %d tokens, %s; skills: %s_\n", r.Cost.ToolCalls, r.Cost.ModelCalls,
		r.Cost.Tokens, r.Cost.Wall.Round(1e6), strings.Join(r.Skills, ", "))
	return b.String()
}
