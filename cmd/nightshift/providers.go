package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/skills"
	"github.com/nightshift-ops/nightshift/engine/topology"
	"github.com/nightshift-ops/nightshift/integrations/sandbox"
)

// ProvidersConfig lists a space's capability providers. Later waves add
// aws, kubernetes, prometheus, pagerduty and mcp beside the sandbox.
type ProvidersConfig struct {
	Sandbox *SandboxConfig `yaml:"sandbox"`
}

// SandboxConfig serves simulated telemetry from scenario files.
type SandboxConfig struct {
	// Scenarios is a scenario file or a folder of them, relative to the
	// configuration file; "builtin" means the built-in library.
	Scenarios string `yaml:"scenarios"`
}

// Validate checks the path exists.
func (c SandboxConfig) Validate() error {
	if c.Scenarios == "" {
		return fmt.Errorf("scenarios: required (a scenario file, a folder, or builtin)")
	}
	return nil
}

// sandboxProvider is a space's Environment backed by scenario files: an
// investigation is served the telemetry of the scenario its alerts belong
// to, shifted so that the scenario's incident_at is when the first alert
// arrived.
type sandboxProvider struct {
	scenarios []sandbox.Loaded
	graph     *topology.Graph
}

func newSandboxProvider(c SandboxConfig, base string) (*sandboxProvider, error) {
	var loaded []sandbox.Loaded
	var err error
	switch p := c.Scenarios; {
	case p == "builtin":
		loaded, err = sandbox.Builtin()
	default:
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		fi, serr := os.Stat(p)
		switch {
		case serr != nil:
			return nil, fmt.Errorf("sandbox scenarios: %w", serr)
		case fi.IsDir():
			loaded, err = sandbox.LoadDir(p)
		default:
			sc, tr, lerr := sandbox.Load(p)
			loaded, err = []sandbox.Loaded{{Path: p, Scenario: sc, Truth: tr}}, lerr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox scenarios: %w", err)
	}
	if len(loaded) == 0 {
		return nil, fmt.Errorf("sandbox scenarios: none found in %s", c.Scenarios)
	}
	g := topology.New()
	for _, l := range loaded {
		g.Merge(graphOf(sandbox.NewEnv(l.Scenario, l.Scenario.IncidentAt)))
	}
	return &sandboxProvider{scenarios: loaded, graph: g}, nil
}

// match picks the scenario whose alerts name the alert's resource, else
// whose resources include it, else the first.
func (p *sandboxProvider) match(a engine.Alert) *sandbox.Scenario {
	r := a.PrimaryResource()
	for _, l := range p.scenarios {
		for _, ar := range l.Scenario.Alerts {
			if ar.Resource == r {
				return l.Scenario
			}
		}
	}
	for _, l := range p.scenarios {
		for _, res := range l.Scenario.Resources {
			if res.ID == r {
				return l.Scenario
			}
		}
	}
	return p.scenarios[0].Scenario
}

// Tools implements engine.Environment.
func (p *sandboxProvider) Tools(_ context.Context, _ engine.Investigation, alerts []engine.Alert) (*engine.Registry, error) {
	// An investigation is served the scenario its first alert belongs to,
	// from the moment that alert arrived; a question asked outside any
	// investigation sees the first scenario as if it had begun just now.
	sc, at := p.scenarios[0].Scenario, time.Now().Add(-10*time.Minute)
	if len(alerts) > 0 {
		first := alerts[0]
		sc = p.match(first)
		if at = first.ReceivedAt; at.IsZero() {
			at = first.StartsAt
		}
	}
	// Like a real provider, the simulation serves nothing after now.
	env := sandbox.NewEnv(sc, at, sandbox.WithClock(time.Now))
	reg := engine.NewRegistry()
	if err := reg.Add(env.Tools()...); err != nil {
		return nil, err
	}
	return reg, nil
}

// environmentOf builds a space's capability providers, and the topology
// graph they know (nil when none).
func environmentOf(sc SpaceConfig, configFile string) (engine.Environment, *topology.Graph, error) {
	if sc.Providers.Sandbox != nil {
		p, err := newSandboxProvider(*sc.Providers.Sandbox, filepath.Dir(configFile))
		if err != nil {
			return nil, nil, err
		}
		return p, p.graph, nil
	}
	return noProvider{}, nil, nil
}

// noProvider is the Environment of a space with no capability provider.
type noProvider struct{}

func (noProvider) Tools(context.Context, engine.Investigation, []engine.Alert) (*engine.Registry, error) {
	return nil, fmt.Errorf("the space has no capability provider configured (providers: in the config)")
}

// spaceSkills loads the built-in skills plus a space's skill folders.
func spaceSkills(dirs []string, base string) ([]skills.Skill, error) {
	all := skills.Builtin()
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			d = filepath.Join(base, d)
		}
		more, err := skills.LoadDir(d)
		if err != nil {
			return nil, fmt.Errorf("skills %s: %w", d, err)
		}
		all = append(all, more...)
	}
	return all, nil
}
