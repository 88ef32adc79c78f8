package sandbox

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

//go:embed scenarios/*.yaml
var builtinFS embed.FS

// Limits on what a scenario may ask for, so that a bad file cannot make an
// Env serve absurd amounts of data.
const (
	defaultWindow = time.Hour
	maxWindow     = 7 * 24 * time.Hour
	afterIncident = 30 * time.Minute // telemetry runs until t0+30m
	minLogEvery   = time.Second
	maxFileSize   = 64 << 20 // scenario or CSV file
)

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Load reads and validates one scenario file. The truth block, if any, is
// returned apart (nil when absent). CSV files named by `recorded` are read
// relative to the scenario file. On failure the error joins every problem
// found, each a *FieldError naming file, line and field.
func Load(file string) (*Scenario, *Truth, error) {
	data, err := readLimited(file)
	if err != nil {
		return nil, nil, &FieldError{File: file, Msg: errMsg(err)}
	}
	dir := filepath.Dir(file)
	readRel := func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, filepath.FromSlash(name))
		}
		return readLimited(name)
	}
	return loadBytes(data, file, readRel)
}

// LoadFS is Load for a file in fsys (an embedded library, a test's MapFS).
// CSV files are read from fsys relative to the scenario file.
func LoadFS(fsys fs.FS, name string) (*Scenario, *Truth, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, nil, &FieldError{File: name, Msg: errMsg(err)}
	}
	readRel := func(rel string) ([]byte, error) {
		p := path.Join(path.Dir(name), rel)
		if !fs.ValidPath(p) {
			return nil, fmt.Errorf("%q is outside the file system", rel)
		}
		return fs.ReadFile(fsys, p)
	}
	return loadBytes(data, name, readRel)
}

// LoadDir loads every *.yaml and *.yml file under dir (sub-folders
// included, hidden ones skipped), sorted by path. A folder may also hold the
// CSV files the scenarios name. It reports the problems of every file at
// once, and scenario names used twice.
func LoadDir(dir string) ([]Loaded, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != dir && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if isScenarioFile(e.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load scenarios: %w", err)
	}
	sort.Strings(files)
	return loadAll(files, Load)
}

// Builtin loads the embedded scenario library.
func Builtin() ([]Loaded, error) {
	entries, err := fs.ReadDir(builtinFS, "scenarios")
	if err != nil {
		return nil, fmt.Errorf("builtin scenarios: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && isScenarioFile(e.Name()) {
			files = append(files, "scenarios/"+e.Name())
		}
	}
	return loadAll(files, func(name string) (*Scenario, *Truth, error) { return LoadFS(builtinFS, name) })
}

func isScenarioFile(name string) bool {
	return !strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"))
}

func loadAll(files []string, load func(string) (*Scenario, *Truth, error)) ([]Loaded, error) {
	var out []Loaded
	var errs []error
	names := map[string]string{}
	for _, f := range files {
		sc, tr, err := load(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := names[sc.Name]; dup {
			errs = append(errs, &FieldError{File: f, Field: "name", Msg: fmt.Sprintf("%q is also the name of %s", sc.Name, prev)})
			continue
		}
		names[sc.Name] = f
		out = append(out, Loaded{Path: f, Scenario: sc, Truth: tr})
	}
	return out, errors.Join(errs...)
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("%d bytes is over the limit of %d", st.Size(), maxFileSize)
	}
	return os.ReadFile(name)
}

