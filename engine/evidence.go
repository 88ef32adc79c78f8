package engine

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine/anomaly"
	"github.com/nightshift-ops/nightshift/engine/skills"
	"github.com/nightshift-ops/nightshift/engine/topology"
)

// EvidenceReasoner is the deterministic reasoner: it needs no model. It
// gathers the topology around the alerting resources, their metrics, logs,
// changes and specs through the task's tools, then ranks root-cause
// hypotheses:
//
//   - anomaly onset on every series (engine/anomaly: a robust change-point
//     method), read with the metric's meaning (latency, errors, saturation,
//     throttling, memory, ... recognised from names and units);
//   - changes that precede an onset in their own blast radius;
//   - new error messages (log templates that were not there before);
//   - topology-aware causal ranking: the anomalous resource deepest in the
//     call graph whose dependents are anomalous, earliest onset first; a
//     resource whose own load rose just before a shared dependency
//     saturated is the cause of that saturation (a noisy neighbour, a retry
//     storm, a release that multiplied writes);
//   - rule findings from skills' checks and from workload specs (a container
//     whose own CPU limit throttles it).
//
// Nothing in it names a scenario, a resource or a metric of a particular
// system: it works from what the tools return.
type EvidenceReasoner struct {
	Lookback time.Duration  // how far before t0 to read telemetry; default 2h
	After    time.Duration  // how far after t0; default 15m
	Checks   []skills.Skill // skills whose checks run on the evidence (all of the space's)
	Log      *slog.Logger
}

func (r *EvidenceReasoner) lookback() time.Duration {
	if r.Lookback > 0 {
		return r.Lookback
	}
	return 2 * time.Hour
}

func (r *EvidenceReasoner) after() time.Duration {
	if r.After > 0 {
		return r.After
	}
	return 15 * time.Minute
}

// Reason implements Reasoner.
func (r *EvidenceReasoner) Reason(ctx context.Context, t *Task) (*Report, error) {
	g, err := r.gather(ctx, t)
	if err != nil {
		return nil, err
	}
	t.Status(ctx, PhaseAnalyse, fmt.Sprintf("Looking for anomaly onsets in %d series", len(g.series)))
	a := r.analyse(ctx, t, g)
	t.Status(ctx, PhaseMitigate, "Writing the mitigation plan")
	rep := &Report{Title: t.Investigation.Title, Reasoner: "evidence", Hypotheses: a.hypotheses, Gaps: a.gaps}
	if len(rep.Hypotheses) == 0 {
		rep.Summary = "No anomaly, change or error message around the alert explains it; the evidence is listed under gaps."
		rep.Gaps = append(rep.Gaps, "nothing anomalous was found in the inspected telemetry")
		return rep, nil
	}
	top := rep.Hypotheses[0]
	rep.Summary = summarise(top, a)
	rep.Plan = planFor(top, a)
	return rep, nil
}

// anomalyObs is one anomalous series.
type anomalyObs struct {
	resource string // the resource it is evidence about
	origin   string // the resource that reported it (differs for client-side metrics)
	series   *gotSeries
	signal   Signal
	res      anomaly.Result
	strength float64 // 0..1
	benign   bool    // moved in the harmless direction (CPU falling in a starved pod)
}

// logGroup is one message template on one resource.
type logGroup struct {
	resource string
	template string
	example  string
	level    string
	count    int
	first    time.Time
	last     time.Time
	isNew    bool
	call     string
	mentions []string // other resources the message names
}

// suspect accumulates the evidence about one resource.
type suspect struct {
	id        string
	anomalies []*anomalyObs
	own       float64 // strongest own anomaly
	causal    bool    // has a cause-like anomaly (saturation, throttling, memory, ...)
	onset     time.Time
	changes   []changeHit
	change    float64
	logs      []*logGroup
	log       float64
	rules     []skills.Finding
	rule      float64
	explain   float64
	loadFor   []string // shared dependencies it overloaded
	victimOf  string   // an anomalous callee that moved first
	score     float64
	cats      map[string]float64
	evidence  []Evidence
}

type changeHit struct {
	c        *gotChange
	strength float64
	gap      time.Duration // from the change to the onset it precedes
}

