// Package bottest holds fixtures shared by the chat surfaces' tests, so
// that Slack and Teams render the very same investigation.
package bottest

import (
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// FullReport is a realistic report with every part a renderer shows:
// hypotheses with evidence (one negative, one with characters to escape),
// a plan, gaps and cost.
func FullReport() *engine.Report {
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
					{Kind: "log", Resource: "aws/rds/orders-db", Summary: "new error message since 04:21 (71×): \"FATAL: <too many clients> & retrying\"", Call: "search_logs#7", Weight: 0.6},
					{Kind: "change", Resource: "k8s/shop/deployment/checkout", Summary: "related deployment on k8s/shop/deployment/checkout at 03:50 names it", Call: "list_changes#8", Weight: 0.3},
				}},
			{Resource: "k8s/shop/deployment/checkout", Category: "bad-deploy", Confidence: 0.25, Statement: "checkout was deployed 30m before."},
			{Resource: "k8s/shop/deployment/order-history", Category: "dependency", Confidence: 0.13, Statement: "order-history is slow."},
		},
		Plan: []engine.PlanStep{
			{Action: "Relieve aws/rds/orders-db: kill idle-in-transaction sessions.", Validation: "Active connections return to baseline.", Rollback: "None for killed sessions.", Risk: "medium"},
			{Action: "Limit callers' connection pools.", Validation: "Connections stay under 80% of max_connections.", Rollback: "Restore the previous pool sizes.", Risk: "low"},
		},
		Gaps: []string{"no metrics for 1 resources: aws/elasticache/sessions", "1204 log lines matched; read the newest 1000"},
		Cost: engine.Cost{ToolCalls: 14, ModelCalls: 2, Tokens: 5120, Wall: 2345678901 * time.Nanosecond},
	}
}