// errMsg strips the Go prefix of path errors: the FieldError already names the file.
func errMsg(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// loadBytes parses, validates and builds a scenario. readRel reads a file
// named relative to the scenario (recorded CSVs).
func loadBytes(data []byte, file string, readRel func(string) ([]byte, error)) (*Scenario, *Truth, error) {
	raw, d := parse(data, file)
	if raw == nil || d.budget <= 0 {
		return nil, nil, errors.Join(d.errs...)
	}
	b := &builder{d: d, raw: raw, readRel: readRel}
	sc, tr := b.build()
	if len(d.errs) > 0 {
		return nil, nil, errors.Join(d.errs...)
	}
	sc.File = file
	return sc, tr, nil
}

type builder struct {
	d       *decoder
	raw     *rawScenario
	readRel func(string) ([]byte, error)
	t0      time.Time
	known   map[string]bool
}

func (b *builder) build() (*Scenario, *Truth) {
	d, r := b.d, b.raw
	sc := &Scenario{Name: r.name, Summary: r.summary, Base: r.base, Space: r.space, Window: r.window}

	switch {
	case !d.has("name"):
		d.errorf("name", "required")
	case !kebab.MatchString(r.name):
		d.errorf("name", "%q is not kebab-case (want lower-case words joined by '-', such as catalog-sidecar-throttling)", r.name)
	}
	if sc.Space == "" {
		sc.Space = "sandbox"
	} else if !kebab.MatchString(sc.Space) {
		d.errorf("space", "%q is not kebab-case", sc.Space)
	}
	if r.base != "" && !slices.Contains(bases, r.base) {
		d.errorf("base", "unknown base %q (want %s)", r.base, strings.Join(bases, ", "))
	}
	switch {
	case !r.incidentAt.set:
		if !d.bad["incident_at"] {
			d.errorf("incident_at", "required (an RFC 3339 time such as 2026-11-01T02:00:00Z)")
		}
	case !r.incidentAt.abs:
		d.errorf("incident_at", "want an RFC 3339 time such as 2026-11-01T02:00:00Z, not an offset")
	default:
		b.t0 = r.incidentAt.t
	}
	sc.IncidentAt = b.t0
	switch {
	case !d.has("window"):
		sc.Window = defaultWindow
	case r.window <= 0:
		if !d.bad["window"] {
			d.errorf("window", "want a positive duration such as 2h")
		}
	case r.window > maxWindow:
		d.errorf("window", "%s is longer than the limit of %s", r.window, maxWindow)
	}

	sc.Resources = b.resources()
	for _, m := range r.metrics {
		if mm, ok := b.metric(m); ok {
			sc.Metrics = append(sc.Metrics, mm)
		}
	}
	for _, l := range r.logs {
		if ll, ok := b.log(l); ok {
			sc.Logs = append(sc.Logs, ll)
		}
	}
	for _, c := range r.changes {
		if cc, ok := b.change(c); ok {
			sc.Changes = append(sc.Changes, cc)
		}
	}
	sort.SliceStable(sc.Changes, func(i, j int) bool { return sc.Changes[i].T.Before(sc.Changes[j].T) })
	for i, a := range r.alerts {
		if aa, ok := b.alert(i, a); ok {
			sc.Alerts = append(sc.Alerts, aa)
		}
	}
	for _, rec := range r.recorded {
		if rr, ok := b.recorded(rec); ok {
			sc.Recorded = append(sc.Recorded, rr)
		}
	}
	b.checkDuplicateSeries()
	return sc, b.truth()
}

// resources merges the base topology with the scenario's entries.
func (b *builder) resources() []engine.ResourceInfo {
	d, r := b.d, b.raw
	var out []engine.ResourceInfo
	index := map[string]int{}
	fromBase := map[string]bool{}
	if r.base == baseRetailStore {
		for _, res := range retailStore() {
			index[res.ID] = len(out)
			fromBase[res.ID] = true
			out = append(out, res)
		}
	}
	seen := map[string]string{}
	for _, rr := range r.resources {
		switch {
		case rr.id == "":
			d.errorf(rr.path+".id", "required")
			continue
		case strings.ContainsAny(rr.id, " \t\r\n"):
			d.errorf(rr.path+".id", "%q contains white space", rr.id)
			continue
		}
		if prev, dup := seen[rr.id]; dup {
			d.errorf(rr.path+".id", "%q is also the id of %s (line %d)", rr.id, prev, d.lineOf(prev))
			continue
		}
		seen[rr.id] = rr.path
		i, exists := index[rr.id]
		if !exists {
			if rr.typ == "" {
				d.errorf(rr.path+".type", "required (k8s.deployment, aws.rds.instance, ...)")
			}
			index[rr.id] = len(out)
			out = append(out, engine.ResourceInfo{ID: rr.id})
			i = len(out) - 1
		}
		res := &out[i]
		if rr.typ != "" {
			res.Type = rr.typ
		}
		if rr.name != "" {
			res.Name = rr.name
		}
		if len(rr.labels) > 0 {
			labels := maps.Clone(res.Labels)
			if labels == nil {
				labels = map[string]string{}
			}
			maps.Copy(labels, rr.labels)
			res.Labels = labels
		}
		if d.has(rr.path + ".depends_on") {
			res.DependsOn = nil
			for j, dep := range rr.dependsOn {
				if dep == rr.id {
					d.errorf(indexPath(rr.path+".depends_on", j), "a resource cannot depend on itself")
					continue
				}
				if !slices.Contains(res.DependsOn, dep) {
					res.DependsOn = append(res.DependsOn, dep)
				}
			}
		}
		if d.has(rr.path + ".spec") {
			res.Spec = rr.spec
		}
	}
	b.known = map[string]bool{}
	for _, res := range out {
		b.known[res.ID] = true
	}
	for _, rr := range r.resources {
		for j, dep := range rr.dependsOn {
			if dep != rr.id && !b.known[dep] {
				d.errorf(indexPath(rr.path+".depends_on", j), "unknown resource %q", dep)
			}
		}
	}
	return out
}

func (b *builder) checkResource(path, id string) bool {
	switch {
	case id == "":
		b.d.errorf(path, "required")
		return false
	case !b.known[id]:
		b.d.errorf(path, "unknown resource %q%s", id, b.hint(id))
		return false
	}
	return true
}

// hint suggests a resource id close to a misspelt one.
func (b *builder) hint(id string) string {
	last := id[strings.LastIndex(id, "/")+1:]
	var near []string
	for k := range b.known {
		if strings.HasSuffix(k, "/"+last) {
			near = append(near, k)
		}
	}
	sort.Strings(near)
	if len(near) == 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", strings.Join(near, " or "))
}

// at resolves a required time field.
func (b *builder) at(path string, w when) (time.Time, bool) {
	if !w.set {
		if !b.d.bad[path] {
			b.d.errorf(path, "required (an offset such as -12m, 0 or +5m, or an RFC 3339 time)")
		}
		return time.Time{}, false
	}
	return w.resolve(b.t0), true
}

func (b *builder) metric(m rawMetric) (Metric, bool) {
	d := b.d
	ok := b.checkResource(m.path+".resource", m.resource)
	if m.name == "" {
		d.errorf(m.path+".name", "required")
		ok = false
	} else if strings.ContainsAny(m.name, " \t\r\n") {
		d.errorf(m.path+".name", "%q contains white space", m.name)
		ok = false
	}
	if m.noise < 0 || m.noise > 1 {
		d.errorf(m.path+".noise", "want a relative noise between 0 and 1 (0.05 is 5%%), got %g", m.noise)
		ok = false
	}
	out := Metric{Resource: m.resource, Name: m.name, Labels: m.labels, Unit: m.unit, Baseline: m.baseline, Noise: m.noise}
	if len(out.Labels) == 0 {
		out.Labels = nil
	}
	for _, e := range m.events {
		ev := Event{Shape: Shape(e.shape), To: e.to, Over: e.over}
		at, atOK := b.at(e.path+".at", e.at)
		ev.At = at
		ok = ok && atOK
		overPath := e.path + ".over"
		overGiven, overBad := d.has(overPath), d.bad[overPath]
		switch ev.Shape {
		case ShapeStep:
			if overGiven && !overBad {
				d.errorf(overPath, "a step has no duration (use until to end it)")
				ok = false
			}
		case ShapeRamp:
			if !overBad && ev.Over <= 0 {
				d.errorf(overPath, "a ramp needs a positive duration, such as 5m")
				ok = false
			}
		case ShapeSpike, ShapeSine:
			switch {
			case !overGiven && ev.Shape == ShapeSpike:
				ev.Over = time.Minute
			case !overGiven:
				ev.Over = 10 * time.Minute
			case !overBad && ev.Over <= 0:
				d.errorf(overPath, "want a positive duration")
				ok = false
			}
		case "":
			d.errorf(e.path+".shape", "required (step, ramp, spike or sine)")
			ok = false
		default:
			d.errorf(e.path+".shape", "unknown shape %q (want step, ramp, spike, sine)", e.shape)
			ok = false
		}
		ok = ok && !overBad
		if !d.has(e.path + ".to") {
			d.errorf(e.path+".to", "required (the value the event moves the series to)")
			ok = false
		}
		if e.until.set {
			ev.Until = e.until.resolve(b.t0)
			if atOK && !ev.Until.After(ev.At) {
				d.errorf(e.path+".until", "%s is not after at (%s)", e.until, e.at)
				ok = false
			}
		}
		out.Events = append(out.Events, ev)
	}
	sort.SliceStable(out.Events, func(i, j int) bool { return out.Events[i].At.Before(out.Events[j].At) })
	return out, ok
}

func (b *builder) log(l rawLog) (LogRule, bool) {
	d := b.d
	ok := b.checkResource(l.path+".resource", l.resource)
	out := LogRule{Resource: l.resource, Level: strings.ToLower(l.level), Message: l.message, Every: l.every, Labels: l.labels}
	if len(out.Labels) == 0 {
		out.Labels = nil
	}
	at, atOK := b.at(l.path+".at", l.at)
	out.At = at
	ok = ok && atOK
	switch out.Level {
	case "":
		out.Level = "info"
	case "warning":
		out.Level = "warn"
	case "err":
		out.Level = "error"
	}
	if !slices.Contains(logLevels, out.Level) {
		d.errorf(l.path+".level", "unknown level %q (want %s)", l.level, strings.Join(logLevels, ", "))
		ok = false
	}
	if l.message == "" {
		d.errorf(l.path+".message", "required")
		ok = false
	}
	if d.has(l.path+".every") && l.every < minLogEvery {
		d.errorf(l.path+".every", "want a duration of at least %s", minLogEvery)
		ok = false
	}
	if l.until.set {
		if !d.has(l.path + ".every") {
			d.errorf(l.path+".until", "until needs every (a line without every is written once)")
			ok = false
		}
		out.Until = l.until.resolve(b.t0)
		if atOK && out.Until.Before(out.At) {
			d.errorf(l.path+".until", "%s is before at (%s)", l.until, l.at)
			ok = false
		}
	}
	return out, ok
}

func (b *builder) change(c rawChange) (engine.Change, bool) {
	d := b.d
	ok := b.checkResource(c.path+".resource", c.resource)
	at, atOK := b.at(c.path+".at", c.at)
	ok = ok && atOK
	if !slices.Contains(changeKinds, c.kind) {
		if c.kind == "" {
			d.errorf(c.path+".kind", "required (%s)", strings.Join(changeKinds, ", "))
		} else {
			d.errorf(c.path+".kind", "unknown kind %q (want %s)", c.kind, strings.Join(changeKinds, ", "))
		}
		ok = false
	}
	if c.summary == "" {
		d.errorf(c.path+".summary", "required")
		ok = false
	}
	return engine.Change{T: at, Resource: c.resource, Kind: c.kind, Actor: c.actor, Summary: c.summary}, ok
}

func (b *builder) alert(i int, a rawAlert) (AlertRule, bool) {
	d := b.d
	ok := true
	if !slices.Contains(alertSources, a.source) {
		if a.source == "" {
			d.errorf(a.path+".source", "required (%s)", strings.Join(alertSources, ", "))
		} else {
			d.errorf(a.path+".source", "unknown source %q (want %s)", a.source, strings.Join(alertSources, ", "))
		}
		ok = false
	}
	ok = b.checkResource(a.path+".resource", a.resource) && ok
	at, atOK := b.at(a.path+".at", a.at)
	ok = ok && atOK
	if a.title == "" {
		d.errorf(a.path+".title", "required")
		ok = false
	}
	sev := engine.SeverityWarning
	if a.severity != "" {
		sev = engine.ParseSeverity(a.severity)
		if sev == engine.SeverityUnknown {
			d.errorf(a.path+".severity", "unknown severity %q (want critical, error, warning or info, or a spelling such as P1 or sev2)", a.severity)
			ok = false
		}
	}
	rule := a.rule
	if rule == "" {
		rule = fmt.Sprintf("scenario-alert-%d", i)
	}
	out := AlertRule{Source: a.source, Rule: rule, At: at, Title: a.title, Description: a.description, Resource: a.resource, Severity: sev, Labels: a.labels}
	if len(out.Labels) == 0 {
		out.Labels = nil
	}
	if a.resolvedAt.set {
		out.ResolvedAt = a.resolvedAt.resolve(b.t0)
		if atOK && !out.ResolvedAt.After(at) {
			d.errorf(a.path+".resolved_at", "%s is not after at (%s)", a.resolvedAt, a.at)
			ok = false
		}
	}
	return out, ok
}

func (b *builder) truth() *Truth {
	t := b.raw.truth
	if t == nil {
		return nil
	}
	d := b.d
	b.checkResource(t.path+".root_cause", t.rootCause)
	switch {
	case t.category == "":
		d.errorf(t.path+".category", "required (%s)", strings.Join(categories, ", "))
	case !slices.Contains(categories, t.category):
		d.errorf(t.path+".category", "unknown category %q (want %s)", t.category, strings.Join(categories, ", "))
	}
	for i, s := range t.mustMention {
		if strings.TrimSpace(s) == "" {
			d.errorf(indexPath(t.path+".must_mention", i), "empty stem")
		}
	}
	return &Truth{RootCause: t.rootCause, Category: t.category, MustMention: t.mustMention}
}

// checkDuplicateSeries refuses two series (generated or recorded) with the
// same resource, name and labels: a query could not tell them apart.
func (b *builder) checkDuplicateSeries() {
	seen := map[string]bool{}
	check := func(path, resource, name string, labels map[string]string) {
		k := seriesKey(resource, name, labels)
		if seen[k] {
			b.d.errorf(path, "series %s%s on %s is defined twice", name, fmtLabels(labels), resource)
		}
		seen[k] = true
	}
	for _, m := range b.raw.metrics {
		check(m.path, m.resource, m.name, m.labels)
	}
	for _, r := range b.raw.recorded {
		for _, s := range r.series {
			check(s.path, s.resource, s.name, s.labels)
		}
	}
}

func seriesKey(resource, name string, labels map[string]string) string {
	return resource + "\x00" + name + "\x00" + fmtLabels(labels)
}

// fmtLabels renders labels as {a="1",b="2"}, sorted; "" for none.
func fmtLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(labels))
	var s strings.Builder
	s.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			s.WriteByte(',')
		}
		fmt.Fprintf(&s, "%s=%q", k, labels[k])
	}
	s.WriteByte('}')
	return s.String()
}