type analysis struct {
	byName     map[string]string
	log        *slog.Logger
	g          *gathered
	suspects   map[string]*suspect
	minOnset   time.Time
	hypotheses []Hypothesis
	gaps       []string
	anomalous  []string
}

// analyse turns gathered evidence into ranked hypotheses.
func (r *EvidenceReasoner) analyse(ctx context.Context, t *Task, g *gathered) *analysis {
	a := &analysis{g: g, suspects: map[string]*suspect{}, log: r.Log}
	sus := func(id string) *suspect {
		s := a.suspects[id]
		if s == nil {
			s = &suspect{id: id, cats: map[string]float64{}}
			a.suspects[id] = s
		}
		return s
	}
	byName := resourcesByName(g)
	a.byName = byName

	// 1. Anomaly onsets.
	opt := anomaly.Options{Incident: g.t0, Lookback: r.lookback(), After: r.after()}
	for i := range g.series {
		s := &g.series[i]
		pts := make([]anomaly.Point, len(s.Points))
		for j, p := range s.Points {
			pts[j] = anomaly.Point{T: p.T, V: p.V}
		}
		sig := ClassifySeries(s.Series)
		bad := badDirection(s.Name, sig)
		res := anomaly.Detect(pts, opt)
		if bad < 0 {
			if ex := exhaustion(s.Points, g); ex.Anomalous && (!res.Anomalous || res.Score < ex.Score) {
				res = ex
			}
		}
		if !res.Anomalous {
			continue
		}
		ob := &anomalyObs{resource: s.Resource, origin: s.Resource, series: s, signal: sig, res: res}
		ob.strength = squash(res.Score) * magnitude(res, sig)
		if bad != 0 && res.Direction != bad {
			ob.benign = true
			ob.strength *= 0.25
		}
		if !res.End.IsZero() && !res.End.After(g.t0) {
			ob.strength *= 0.3 // over before the alert fired: an earlier blip, not this incident
		}
		if target := peerOf(s, byName); target != "" && target != s.Resource {
			ob.resource = target // a caller's view of its callee
			ob.strength *= 0.8
		}
		sp := sus(ob.resource)
		sp.anomalies = append(sp.anomalies, ob)
	}
	for _, s := range a.suspects {
		weighed := 0.0
		for _, ob := range s.anomalies {
			w := ob.strength
			switch {
			case ob.signal == SignalTraffic && ob.res.Direction < 0:
				w *= 0.4 // fewer requests arriving: usually a caller's failure seen downstream
			case !ob.signal.Causal():
				w *= 0.75
			}
			if w > weighed {
				weighed = w
			}
			if ob.signal.Causal() && !ob.benign && ob.strength >= 0.3 {
				s.causal = true
			}
			if ob.strength >= 0.3 && !ob.benign && ob.res.Kind != anomaly.Spike && !(ob.signal == SignalTraffic && ob.res.Direction < 0) &&
				(s.onset.IsZero() || ob.res.Onset.Before(s.onset)) {
				s.onset = ob.res.Onset
			}
		}
		s.own = weighed
		if !s.onset.IsZero() {
			a.anomalous = append(a.anomalous, s.id)
			if a.minOnset.IsZero() || s.onset.Before(a.minOnset) {
				a.minOnset = s.onset
			}
		}
	}
	sort.Strings(a.anomalous)
	if len(a.anomalous) > 0 {
		first := a.suspects[a.anomalous[0]]
		for _, id := range a.anomalous {
			if a.suspects[id].onset.Before(first.onset) {
				first = a.suspects[id]
			}
		}
		if ob := strongest(first.anomalies); ob != nil {
			t.Finding(ctx, anomalyEvidence(ob))
		}
	}

	// 2. Logs: new message templates.
	for _, lg := range groupLogs(g, byName) {
		if !lg.isNew {
			continue
		}
		w := 0.6
		if levelRank(lg.level) >= levelRank("error") {
			w = 1
		}
		for _, id := range append([]string{lg.resource}, lg.mentions...) {
			sp := sus(id)
			sp.logs = append(sp.logs, lg)
			if id != lg.resource {
				w *= 0.8
			}
			sp.log = math.Max(sp.log, w)
		}
	}

	// 3. Changes that precede an onset in their own blast radius.
	measured := map[string]bool{}
	for _, sr := range g.series {
		measured[sr.Resource] = true
	}
	incidentStart := a.minOnset
	if incidentStart.IsZero() {
		incidentStart = g.t0
	}
	for i := range g.changes {
		c := &g.changes[i]
		if c.T.After(incidentStart.Add(2 * time.Minute)) {
			continue // after the trouble began: a response, not a cause
		}
		onset := a.impactOnset(c.Resource, c.T)
		if onset.IsZero() {
			continue
		}
		gap := onset.Sub(c.T)
		if gap < -2*time.Minute || gap > 90*time.Minute {
			continue
		}
		// The closer a change is to the onset, the likelier it is the cause;
		// a slow burn (a leak) can take an hour to show.
		strength := math.Exp(-math.Max(0, gap.Minutes()-5) / 40)
		sp := sus(c.Resource)
		// A measured resource that did not itself change behaviour after
		// its change is an unlikely cause; a resource that cannot be
		// measured (a security group, a role) is judged by its impact alone.
		if measured[c.Resource] && sp.onset.IsZero() {
			strength *= 0.35
		}
		sp.changes = append(sp.changes, changeHit{c: c, strength: strength, gap: gap})
		sp.change = math.Max(sp.change, strength)
	}

	// 4. Rule findings from skills' checks.
	obs := a.observations(g)
	mentions := map[string][]string{} // log text → resources it names
	for _, s := range a.suspects {
		for _, lg := range s.logs {
			mentions[lg.resource+"\x00"+lg.example] = lg.mentions
		}
	}
	for _, f := range skills.Evaluate(r.Checks, obs) {
		sp := sus(f.Resource)
		sp.rules = append(sp.rules, f)
		sp.rule = math.Min(1, sp.rule+0.6)
		// A log line about another resource ("x509 ... addr=catalog-db...")
		// is evidence about that resource too.
		if f.Observation.Kind == skills.KindLog {
			for _, m := range mentions[f.Resource+"\x00"+f.Observation.Text] {
				mp := sus(m)
				mf := f
				mf.Resource = m
				mp.rules = append(mp.rules, mf)
				mp.rule = math.Min(1, mp.rule+0.5)
			}
		}
	}

	// 5. Load sources and victims through the topology.
	a.causalOrder()

	// 6. Score and rank.
	var ranked []*suspect
	for _, s := range a.suspects {
		if s.own == 0 && s.change == 0 && s.log == 0 && s.rule == 0 {
			continue
		}
		a.score(s, g)
		ranked = append(ranked, s)
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].score != ranked[j].score {
			return ranked[i].score > ranked[j].score
		}
		return ranked[i].id < ranked[j].id
	})
	if r.Log != nil && r.Log.Enabled(ctx, slog.LevelDebug) {
		for _, s := range ranked {
			r.Log.Debug("suspect", "id", s.id, "score", s.score, "own", s.own, "change", s.change, "log", s.log, "rule", s.rule,
				"explain", s.explain, "onset", s.onset.Format("15:04:05"), "causal", s.causal, "victimOf", s.victimOf, "loadFor", s.loadFor)
		}
	}
	if len(ranked) > 5 {
		ranked = ranked[:5]
	}
	for i, s := range ranked {
		if i < 3 {
			r.inspectSpec(ctx, t, g, s)
		}
		a.categorise(s)
		h := a.hypothesis(s)
		a.hypotheses = append(a.hypotheses, h)
	}
	// Confidence: relative to the runner-up, capped by the absolute score.
	for i := range a.hypotheses {
		s := ranked[i]
		margin := 1.0
		if i == 0 && len(ranked) > 1 {
			margin = 0.5 + 0.5*math.Min(1, (s.score-ranked[1].score)/math.Max(s.score, 1e-9)*3)
		} else if i > 0 {
			margin = 0.6
		}
		a.hypotheses[i].Confidence = math.Round(math.Min(0.95, s.score*margin)*100) / 100
	}
	if top := ranked; len(top) > 0 {
		for _, ev := range a.hypotheses[0].Evidence {
			if ev.Kind == "change" || ev.Kind == "rule" || ev.Kind == "log" {
				t.Finding(ctx, ev)
				break
			}
		}
	}
	if len(g.noData) > 0 {
		a.gaps = append(a.gaps, fmt.Sprintf("no metrics for %d resources: %s", len(g.noData), strings.Join(short(g.noData, 4), ", ")))
	}
	return a
}

