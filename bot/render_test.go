package bot_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/bot/console"
	"github.com/nightshift-ops/nightshift/engine"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -update to create it)", err)
	}
	if diff := cmp.Diff(got, string(want)); diff != "" {
		t.Errorf("%s differs (-got +want); run go test ./bot -update if the change is intended:\n%s", path, diff)
	}
}

// fullReport is a report with more of everything than a message shows:
// four hypotheses, evidence with a negative weight and more than five
// positive ones, a plan and gaps.
func fullReport() *engine.Report {
	t := time.Date(2026, 2, 3, 4, 20, 0, 0, time.UTC)
	return &engine.Report{
		Investigation: "inv_01hx3k9",
		Title:         "CheckoutLatencyHigh: p99 above 1s",
		Summary:       "Most likely root cause: aws/rds/orders-db (database).",
		Reasoner:      "evidence",
		Hypotheses: []engine.Hypothesis{
			{Resource: "aws/rds/orders-db", Category: "database", Confidence: 0.874,
				Statement: "aws/rds/orders-db (database): DatabaseConnections rose from 118 to 796 Count at 04:20:00.",
				Evidence: []engine.Evidence{
					{Kind: "metric", Resource: "aws/rds/orders-db", Summary: "DatabaseConnections rose from 118 to 796 Count at 04:20:00 (step, z=208)", At: t, Call: "query_metrics#5", Weight: 0.73},
					{Kind: "rule", Resource: "aws/rds/orders-db", Summary: "aws/rds/orders-db cannot get database connections: \"FATAL: sorry, too many clients already\" (skill database)", Weight: 0.8},
					{Kind: "topology", Resource: "aws/rds/orders-db", Summary: "but nothing it depends on went bad first", Weight: -0.5},
					{Kind: "log", Resource: "aws/rds/orders-db", Summary: "new error message on aws/rds/orders-db since 04:21 (71×): \"FATAL:  sorry, too many clients already\"", Call: "search_logs#7", Weight: 0.6},
					{Kind: "metric", Resource: "aws/rds/orders-db", Summary: "CPUUtilization rose from 31 to 44 Percent at 04:19:00 (ramp, z=8.85)", Call: "query_metrics#5", Weight: 0.22},
					{Kind: "topology", Resource: "aws/rds/orders-db", Summary: "4 of 4 anomalous resources are in its blast radius", Weight: 0.5},
					{Kind: "change", Resource: "k8s/shop/deployment/checkout", Summary: "related deployment on k8s/shop/deployment/checkout at 03:50 names it", Call: "list_changes#8", Weight: 0.3},
				}},
			{Resource: "k8s/shop/deployment/checkout", Category: "bad-deploy", Confidence: 0.25, Statement: "checkout was deployed 30m before."},
			{Resource: "k8s/shop/deployment/order-history", Category: "dependency", Confidence: 0.13, Statement: "order-history is slow."},
			{Resource: "k8s/shop/deployment/frontend", Category: "dependency", Confidence: 0.05, Statement: "frontend is slow."},
		},
		Plan: []engine.PlanStep{
			{Action: "Relieve aws/rds/orders-db: kill idle-in-transaction sessions.", Validation: "Active connections return to baseline.", Rollback: "None for killed sessions.", Risk: "medium"},
			{Action: "Limit callers' connection pools.", Validation: "Connections stay under 80% of max_connections.", Rollback: "Restore the previous pool sizes.", Risk: "low"},
		},
		Gaps: []string{"no metrics for 1 resources: aws/elasticache/sessions", "1204 log lines matched; read the newest 1000"},
		Cost: engine.Cost{ToolCalls: 14, ModelCalls: 0, Tokens: 0, Wall: 2345678901 * time.Nanosecond},
	}
}

