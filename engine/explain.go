package engine

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine/skills"
	"github.com/nightshift-ops/nightshift/engine/topology"
)

// Log templating: the variable parts of a message are masked so that one
// message repeated with different ids, numbers and durations is one template.
var (
	reUUID   = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	reHex    = regexp.MustCompile(`\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{12,}\b`)
	reIP     = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b`)
	reNumber = regexp.MustCompile(`\d+(\.\d+)?`)
	reToken  = regexp.MustCompile(`[a-z0-9][a-z0-9-]*[a-z0-9]`)
)

func template(msg string) string {
	s := reUUID.ReplaceAllString(msg, "<id>")
	s = reHex.ReplaceAllString(s, "<hex>")
	s = reIP.ReplaceAllString(s, "<ip>")
	s = reNumber.ReplaceAllString(s, "<n>")
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

// groupLogs folds log lines into templates per resource and marks the ones
// that are new: absent in the first third of the window, so a message that
// has always been there (scary but harmless) is not news.
func groupLogs(g *gathered, byName map[string]string) []*logGroup {
	groups := map[string]*logGroup{}
	newAfter := g.start.Add(g.t0.Sub(g.start) / 3)
	for i := range g.logs {
		e := &g.logs[i]
		key := e.Resource + "\x00" + template(e.Message)
		lg := groups[key]
		if lg == nil {
			lg = &logGroup{resource: e.Resource, template: template(e.Message), example: e.Message, level: e.Level,
				first: e.T, last: e.T, call: e.call}
			groups[key] = lg
			lower := strings.ToLower(e.Message)
			for _, tok := range reToken.FindAllString(lower, -1) {
				if id := byName[tok]; id != "" && id != e.Resource && !contains(lg.mentions, id) {
					lg.mentions = append(lg.mentions, id)
				}
			}
			// Host names ("api.paygate.example") span several tokens.
			for name, id := range byName {
				if id != "" && id != e.Resource && strings.Contains(name, ".") && strings.Contains(lower, name) && !contains(lg.mentions, id) {
					lg.mentions = append(lg.mentions, id)
				}
			}
		}
		lg.count++
		if e.T.Before(lg.first) {
			lg.first = e.T
		}
		if e.T.After(lg.last) {
			lg.last, lg.example = e.T, e.Message
		}
		if levelRank(e.Level) > levelRank(lg.level) {
			lg.level = e.Level
		}
	}
	out := make([]*logGroup, 0, len(groups))
	for _, k := range sortedKeys(groups) {
		lg := groups[k]
		lg.isNew = lg.first.After(newAfter) && !lg.first.After(g.end)
		out = append(out, lg)
	}
	return out
}

// observations adapts the evidence into the skills' check model.
func (a *analysis) observations(g *gathered) []skills.Observation {
	var obs []skills.Observation
	for _, s := range a.suspects {
		for _, ob := range s.anomalies {
			if ob.benign || ob.strength < 0.35 {
				continue
			}
			obs = append(obs, skills.Observation{Kind: skills.KindMetric, Resource: ob.origin,
				ResourceType: g.info[ob.origin].Type, Name: ob.series.Name, Labels: ob.series.Labels, Value: ob.res.After})
		}
	}
	seen := map[*logGroup]bool{}
	for _, s := range a.suspects {
		for _, lg := range s.logs {
			if seen[lg] {
				continue
			}
			seen[lg] = true
			obs = append(obs, skills.Observation{Kind: skills.KindLog, Resource: lg.resource,
				ResourceType: g.info[lg.resource].Type, Text: lg.example})
		}
		for _, ch := range s.changes {
			obs = append(obs, skills.Observation{Kind: skills.KindChange, Resource: ch.c.Resource,
				ResourceType: g.info[ch.c.Resource].Type, Name: ch.c.Kind, Text: ch.c.Summary})
		}
	}
	sort.SliceStable(obs, func(i, j int) bool { return obs[i].Resource < obs[j].Resource })
	return obs
}

// container is one container of a workload spec, as providers describe them.
type container struct {
	name     string
	cpuLimit string
	memLimit string
	sidecar  bool
}

// containersOf finds container lists anywhere in a spec (pods, deployments,
// job templates) without assuming one provider's layout.
func containersOf(spec any) []container {
	var out []container
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 6 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, v := range x {
				if list, ok := v.([]any); ok && (k == "containers" || k == "sidecars" || k == "init_containers" || k == "initContainers") {
					for _, c := range list {
						m, ok := c.(map[string]any)
						if !ok {
							continue
						}
						ct := container{name: str(m["name"]), cpuLimit: firstStr(m, "cpu_limit", "cpuLimit", "limits.cpu"),
							memLimit: firstStr(m, "memory_limit", "memoryLimit", "limits.memory")}
						lim, ok := m["limits"].(map[string]any)
						if res, rok := m["resources"].(map[string]any); rok && !ok {
							lim, ok = res["limits"].(map[string]any) // Kubernetes: resources.limits
						}
						if ok {
							ct.cpuLimit = firstStr(lim, "cpu")
							ct.memLimit = firstStr(lim, "memory")
						}
						if b, ok := m["sidecar"].(bool); ok && b || k == "sidecars" {
							ct.sidecar = true
						}
						out = append(out, ct)
					}
					continue
				}
				walk(v, depth+1)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		}
	}
	walk(spec, 0)
	return out
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func firstStr(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s := str(m[k]); s != "" {
			return s
		}
	}
	return ""
}

// inspectSpec reads a suspect's workload spec and adds the rules that only a
// spec can tell: limits apply per container, so a container throttled at its
// own CPU limit is the bottleneck even when the pod looks fine; a workload
// without a CPU limit can take a shared node's every core.
func (r *EvidenceReasoner) inspectSpec(ctx context.Context, t *Task, g *gathered, s *suspect) {
	info, ref, ok := r.describe(ctx, t, g, s.id)
	if !ok || info.Spec == nil {
		return
	}
	cs := containersOf(map[string]any(info.Spec))
	if len(cs) == 0 {
		return
	}
	for _, ob := range s.anomalies {
		if ob.benign || ob.signal != SignalThrottling {
			continue
		}
		name := ob.series.Labels["container"]
		for _, c := range cs {
			if c.name == "" || c.name != name || c.cpuLimit == "" {
				continue
			}
			role := "container"
			if c.sidecar || len(cs) > 1 && !strings.Contains(strings.ToLower(info.Name+s.id), strings.ToLower(c.name)) {
				role = "sidecar container"
			}
			s.evidence = append(s.evidence, Evidence{Kind: "spec", Resource: s.id, Call: ref, Weight: 1,
				Summary: fmt.Sprintf("%s %s has its own CPU limit of %s and is throttled at it (limits apply per container, so pod-level CPU looks normal)", role, c.name, c.cpuLimit)})
			if role == "container" {
				// The main container at its limit: too small a limit, or
				// too few replicas for the load. Other evidence decides.
				s.cats["resource-limits"] += 0.4
				continue
			}
			s.cats["resource-limits"] += 1.5
			s.rule = math.Min(1, s.rule+0.5)
		}
	}
	if len(s.loadFor) > 0 || s.causal {
		for _, ob := range s.anomalies {
			if ob.benign || ob.signal != SignalCPU || ob.res.Direction <= 0 {
				continue
			}
			for _, c := range cs {
				if c.cpuLimit == "" && (ob.series.Labels["container"] == "" || ob.series.Labels["container"] == c.name) {
					s.evidence = append(s.evidence, Evidence{Kind: "spec", Resource: s.id, Call: ref, Weight: 1,
						Summary: fmt.Sprintf("container %s has no CPU limit, so its CPU use can take every spare core of a shared node", c.name)})
					s.cats["resource-limits"] += 1.5
					return
				}
			}
		}
	}
}

// categorise votes for a suspect's root-cause category from its evidence.
// Each kind of evidence votes once per category, so one observation seen
// three ways (a metric, the skill rule on it, the spec) does not outvote
// everything else.
func (a *analysis) categorise(s *suspect) {
	rules := map[string]float64{}
	for _, f := range s.rules {
		if f.Observation.Kind == skills.KindChange {
			continue // the change votes itself, below
		}
		rules[f.Category] = math.Min(4, rules[f.Category]+2)
	}
	for c, v := range rules {
		s.cats[c] += v
	}
	for _, ch := range s.changes {
		w := 2 * ch.strength
		if len(s.loadFor) > 0 {
			// It overloaded others: their saturation is the effect, what
			// changed in it is the cause.
			w *= 2
		}
		s.cats[changeCategory(ch.c.Change)] += w
	}
	for _, x := range s.loadFor {
		if isQuota(a.g, x) {
			s.cats["quota"] += 4 // it used up a shared quota: a quota incident by definition
		}
	}
	signals := map[Signal]bool{}
	containerThrottled := false
	for _, ob := range s.anomalies {
		if ob.benign || ob.strength < 0.3 {
			continue
		}
		signals[ob.signal] = true
		if ob.signal == SignalThrottling && ob.series.Labels["container"] != "" {
			containerThrottled = true
		}
	}
	vote := func(c string, v float64) { s.cats[c] += v }
	isDB := isDatabase(a.g, s.id)
	for sig := range signals {
		switch sig {
		case SignalMemory:
			vote("memory-leak", 0.6)
		case SignalRestarts:
			vote("memory-leak", 0.3)
		case SignalThrottling:
			if containerThrottled {
				vote("resource-limits", 0.8)
			} else {
				vote("capacity", 0.6)
				vote("quota", 0.4)
			}
		case SignalCPU:
			vote("resource-limits", 0.4)
			vote("capacity", 0.3)
		case SignalConnections:
			vote("database", 1)
		case SignalDisk:
			vote("disk-full", 1)
		case SignalIO:
			if isDB {
				vote("database", 0.8)
			} else {
				vote("capacity", 0.5)
			}
		case SignalQueue:
			vote("capacity", 0.4)
		case SignalCapacity:
			vote("capacity", 0.7)
		case SignalErrors, SignalLatency, SignalSuccess:
			vote("dependency", 0.2)
		}
	}
	if signals[SignalMemory] && signals[SignalRestarts] {
		vote("memory-leak", 1)
	}
	if isDB && len(signals) > 0 {
		vote("database", 0.8)
	}
	if len(s.cats) == 0 {
		s.cats["dependency"] = 0.1
	}
}

// isQuota reports whether a resource is a service quota or account limit.
func isQuota(g *gathered, id string) bool {
	s := strings.ToLower(g.info[id].Type + " " + id)
	return strings.Contains(s, "quota") || strings.Contains(s, "servicelimit") || strings.Contains(s, "service-limit")
}

// isDatabase reports whether a resource is a database, from its type or id.
func isDatabase(g *gathered, id string) bool {
	s := strings.ToLower(g.info[id].Type + " " + id)
	for _, w := range []string{"rds", "aurora", "postgres", "mysql", "mariadb", "database", "sql", "mongo", "cassandra", "-db", "_db"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// changeCategory maps a change onto the category it would cause.
func changeCategory(c Change) string {
	switch c.Kind {
	case "deployment":
		return "bad-deploy"
	case "feature-flag":
		return "feature-flag"
	case "scaling":
		return "capacity"
	case "infrastructure", "iam":
		s := strings.ToLower(c.Summary)
		for _, w := range []string{"security group", "security-group", "ingress", "egress", "nacl", "route", "firewall", "dns", "subnet", "network policy", "networkpolicy", "sg-"} {
			if strings.Contains(s, w) {
				return "network"
			}
		}
		return "config-change"
	}
	return "config-change"
}

func bestCategory(cats map[string]float64) string {
	best, bestV := "dependency", -1.0
	for _, c := range Categories {
		if v := cats[c]; v > bestV {
			best, bestV = c, v
		}
	}
	return best
}

// hypothesis writes one ranked suspect as a Hypothesis with its evidence.
func (a *analysis) hypothesis(s *suspect) Hypothesis {
	cat := bestCategory(s.cats)
	var ev []Evidence
	for _, ch := range s.changes {
		ev = append(ev, Evidence{Kind: "change", Resource: ch.c.Resource, At: ch.c.T, Call: ch.c.call, Weight: ch.strength,
			Summary: fmt.Sprintf("%s %s by %s: %q, %s before the first anomaly it could cause", ch.c.Kind, ch.c.T.UTC().Format("15:04"),
				orDash(ch.c.Actor), ch.c.Summary, roundDur(ch.gap))})
	}
	ev = append(ev, s.evidence...)
	for _, f := range s.rules {
		ev = append(ev, Evidence{Kind: "rule", Resource: f.Resource, Weight: 0.8, Summary: fmt.Sprintf("%s (skill %s)", f.Message, f.Skill)})
	}
	obs := append([]*anomalyObs(nil), s.anomalies...)
	sort.SliceStable(obs, func(i, j int) bool {
		if obs[i].benign != obs[j].benign {
			return !obs[i].benign
		}
		return obs[i].strength > obs[j].strength
	})
	// The strongest anomaly of each kind of signal first, so that the
	// evidence shows the different things that went wrong, not four views
	// of one.
	var picked []*anomalyObs
	seenSig := map[Signal]bool{}
	for _, ob := range obs {
		if !ob.benign && !seenSig[ob.signal] {
			seenSig[ob.signal] = true
			picked = append(picked, ob)
		}
	}
	for _, ob := range obs {
		if !contains2(picked, ob) {
			picked = append(picked, ob)
		}
	}
	for i, ob := range picked {
		if i == 5 {
			break
		}
		ev = append(ev, anomalyEvidence(ob))
	}
	for i, lg := range s.logs {
		if i == 3 {
			break
		}
		ev = append(ev, Evidence{Kind: "log", Resource: lg.resource, At: lg.first, Call: lg.call, Weight: 0.6,
			Summary: fmt.Sprintf("new %s message on %s since %s (%d×): %q", lg.level, lg.resource, lg.first.UTC().Format("15:04"), lg.count, clip(lg.example, 160))})
	}
	ev = append(ev, a.relatedChanges(s)...)
	for _, x := range s.loadFor {
		ev = append(ev, Evidence{Kind: "topology", Resource: s.id, Weight: 0.7,
			Summary: fmt.Sprintf("its load rose before %s saturated, and %s depends on it", x, x)})
		if !strings.Contains(x, s.id) {
			ev[len(ev)-1].Summary = fmt.Sprintf("its load rose no later than %s saturated: it overloaded a dependency it shares", x)
		}
	}
	if s.explain > 0 && len(a.anomalous) > 1 {
		ev = append(ev, Evidence{Kind: "topology", Resource: s.id, Weight: 0.5,
			Summary: fmt.Sprintf("%d of %d anomalous resources are in its blast radius", int(math.Round(s.explain*float64(len(a.anomalous)))), len(a.anomalous))})
	}
	if s.victimOf != "" {
		ev = append(ev, Evidence{Kind: "topology", Resource: s.id, Weight: -0.5,
			Summary: fmt.Sprintf("but %s, which it depends on or shares, went bad first", s.victimOf)})
	}
	return Hypothesis{Resource: s.id, Category: cat, Statement: statement(s, cat, a.g), Evidence: ev, Onset: s.onset}
}

func contains2(list []*anomalyObs, x *anomalyObs) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// relatedChanges are changes elsewhere whose description names the suspect:
// context a human would want next to the anomalies (a replication task
// deleted from the database's source, a security group rule naming it).
func (a *analysis) relatedChanges(s *suspect) []Evidence {
	var out []Evidence
	for i := range a.g.changes {
		c := &a.g.changes[i]
		if c.Resource == s.id || c.T.After(a.g.end) {
			continue
		}
		lower := strings.ToLower(c.Summary)
		named := false
		for _, tok := range reToken.FindAllString(lower, -1) {
			if a.byName[tok] == s.id {
				named = true
				break
			}
		}
		if !named {
			continue
		}
		out = append(out, Evidence{Kind: "change", Resource: c.Resource, At: c.T, Call: c.call, Weight: 0.3,
			Summary: fmt.Sprintf("related %s on %s at %s names it: %q", c.Kind, c.Resource, c.T.UTC().Format("15:04"), c.Summary)})
		if len(out) == 2 {
			break
		}
	}
	return out
}

// statement is the one-sentence root cause of a suspect.
func statement(s *suspect, cat string, g *gathered) string {
	name := s.id
	var why []string
	for _, e := range s.evidence {
		if e.Kind == "spec" {
			why = append(why, e.Summary)
		}
	}
	if len(s.changes) > 0 {
		best := s.changes[0]
		for _, c := range s.changes {
			if c.strength > best.strength {
				best = c
			}
		}
		why = append(why, fmt.Sprintf("%s %q went out %s before the trouble started", best.c.Kind, best.c.Summary, roundDur(best.gap)))
	}
	if ob := strongest(s.anomalies); ob != nil {
		why = append(why, describeAnomaly(ob))
	}
	for _, f := range s.rules {
		why = append(why, f.Message)
		break
	}
	if len(s.logs) > 0 {
		why = append(why, fmt.Sprintf("new %s messages: %q", s.logs[0].level, clip(s.logs[0].example, 120)))
	}
	if len(s.loadFor) > 0 {
		why = append(why, "its rising load saturated "+strings.Join(s.loadFor, ", "))
	}
	if len(why) == 0 {
		why = append(why, "it is the deepest anomalous resource the alert depends on")
	}
	if len(why) > 3 {
		why = why[:3]
	}
	return fmt.Sprintf("%s (%s): %s.", name, cat, strings.Join(why, "; "))
}

func describeAnomaly(ob *anomalyObs) string {
	dir := "rose"
	if ob.res.Direction < 0 {
		dir = "fell"
	}
	lbl := ""
	if len(ob.series.Labels) > 0 {
		var parts []string
		for _, k := range sortedKeys(ob.series.Labels) {
			parts = append(parts, k+"="+ob.series.Labels[k])
		}
		lbl = "{" + strings.Join(parts, ",") + "}"
	}
	where := ""
	if ob.origin != ob.resource {
		where = " (seen from " + ob.origin + ")"
	}
	return fmt.Sprintf("%s%s %s from %s to %s %s at %s%s", ob.series.Name, lbl, dir, num(ob.res.Before), num(ob.res.After),
		ob.series.Unit, ob.res.Onset.UTC().Format("15:04:05"), where)
}

func anomalyEvidence(ob *anomalyObs) Evidence {
	return Evidence{Kind: "metric", Resource: ob.resource, At: ob.res.Onset, Call: ob.series.call,
		Weight: math.Round(ob.strength*100) / 100, Summary: describeAnomaly(ob) + fmt.Sprintf(" (%s, z=%s)", ob.res.Kind, num(ob.res.Score))}
}

// summarise writes the posted root cause: the statement, the strongest
// evidence and the blast radius.
func summarise(top Hypothesis, a *analysis) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Most likely root cause: %s", top.Statement)
	n := 0
	for _, e := range top.Evidence {
		if e.Weight <= 0 || n == 7 {
			continue
		}
		if n == 0 {
			b.WriteString("\nEvidence:")
		}
		fmt.Fprintf(&b, "\n- %s", e.Summary)
		n++
	}
	blast := a.g.graph.BlastRadius(top.Resource)
	var hit []string
	for _, h := range blast {
		if s := a.suspects[h.ID]; s != nil && !s.onset.IsZero() {
			hit = append(hit, h.ID)
		}
	}
	if len(hit) > 0 {
		fmt.Fprintf(&b, "\nBlast radius: %s depend on it and are anomalous.", strings.Join(short(hit, 5), ", "))
	}
	return b.String()
}

func num(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func roundDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm", int(d.Round(time.Minute).Minutes()))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

var _ = topology.Both