// impactOnset is the earliest anomaly onset at or after a change's time in
// the resources the change could affect: the resource itself, what depends
// on it, and — for shared infrastructure — what shares it.
func (a *analysis) impactOnset(id string, after time.Time) time.Time {
	var best time.Time
	consider := func(x string) {
		s := a.suspects[x]
		if s == nil || s.onset.IsZero() || s.onset.Before(after.Add(-2*time.Minute)) {
			return
		}
		if best.IsZero() || s.onset.Before(best) {
			best = s.onset
		}
	}
	consider(id)
	for _, h := range a.g.graph.BlastRadius(id) {
		consider(h.ID)
	}
	for _, d := range a.g.graph.Callees(id) {
		consider(d)
	}
	return best
}

// causalOrder marks load sources and victims.
func (a *analysis) causalOrder() {
	g := a.g.graph
	for _, id := range a.anomalous {
		s := a.suspects[id]
		// A callee that went bad no later than s (and not because of s) makes s a victim.
		explained := map[string]bool{} // callees s's own change explains, and what lies behind them
		for _, h := range g.Reachable(id, topology.Callees, gatherDepth) {
			d := a.suspects[h.ID]
			if explained[h.ID] || d == nil || d.onset.IsZero() || !d.causal && d.change == 0 && d.rule == 0 && d.own < 0.4 {
				continue
			}
			if d.onset.After(s.onset.Add(time.Minute)) || s.victimOf != "" {
				continue
			}
			// A change of s that came before d went bad explains d: s
			// changed how it uses d (a flag that issues heavier queries).
			if h.Hops == 1 && !s.onset.After(d.onset.Add(2*time.Minute)) &&
				changedBefore(s, d.onset, 0.6) && !changedBefore(d, d.onset, 0.3) {
				if d.victimOf == "" {
					d.victimOf = id
				}
				explained[h.ID] = true
				for _, b := range g.Reachable(h.ID, topology.Callees, gatherDepth) {
					explained[b.ID] = true
				}
				continue
			}
			s.victimOf = h.ID
		}
	}
	// Load sources: a caller whose load rose no later than the callee saturated.
	for _, id := range a.anomalous {
		x := a.suspects[id]
		if !x.causal {
			continue
		}
		for _, c := range g.Callers(id) {
			cs := a.suspects[c]
			if cs == nil || cs.onset.IsZero() || isEntryPoint(g, c) {
				continue
			}
			ob := loadRise(cs)
			if ob == nil || ob.res.Onset.After(x.onset.Add(time.Minute)) {
				continue
			}
			// A caller's modest rise is more likely noise, or the callee's
			// trouble seen from outside, than its cause: it must be strong
			// and comparable to the callee's own change.
			if ob.strength < 0.45 || ob.strength < 0.6*squash(maxScore(x)) {
				continue
			}
			{
				if a.log != nil {
					a.log.Debug("load source", "caller", c, "callee", id, "series", ob.series.Name, "labels", ob.series.Labels, "z", ob.res.Score, "onset", ob.res.Onset, "callee_onset", x.onset, "callee_max", maxScore(x))
				}
				cs.loadFor = append(cs.loadFor, id)
				if cs.victimOf == id || g.Reachable(id, topology.Callees, gatherDepth) != nil && reaches(g, id, cs.victimOf) {
					cs.victimOf = "" // what it overloaded, and what lies behind that, cannot make it a victim
				}
				x.victimOf = c
			}
		}
	}
}