func TestMessageGoldens(t *testing.T) {
	alert := &engine.Alert{ID: "al_1", Source: engine.SourcePagerDuty, Title: "CheckoutLatencyHigh: p99 above 1s",
		Severity: engine.SeverityCritical, Resources: []string{"k8s/shop/deployment/checkout", "aws/rds/orders-db"}, Region: "eu-west-1",
		Links: []engine.Link{{Text: "Runbook", URL: "https://runbooks.example.com/checkout-latency"}, {URL: "https://grafana.example.com/d/checkout"}}}
	bare := &engine.Alert{ID: "al_2", Source: engine.SourceGeneric, Title: "Something is off", Severity: engine.SeverityUnknown}
	empty := &engine.Report{Investigation: "inv_2", Reasoner: "llm:claude", Summary: "No anomaly, change or error message around the alert explains it.",
		Gaps: []string{"nothing anomalous was found in the inspected telemetry"}, Cost: engine.Cost{ToolCalls: 3, ModelCalls: 4, Tokens: 5120, Wall: 1500 * time.Millisecond}}

	tests := []struct {
		name string
		m    bot.Message
	}{
		{"parent.golden", bot.ParentMessage("inv_01hx3k9", alert, 0)},
		{"parent_linked.golden", bot.ParentMessage("inv_01hx3k9", alert, 3)},
		{"parent_bare.golden", bot.ParentMessage("inv_2", bare, 0)},
		{"parent_resolved.golden", bot.ResolvedParent("inv_01hx3k9", alert)},
		{"status_triage.golden", bot.StatusMessage(engine.PhaseTriage, "Investigation started")},
		{"status_gather.golden", bot.StatusMessage(engine.PhaseGather, "Reading metrics of 14 resources around the alert")},
		{"status_done.golden", bot.StatusMessage(engine.PhaseDone, "Root cause and plan posted below")},
		{"status_failed.golden", bot.StatusMessage(engine.PhaseFailed, "Investigation failed: context deadline exceeded")},
		{"status_no_phase.golden", bot.StatusMessage("", "Waiting for the model")},
		{"finding.golden", bot.FindingMessage(&engine.Evidence{Kind: "metric", Resource: "aws/rds/orders-db",
			Summary: "DatabaseConnections rose from 118 to 796 Count at 04:20:00 (step, z=208)", Call: "query_metrics#5"})},
		{"finding_uncited.golden", bot.FindingMessage(&engine.Evidence{Kind: "rule", Resource: "aws/rds/orders-db",
			Summary: "orders-db cannot get database connections"})},
		{"linked.golden", bot.LinkedMessage(&engine.Alert{Title: "orders-db DatabaseConnections > 700", Source: engine.SourceCloudWatch},
			&engine.Outcome{AlertID: "al_9", Score: 0.8, Reasons: "topology neighbours and region, 2 min apart"})},
		{"linked_no_outcome.golden", bot.LinkedMessage(&engine.Alert{Title: "order-history p99 above 1s", Source: engine.SourceAlertmanager}, nil)},
		{"report.golden", bot.ReportMessage(fullReport())},
		{"report_no_hypotheses.golden", bot.ReportMessage(empty)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, tt.name, console.Render(tt.m))
		})
	}
}

func TestReportMessageButtons(t *testing.T) {
	m := bot.ReportMessage(fullReport())
	want := []bot.Button{
		{ID: bot.ActionAccurate, Label: "👍 Accurate", Value: "inv_01hx3k9", Style: "primary"},
		{ID: bot.ActionInaccurate, Label: "👎 Inaccurate", Value: "inv_01hx3k9"},
		{ID: bot.ActionReinvestigate, Label: "Investigate again", Value: "inv_01hx3k9"},
		{ID: bot.ActionEscalate, Label: "Ask for human support", Value: "inv_01hx3k9", Style: "danger"},
	}
	if diff := cmp.Diff(m.Buttons, want); diff != "" {
		t.Errorf("buttons (-got +want):\n%s", diff)
	}
	var titles []string
	for _, s := range m.Sections {
		titles = append(titles, s.Title)
	}
	if diff := cmp.Diff(titles, []string{"Hypotheses", "Evidence", "Mitigation plan", "Gaps"}); diff != "" {
		t.Errorf("sections (-got +want):\n%s", diff)
	}
	ev := m.Sections[1].Text
	if strings.Contains(ev, "but nothing it depends on") {
		t.Error("evidence against the hypothesis is listed as evidence for it")
	}
	if n := strings.Count(ev, "\n- ") + 1; n != 5 {
		t.Errorf("evidence lists %d items, want the first 5 supporting ones", n)
	}
	if hy := m.Sections[0].Text; strings.Contains(hy, "frontend") {
		t.Errorf("hypotheses list more than three: %q", hy)
	}
}

