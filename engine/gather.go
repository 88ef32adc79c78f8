package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine/topology"
)

// gathered is the raw evidence of one investigation, each piece with the
// tool call it came from.
type gathered struct {
	t0      time.Time
	start   time.Time
	end     time.Time
	focus   []string
	graph   *topology.Graph
	info    map[string]ResourceInfo
	series  []gotSeries
	logs    []gotLog
	changes []gotChange
	alarms  []AlarmInfo
	noData  []string // candidates whose metrics came back empty
}

type gotSeries struct {
	Series
	call string
}

type gotLog struct {
	LogEntry
	call string
}

type gotChange struct {
	Change
	call string
}

// gatherDepth is how many hops around the alerting resources the reasoner
// inspects; maxCandidates bounds the metric queries.
const (
	gatherDepth   = 3
	maxCandidates = 60
)

// gather collects the evidence through the task's tools.
func (r *EvidenceReasoner) gather(ctx context.Context, t *Task) (*gathered, error) {
	g := &gathered{t0: t.Incident, start: t.Incident.Add(-r.lookback()), end: t.Incident.Add(r.after()),
		graph: topology.New(), info: map[string]ResourceInfo{}}
	for _, a := range t.Alerts {
		for _, res := range a.Resources {
			if !contains(g.focus, res) {
				g.focus = append(g.focus, res)
			}
		}
	}

	// Topology around the alerting resources.
	t.Status(ctx, PhaseGather, "Mapping the topology around "+strings.Join(short(g.focus, 3), ", "))
	topo := firstTool(t, CategoryTopology)
	if topo == "" {
		t.Gap("no topology tool: the blast radius and causal order were not available")
	}
	for _, f := range g.focus {
		g.graph.AddNode(topology.Node{ID: f})
		if topo == "" {
			continue
		}
		res, _, err := t.Call(ctx, topo, TopologyQuery{Resource: f, Depth: gatherDepth})
		if err != nil {
			if errors.Is(err, ErrBudget) {
				break
			}
			t.Gap(fmt.Sprintf("topology of %s: %s", f, SafeError(err)))
			continue
		}
		var tr TopologyResult
		if err := json.Unmarshal(res.Data, &tr); err != nil {
			t.Gap(fmt.Sprintf("topology of %s: unreadable result", f))
			continue
		}
		for _, ri := range tr.Resources {
			g.info[ri.ID] = ri
			g.graph.AddNode(topology.Node{ID: ri.ID, Type: ri.Type, Name: ri.Name, Labels: ri.Labels})
		}
		for _, e := range tr.Edges {
			g.graph.AddEdge(e.From, e.To)
		}
	}
	candidates := append([]string(nil), g.focus...)
	for _, f := range g.focus {
		for _, h := range g.graph.Reachable(f, topology.Both, gatherDepth) {
			if !contains(candidates, h.ID) {
				candidates = append(candidates, h.ID)
			}
		}
	}
	if len(candidates) > maxCandidates {
		t.Gap(fmt.Sprintf("%d resources around the alert; inspected the nearest %d", len(candidates), maxCandidates))
		candidates = candidates[:maxCandidates]
	}

	// Metrics of every candidate.
	if tool := firstTool(t, CategoryMetrics); tool == "" {
		t.Gap("no metrics tool: anomaly onsets could not be measured")
	} else {
		t.Status(ctx, PhaseGather, fmt.Sprintf("Reading metrics of %d resources around the alert", len(candidates)))
		for _, c := range candidates {
			res, ref, err := t.Call(ctx, tool, MetricsQuery{Resource: c, Start: g.start, End: g.end})
			if err != nil {
				if errors.Is(err, ErrBudget) {
					t.Gap("tool-call budget spent while reading metrics")
					break
				}
				if ctx.Err() != nil {
					return g, ctx.Err()
				}
				g.noData = append(g.noData, c)
				continue
			}
			var mr MetricsResult
			if err := json.Unmarshal(res.Data, &mr); err != nil {
				continue
			}
			if len(mr.Series) == 0 {
				g.noData = append(g.noData, c)
			}
			for _, s := range mr.Series {
				g.series = append(g.series, gotSeries{s, ref})
			}
		}
	}

	// Warnings and errors in the logs.
	if tool := firstTool(t, CategoryLogs); tool == "" {
		t.Gap("no log tool: error messages were not searched")
	} else {
		t.Status(ctx, PhaseGather, "Searching warnings and errors in the logs")
		res, ref, err := t.Call(ctx, tool, LogQuery{Level: "warn", Start: g.start, End: g.end, Limit: 1000})
		if err == nil {
			var lr LogsResult
			if json.Unmarshal(res.Data, &lr) == nil {
				for _, e := range lr.Entries {
					g.logs = append(g.logs, gotLog{e, ref})
				}
				if lr.Total > len(lr.Entries) {
					t.Gap(fmt.Sprintf("%d log lines matched; read the newest %d", lr.Total, len(lr.Entries)))
				}
			}
		} else if !errors.Is(err, ErrBudget) {
			t.Gap("log search: " + SafeError(err))
		}
	}

	// Changes: deployments, configuration, infrastructure, flags.
	if tool := firstTool(t, CategoryChanges); tool == "" {
		t.Gap("no change history: deployments and configuration changes were not checked")
	} else {
		t.Status(ctx, PhaseGather, "Listing deployments and configuration changes")
		res, ref, err := t.Call(ctx, tool, ChangeQuery{Start: g.t0.Add(-changeLookback), End: g.end})
		if err == nil {
			var cr ChangesResult
			if json.Unmarshal(res.Data, &cr) == nil {
				for _, c := range cr.Changes {
					g.changes = append(g.changes, gotChange{c, ref})
				}
			}
		} else if !errors.Is(err, ErrBudget) {
			t.Gap("change history: " + SafeError(err))
		}
	}

	// Alarms firing elsewhere.
	if tool := firstTool(t, CategoryAlarms); tool != "" {
		res, _, err := t.Call(ctx, tool, AlarmQuery{Start: g.start, End: g.end})
		if err == nil {
			var ar AlarmsResult
			if json.Unmarshal(res.Data, &ar) == nil {
				g.alarms = ar.Alarms
			}
		}
	}
	return g, nil
}

// describe fetches the spec of a resource once.
func (r *EvidenceReasoner) describe(ctx context.Context, t *Task, g *gathered, id string) (ResourceInfo, string, bool) {
	tool := firstTool(t, CategoryDescribe)
	if tool == "" {
		return g.info[id], "", g.info[id].Spec != nil
	}
	res, ref, err := t.Call(ctx, tool, DescribeQuery{Resource: id})
	if err != nil {
		return g.info[id], "", false
	}
	var ri ResourceInfo
	if json.Unmarshal(res.Data, &ri) != nil {
		return g.info[id], "", false
	}
	g.info[id] = ri
	return ri, ref, true
}

// changeLookback is how far back changes are listed: a bad release can take
// hours to show (a slow leak), most show within minutes.
const changeLookback = 6 * time.Hour

func firstTool(t *Task, c ToolCategory) string {
	if ts := t.ToolsOf(c); len(ts) > 0 {
		return ts[0].Name
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func short(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	out := append([]string(nil), list[:n]...)
	return append(out, fmt.Sprintf("and %d more", len(list)-n))
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