func maxScore(s *suspect) float64 {
	m := 0.0
	for _, ob := range s.anomalies {
		if !ob.benign && ob.res.Score > m {
			m = ob.res.Score
		}
	}
	return m
}

// exhaustion detects a balance, credit or free capacity that ran out around
// the incident after draining for longer than the window shows: no change
// point, but a floor reached. The onset is when it hit the floor.
func exhaustion(pts []Point, g *gathered) anomaly.Result {
	var hi float64
	var first *Point
	for i := range pts {
		p := &pts[i]
		if p.T.Before(g.start) || p.T.After(g.end) {
			continue
		}
		if first == nil {
			first = p
		}
		hi = math.Max(hi, p.V)
	}
	if first == nil || hi <= 0 || first.V < 0.3*hi {
		return anomaly.Result{}
	}
	floor := 0.05 * hi
	for _, p := range pts {
		if p.T.Before(g.t0.Add(-30*time.Minute)) || p.T.After(g.end) || p.V > floor {
			continue
		}
		return anomaly.Result{Anomalous: true, Kind: anomaly.Ramp, Onset: p.T, Direction: -1, Score: 1000,
			Before: first.V, After: p.V}
	}
	return anomaly.Result{}
}

// reaches reports whether to is among from's transitive callees.
func reaches(g *topology.Graph, from, to string) bool {
	for _, h := range g.Reachable(from, topology.Callees, gatherDepth) {
		if h.ID == to {
			return true
		}
	}
	return false
}