func TestFollowUp(t *testing.T) {
	rep := fullReport()
	rep.Hypotheses[1].Evidence = []engine.Evidence{
		{Kind: "change", Summary: "deployment 03:50 by argocd: \"rolled out checkout v2.14.1\", 30m before the first anomaly it could cause"},
	}
	noChanges := fullReport()
	noChanges.Hypotheses[0].Evidence = nil
	noGaps := fullReport()
	noGaps.Gaps = nil
	noHyp := &engine.Report{Summary: "No anomaly, change or error message around the alert explains it."}

	tests := []struct {
		name     string
		r        *engine.Report
		question string
		prefix   string   // the answer starts with it
		contains []string // and contains these
	}{
		{"plan", rep, "What should we do?", "*Mitigation plan*\n1. Relieve aws/rds/orders-db", []string{"✔ Active connections return to baseline.", "↩ Restore the previous pool sizes."}},
		{"rollback", rep, "how do we roll back", "*Mitigation plan*", nil},
		{"mitigate", rep, "Any mitigation?", "*Mitigation plan*", nil},
		{"changes", rep, "was there a deploy before this?", "*Changes that preceded the onset*\n- ", []string{"related deployment on k8s/shop/deployment/checkout", "rolled out checkout v2.14.1"}},
		{"config", rep, "Did someone change the config?", "*Changes that preceded the onset*", nil},
		{"no changes", noChanges, "what changed?", "No change (deployment, configuration, flag, infrastructure) preceded the onset", nil},
		{"alternatives", rep, "What else could it be?", "*Ranked hypotheses*\n1. `aws/rds/orders-db` — database, 87%", []string{"4. `k8s/shop/deployment/frontend` — dependency, 5%"}},
		{"confidence", rep, "How confident are you?", "*Ranked hypotheses*", nil},
		{"gaps", rep, "What could not be checked?", "*What could not be checked*\n- no metrics for 1 resources", []string{"- 1204 log lines matched"}},
		{"blind spots", rep, "any blind spots", "*What could not be checked*", nil},
		{"no gaps", noGaps, "anything missing?", "Every tool the space offers answered; no gaps.", nil},
		{"why", rep, "Why?", "*aws/rds/orders-db* (database, 87%): aws/rds/orders-db (database): DatabaseConnections", []string{"- DatabaseConnections rose from 118 to 796 Count at 04:20:00 (step, z=208) _(query_metrics#5)_"}},
		{"root cause", rep, "root cause?", "*aws/rds/orders-db* (database, 87%)", nil},
		{"no hypotheses", noHyp, "what should we do?", "No anomaly, change or error message around the alert explains it.", nil},
		{"not finished", nil, "why?", "The investigation has not finished yet", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bot.FollowUp(tt.r, tt.question).Text
			if !strings.HasPrefix(got, tt.prefix) {
				t.Errorf("FollowUp(%q) =\n%s\nwant it to start with\n%s", tt.question, got, tt.prefix)
			}
			for _, c := range tt.contains {
				if !strings.Contains(got, c) {
					t.Errorf("FollowUp(%q) =\n%s\nwant it to contain %q", tt.question, got, c)
				}
			}
		})
	}
}

func TestFollowUpWhyOmitsEvidenceAgainst(t *testing.T) {
	got := bot.FollowUp(fullReport(), "why do you think so").Text
	if strings.Contains(got, "but nothing it depends on") {
		t.Errorf("evidence against the hypothesis is given as a reason:\n%s", got)
	}
	if strings.Contains(got, "checkout was deployed") {
		t.Errorf("the answer mixes in another hypothesis:\n%s", got)
	}
}

func TestFollowUpChangesAreDeduplicated(t *testing.T) {
	rep := fullReport()
	same := engine.Evidence{Kind: "change", Summary: "deployment 03:50 by argocd: \"rolled out checkout v2.14.1\""}
	rep.Hypotheses[1].Evidence = []engine.Evidence{same}
	rep.Hypotheses[2].Evidence = []engine.Evidence{same}
	got := bot.FollowUp(rep, "any deploys?").Text
	if n := strings.Count(got, "rolled out checkout v2.14.1"); n != 1 {
		t.Errorf("one change listed %d times:\n%s", n, got)
	}
}

func TestFollowUpSubstringRouting(t *testing.T) {
	// Keywords are matched as substrings of the question, so words that
	// merely contain one are routed to its answer.
	tests := []struct {
		question string
		want     string // prefix of the right answer
		bug      string
	}{
		{"What does the evidence show?", "*aws/rds/orders-db*",
			`"what do" matches inside "what does", so a question about the evidence gets the mitigation plan (bot/followup.go:32)`},
		{"I need an explanation of the root cause", "*aws/rds/orders-db*",
			`"plan" matches inside "explanation", so a request for the explanation gets the mitigation plan (bot/followup.go:32)`},
		{"Why is the database under so much pressure?", "*aws/rds/orders-db*",
			`"sure" matches inside "pressure", so a why-question gets the ranked alternatives (bot/followup.go:51)`},
	}
	for _, tt := range tests {
		t.Run(tt.question, func(t *testing.T) {
			got := bot.FollowUp(fullReport(), tt.question).Text
			if strings.HasPrefix(got, tt.want) {
				return
			}
			first, _, _ := strings.Cut(got, "\n")
			t.Errorf("%s; got %q", tt.bug, first)
		})
	}
}
