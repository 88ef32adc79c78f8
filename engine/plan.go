package engine

import (
	"fmt"
	"strings"
)

// planFor writes a mitigation plan for the top hypothesis: concrete steps,
// least risky first, each with how to check it worked and how to undo it.
// Nightshift never runs these itself: it is read-only by construction.
func planFor(top Hypothesis, a *analysis) []PlanStep {
	r := top.Resource
	s := a.suspects[r]
	symptom := "the alerting symptom"
	if len(a.g.focus) > 0 {
		symptom = "the alert on " + a.g.focus[0]
	}
	var change *changeHit
	if s != nil {
		for i := range s.changes {
			if change == nil || s.changes[i].strength > change.strength {
				change = &s.changes[i]
			}
		}
	}
	var steps []PlanStep
	add := func(action, validation, rollback, risk string) {
		steps = append(steps, PlanStep{Action: action, Validation: validation, Rollback: rollback, Risk: risk})
	}
	revert := func(what string) {
		add(fmt.Sprintf("Revert %s on %s (%q).", what, r, change.c.Summary),
			fmt.Sprintf("Within 10 minutes the anomalous metrics of %s return to their level before %s, and %s clears.", r, change.c.T.UTC().Format("15:04"), symptom),
			fmt.Sprintf("Re-apply the change (%q) once it is fixed and tested.", change.c.Summary), "low")
	}
	switch top.Category {
	case "bad-deploy":
		if change != nil {
			revert("the deployment")
		} else {
			add("Roll "+r+" back to its previous release.", "Error rate and latency of "+r+" return to baseline; "+symptom+" clears.",
				"Roll forward to the current release again.", "low")
		}
		add("Hold further releases of "+r+" until the failing change is understood.", "The release pipeline shows the hold.", "Lift the hold.", "low")
	case "config-change", "feature-flag":
		what := "the configuration change"
		if top.Category == "feature-flag" {
			what = "the feature flag"
		}
		if change != nil {
			revert(what)
		} else {
			add("Find and revert the most recent "+what+" of "+r+".", "The anomalous metrics of "+r+" return to baseline.", "Re-apply it.", "low")
		}
	case "resource-limits":
		ctr := containerIn(top)
		switch {
		case mentions(top, "no CPU limit"):
			add(fmt.Sprintf("Stop or cap %s: set a CPU limit on it (or suspend it) so it cannot take a shared node's every core.", r),
				"The shared node's CPU falls under 80% and its neighbours' latency returns to baseline within 10 minutes.",
				"Remove the limit (or resume it) once it runs on a node of its own.", "low")
			add("Give batch workloads their own node pool (taints and tolerations) and requests that match their use.",
				"Batch pods schedule only on their pool; service latency stays at baseline while they run.", "Remove the taint and toleration.", "medium")
		case mentions(top, "sidecar"):
			add(fmt.Sprintf("Raise the CPU limit of the %sor roll back the release that added it.", strings.TrimSuffix(ctr, "of ")),
				"Throttling (container_cpu_cfs_throttled_periods / container_cpu_cfs_periods) falls under 5% and "+symptom+" clears within 10 minutes.",
				"Restore the previous limit, or redeploy the release.", "low")
		default:
			add(fmt.Sprintf("Raise the CPU/memory limit of %s%s, or scale it out.", ctr, r),
				"Throttling falls under 5% and "+symptom+" clears within 10 minutes.",
				"Restore the previous limits or replica count.", "low")
		}
	case "memory-leak":
		add("Restart the pods of "+r+" in a rolling way to reclaim memory now.", "Memory drops to baseline and OOM kills stop; "+symptom+" clears.",
			"None needed (pods restart with the same spec).", "low")
		if change != nil {
			revert("the release that introduced the growth")
		}
		add("Raise the memory limit of "+r+" temporarily while the leak is fixed.", "No OOMKilled events for an hour.", "Restore the previous limit.", "medium")
	case "capacity":
		add("Scale out "+r+" (replicas, provisioned capacity or autoscaling maximum).", "Saturation and throttling fall; "+symptom+" clears.",
			"Scale back to the previous size once load subsides.", "low")
	case "quota":
		add("Cap the workload that consumes the shared quota of "+r+" (reserved concurrency, rate limits), or request a quota increase.",
			"Throttles drop to zero for the other consumers.", "Remove the cap.", "low")
	case "database":
		add("Relieve "+r+": kill long-running or idle-in-transaction sessions and raise its connection or IO headroom.",
			"Active connections and IO latency of "+r+" return to baseline; callers' pool waits stop.", "None for killed sessions; revert parameter changes.", "medium")
		add("Limit callers' connection pools so they cannot exhaust "+r+" again.", "Connections stay under 80% of max_connections.", "Restore the previous pool sizes.", "low")
	case "disk-full":
		add("Free space on "+r+" (remove what fills it) or grow its storage.", "Free storage rises above 20% and writes succeed.", "Shrinking storage is usually not possible: keep the larger size.", "medium")
	case "certificate":
		add("Rotate the expired certificate used by "+r+" and update the trust store of its clients.", "TLS handshakes succeed (no x509 errors in the clients' logs).",
			"Restore the previous certificate bundle.", "medium")
	case "network":
		if change != nil {
			revert("the network change")
		} else {
			add("Restore the network path to "+r+" (security groups, NACLs, routes, DNS).", "Connections from its callers succeed again; timeouts stop.", "Re-apply the previous rules.", "medium")
		}
	default: // dependency
		add("Fail over or degrade gracefully around "+r+" (circuit breaker, cached responses, feature toggle).",
			symptom+" clears while "+r+" is bypassed.", "Route traffic back to "+r+".", "medium")
		add("Engage the owners of "+r+" with the evidence below.", "They confirm or refute the cause.", "—", "low")
	}
	add("Watch "+symptom+" and the anomalous metrics for 30 minutes after the change.", "They stay at baseline.", "If they do not, undo the last step and re-investigate.", "low")
	return steps
}

func mentions(h Hypothesis, s string) bool {
	if strings.Contains(h.Statement, s) {
		return true
	}
	for _, e := range h.Evidence {
		if strings.Contains(e.Summary, s) {
			return true
		}
	}
	return false
}

// containerIn names the container a hypothesis' evidence points at, if any.
func containerIn(h Hypothesis) string {
	for _, e := range h.Evidence {
		if i := strings.Index(e.Summary, "container="); i >= 0 {
			rest := e.Summary[i+len("container="):]
			if j := strings.IndexAny(rest, ",}"); j > 0 {
				return "container " + rest[:j] + " of "
			}
		}
	}
	return ""
}
