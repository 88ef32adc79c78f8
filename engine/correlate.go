package engine

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine/topology"
)

// CorrelationConfig tunes how alerts join investigations in one space.
type CorrelationConfig struct {
	Window    time.Duration `yaml:"window" json:"window"`       // lookback; default 20m
	Threshold float64       `yaml:"threshold" json:"threshold"` // link at or above; default 0.6
}

// Defaults for CorrelationConfig.
const (
	DefaultCorrelationWindow    = 20 * time.Minute
	DefaultCorrelationThreshold = 0.6
)

// WithDefaults fills unset fields.
func (c CorrelationConfig) WithDefaults() CorrelationConfig {
	if c.Window <= 0 {
		c.Window = DefaultCorrelationWindow
	}
	if c.Threshold <= 0 {
		c.Threshold = DefaultCorrelationThreshold
	}
	return c
}

// Validate reports out-of-range values.
func (c CorrelationConfig) Validate() error {
	if c.Window < 0 {
		return fmt.Errorf("window: must not be negative")
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		return fmt.Errorf("threshold: must be between 0 and 1")
	}
	return nil
}

// Neighbourer answers whether two resources are close in the topology, and
// lists a resource's neighbours so that correlation can look them up in the
// index. Implemented by the topology of a space (engine/topology); nil when
// a space has none.
type Neighbourer interface {
	// Hops is the undirected distance between a and b, if within the limit.
	Hops(a, b string) (int, bool)
	// Near lists resources within maxHops of r (not r itself).
	Near(r string, maxHops int) []string
}

// neighbourHops is how far correlation looks through the topology.
const neighbourHops = 2

// Component similarity weights: how strongly a shared component ties an alert
// to an investigation before time decay.
const (
	weightSameResource = 1.0
	weightSameService  = 0.85
	weightNeighbour1   = 0.8
	weightNeighbour2   = 0.65
)

// Score rates how well alert a belongs to investigation inv, in [0, 1], with
// the reasons in words ("same service and region, 4 min apart"). It is zero
// when nothing ties them (no shared resource, service or topology
// neighbourhood), when they sit in different known accounts or regions, or
// when inv's last alert is older than the window. Within the window the score
// decays linearly to half its value at the window's edge.
//
// Alert titles and descriptions are never compared: two alerts from one rule
// about unrelated resources must stay apart.
func Score(a *Alert, inv *Investigation, cfg CorrelationConfig, topo Neighbourer) (float64, string) {
	cfg = cfg.WithDefaults()
	if a.Account != "" && inv.Account != "" && a.Account != inv.Account {
		return 0, "different account"
	}
	if a.Region != "" && inv.Region != "" && a.Region != inv.Region {
		return 0, "different region"
	}
	dt := a.ReceivedAt.Sub(inv.LastAlertAt)
	if dt < 0 {
		dt = -dt
	}
	if dt > cfg.Window {
		return 0, "outside the window"
	}

	weight, what := 0.0, ""
	for _, r := range a.Resources {
		for _, ir := range inv.Resources {
			if r == ir {
				weight, what = weightSameResource, "same resource"
			}
		}
	}
	if weight < weightSameService && a.Service != "" {
		for _, s := range inv.Services {
			if strings.EqualFold(s, a.Service) {
				weight, what = weightSameService, "same service"
			}
		}
	}
	if weight < weightNeighbour1 && topo != nil {
		best := math.MaxInt
		for _, r := range a.Resources {
			for _, ir := range inv.Resources {
				if h, ok := topo.Hops(r, ir); ok && h > 0 && h < best {
					best = h
				}
			}
		}
		switch {
		case best == 1 && weight < weightNeighbour1:
			weight, what = weightNeighbour1, "topology neighbours"
		case best == 2 && weight < weightNeighbour2:
			weight, what = weightNeighbour2, "topology neighbours (2 hops)"
		}
	}
	if weight == 0 {
		return 0, "nothing in common"
	}
	var where []string
	if a.Account != "" && a.Account == inv.Account {
		where = append(where, "account")
	}
	if a.Region != "" && a.Region == inv.Region {
		where = append(where, "region")
	}
	if len(where) > 0 {
		what += " and " + strings.Join(where, " and ")
	}
	score := weight * (1 - 0.5*float64(dt)/float64(cfg.Window))
	return math.Round(score*100) / 100, fmt.Sprintf("%s, %s apart", what, humanDuration(dt))
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	default:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
}

// correlationKeys are the index keys under which an alert's candidate
// investigations are found: its resources, their topology neighbours, and its
// service. Looking up only these keys keeps correlation's cost independent of
// how many investigations are active.
func correlationKeys(a *Alert, topo Neighbourer) []string {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, r := range a.Resources {
		add(IndexResource(r))
	}
	if topo != nil {
		for _, r := range a.Resources {
			for _, n := range topo.Near(r, neighbourHops) {
				add(IndexResource(n))
			}
		}
	}
	if a.Service != "" {
		add(IndexService(a.Service))
	}
	return keys
}

// featureKeys are the index keys an investigation is filed under.
func featureKeys(inv *Investigation) []string {
	keys := make([]string, 0, len(inv.Resources)+len(inv.Services))
	for _, r := range inv.Resources {
		keys = append(keys, IndexResource(r))
	}
	for _, s := range inv.Services {
		keys = append(keys, IndexService(s))
	}
	return keys
}

// IndexResource and IndexService name correlation index entries.
func IndexResource(r string) string { return "res:" + r }

// IndexService names the correlation index entry of a service.
func IndexService(s string) string { return "svc:" + strings.ToLower(s) }

// alertKeys are the index keys a linked alert refreshes: its own resources
// and service, as far as the investigation remembers them. Refreshing only
// these keeps a link's cost independent of how big the investigation grew.
func alertKeys(a *Alert, inv *Investigation) []string {
	has := map[string]bool{}
	for _, k := range featureKeys(inv) {
		has[k] = true
	}
	var keys []string
	for _, r := range a.Resources {
		if k := IndexResource(r); has[k] {
			keys = append(keys, k)
		}
	}
	if a.Service != "" {
		if k := IndexService(a.Service); has[k] {
			keys = append(keys, k)
		}
	}
	return keys
}

// GraphNeighbourer adapts a topology graph to Neighbourer.
type GraphNeighbourer struct{ G *topology.Graph }

// Hops implements Neighbourer.
func (n GraphNeighbourer) Hops(a, b string) (int, bool) { return n.G.Distance(a, b, neighbourHops) }

// Near implements Neighbourer.
func (n GraphNeighbourer) Near(r string, maxHops int) []string {
	hops := n.G.Reachable(r, topology.Both, maxHops)
	out := make([]string, len(hops))
	for i, h := range hops {
		out[i] = h.ID
	}
	return out
}