// changedBefore reports whether a suspect has a strong change before t.
func changedBefore(s *suspect, t time.Time, min float64) bool {
	for _, ch := range s.changes {
		if ch.strength >= min && !ch.c.T.After(t.Add(2*time.Minute)) {
			return true
		}
	}
	return false
}

// isEntryPoint reports whether a resource only forwards users' traffic (a
// load balancer, API gateway, ingress, CDN): more traffic through it is
// demand, not a cause; the cause is whatever could not take the demand.
func isEntryPoint(g *topology.Graph, id string) bool {
	n, _ := g.Node(id)
	s := strings.ToLower(n.Type + " " + id)
	for _, w := range []string{"elb", "alb", "nlb", "loadbalancer", "load-balancer", "apigateway", "api-gateway", "ingress", "cloudfront", "cdn", "front-door"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// loadRise returns a suspect's anomaly that is a rise in the load it puts on
// others (requests, writes, CPU, connections), if any.
func loadRise(s *suspect) *anomalyObs {
	var best *anomalyObs
	for _, ob := range s.anomalies {
		if ob.benign || ob.res.Direction <= 0 || ob.resource != ob.origin {
			continue
		}
		switch ob.signal {
		case SignalTraffic, SignalCPU, SignalCapacity, SignalNetwork, SignalSaturation:
		default:
			continue
		}
		if best == nil || ob.res.Onset.Before(best.res.Onset) {
			best = ob
		}
	}
	return best
}

// score combines a suspect's evidence into one number in about [0, 1].
func (a *analysis) score(s *suspect, g *gathered) {
	early := 0.0
	if !s.onset.IsZero() && !a.minOnset.IsZero() {
		span := math.Max(g.t0.Sub(a.minOnset).Minutes(), 5)
		early = 1 - math.Min(1, s.onset.Sub(a.minOnset).Minutes()/span)
	}
	if s.change > 0 && (a.minOnset.IsZero() || changedBefore(s, a.minOnset.Add(time.Minute), 0.3)) {
		early = math.Max(early, s.change) // it changed before anything went wrong
	}
	// How much of the incident it explains: anomalous resources (and the
	// alerting ones) that depend on it, or that it overloaded.
	impact := map[string]bool{s.id: true}
	for _, h := range g.graph.BlastRadius(s.id) {
		impact[h.ID] = true
	}
	for _, x := range s.loadFor {
		impact[x] = true
		for _, h := range g.graph.BlastRadius(x) {
			impact[h.ID] = true
		}
	}
	n := 0
	for _, id := range a.anomalous {
		if impact[id] {
			n++
		}
	}
	if len(a.anomalous) > 0 {
		s.explain = float64(n) / float64(len(a.anomalous))
	}
	reachesAlert := false
	for _, f := range g.focus {
		if impact[f] {
			reachesAlert = true
		}
	}
	// The suspect's own evidence, combined as independent signals
	// (noisy-OR), then weighed by how much of the incident it explains and
	// how early it moved: a barely anomalous resource deep in the graph
	// explains everything in theory and nothing in fact.
	ev := 1 - (1-0.9*s.own)*(1-s.change)*(1-0.6*s.log)*(1-0.6*s.rule)
	sc := ev * (0.5 + 0.3*s.explain + 0.2*early)
	if len(s.loadFor) > 0 {
		sc += 0.15
	}
	if s.causal {
		sc += 0.05
	}
	if s.victimOf != "" {
		sc *= 0.55
	}
	if !reachesAlert {
		sc *= 0.6
	}
	s.score = math.Round(sc*1000) / 1000
}

// resourcesByName maps the names people and metrics use for resources
// (the name, and the last path element of the id) to resource ids.
func resourcesByName(g *gathered) map[string]string {
	m := map[string]string{}
	// The last element of an id ("aws/rds/catalog-db") names a resource
	// better than a display name that several resources may share (a
	// security group called after the database it guards), so ids go first.
	for pass := 0; pass < 2; pass++ {
		seen := map[string]bool{}
		for _, n := range g.graph.Nodes() {
			name := lastElem(n.ID)
			if pass == 1 {
				name = n.Name
			}
			name = strings.ToLower(name)
			if len(name) < 4 || (pass == 1 && m[name] != "" && !seen[name]) {
				continue
			}
			if prev, ok := m[name]; ok && prev != n.ID && seen[name] {
				m[name] = "" // ambiguous within this pass
				continue
			}
			if _, ok := m[name]; !ok || seen[name] || pass == 0 {
				m[name] = n.ID
				seen[name] = true
			}
		}
	}
	return m
}

func lastElem(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// peerLabels are the label names service meshes and client libraries use
// for the other end of a call.
var peerLabels = []string{"destination_service", "destination_service_name", "destination_workload",
	"peer_service", "server_address", "net_peer_name", "upstream", "upstream_cluster", "target", "callee", "dependency"}

var peerSuffix = regexp.MustCompile(`(?i)_to_([a-z0-9][a-z0-9_.-]+)$`)

// peerOf returns the resource a series describes from the outside: a
// client-side latency or error series of a caller labelled (or named) with
// its callee.
func peerOf(s *gotSeries, byName map[string]string) string {
	for k, v := range s.Labels {
		k = strings.ReplaceAll(strings.ToLower(k), ".", "_")
		if !contains(peerLabels, k) {
			continue
		}
		if id := byName[strings.ToLower(v)]; id != "" {
			return id
		}
	}
	if m := peerSuffix.FindStringSubmatch(s.Name); m != nil {
		return byName[strings.ToLower(m[1])]
	}
	return ""
}

// badDirection is the harmful direction of a series; free capacity, balances
// and headroom hurt when they fall.
func badDirection(name string, sig Signal) int {
	n := strings.ToLower(name)
	for _, w := range []string{"free", "available", "remaining", "balance", "headroom", "idle", "credit"} {
		if strings.Contains(n, w) {
			return -1
		}
	}
	return sig.BadDirection()
}

// magnitude weighs an anomaly by how much the level changed relative to
// where it was: a p99 that goes from 5 ms to 8 ms can have a large z-score on
// a quiet, quantised series and still mean nothing, while 0.5 s to 17 s is
// an outage. Symptom signals (latency, traffic) are weighed harder than
// resources, whose levels are bounded and move less in relative terms.
func magnitude(r anomaly.Result, sig Signal) float64 {
	m := math.Abs(r.After-r.Before) / math.Max(math.Abs(r.Before), 1e-9)
	l := math.Log10(1 + m)
	switch sig {
	case SignalLatency, SignalTraffic, SignalNetwork, SignalOther:
		return math.Min(1, 0.3+0.45*l)
	}
	return math.Min(1, 0.6+0.4*l)
}

// squash maps a robust z-score onto [0, 1] on a log scale: z=4 (the
// detection threshold) gives about 0.23, z=30 0.5, z=1000 and more 1. A log
// scale keeps a resource whose CPU went from idle to its limit (z in the
// thousands) apart from one that moved by a few deviations.
func squash(z float64) float64 {
	if z <= 0 {
		return 0
	}
	return math.Min(1, math.Log10(1+z)/3)
}

func strongest(obs []*anomalyObs) *anomalyObs {
	var best *anomalyObs
	for _, ob := range obs {
		if ob.benign {
			continue
		}
		if best == nil || ob.strength > best.strength {
			best = ob
		}
	}
	return best
}

func levelRank(l string) int {
	switch strings.ToLower(l) {
	case "debug", "trace":
		return 0
	case "info", "notice":
		return 1
	case "warn", "warning":
		return 2
	case "error", "err":
		return 3
	case "fatal", "critical", "crit", "panic", "emergency":
		return 4
	}
	return 1
}
