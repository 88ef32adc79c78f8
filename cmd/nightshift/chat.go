package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/bot/chart"
	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/topology"
	"github.com/nightshift-ops/nightshift/integrations/chatalert"
	"github.com/nightshift-ops/nightshift/store"
)

// chatSpace is what chat needs of one space.
type chatSpace struct {
	space engine.Space
	env   engine.Environment
	graph *topology.Graph // nil when the space knows no topology
}

// chatEngine implements bot.Engine over the intake, the store, the
// answerer and the spaces' tools. Platform-neutral: Slack and Teams share
// it.
type chatEngine struct {
	st       *store.Store
	intake   receiver
	spaces   map[string]chatSpace
	answerer *answerer
	platform string
	log      *slog.Logger
	now      func() time.Time
	// retryWait is the first wait when the store is down (default 1 s).
	retryWait time.Duration
}

var _ bot.Engine = (*chatEngine)(nil)

// receiver is the intake as chat uses it (notifying the threads).
type receiver interface {
	Receive(ctx context.Context, sp engine.Space, a engine.Alert) (engine.Outcome, error)
	Unlink(ctx context.Context, store engine.UnlinkStore, space, alertID, actor string) (engine.Outcome, error)
}

func (c *chatEngine) sp(space string) (chatSpace, error) {
	s, ok := c.spaces[space]
	if !ok {
		return chatSpace{}, engine.Errorf(engine.CodeNotFound, "unknown space %q", space)
	}
	return s, nil
}

// resourcesIn finds the resources of the space's topology that text names,
// longest first (so "orders-db-replica" wins over "orders-db").
func resourcesIn(g *topology.Graph, text string) []string {
	if g == nil {
		return nil
	}
	low := strings.ToLower(text)
	var found []string
	for _, n := range g.Nodes() {
		for _, name := range []string{n.ID, n.Name} {
			if name != "" && len(name) >= 3 && containsToken(low, strings.ToLower(name)) {
				found = append(found, n.ID)
				break
			}
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if len(found[i]) != len(found[j]) {
			return len(found[i]) > len(found[j])
		}
		return found[i] < found[j]
	})
	var out []string
	for _, f := range found {
		dup := false
		for _, o := range out {
			if strings.Contains(o, f) {
				dup = true
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// containsToken reports whether s contains w between non-name characters.
func containsToken(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		at := i + j
		before := at == 0 || !nameByte(s[at-1])
		after := at+len(w) == len(s) || !nameByte(s[at+len(w)])
		if before && after {
			return true
		}
		i = at + 1
	}
}

func nameByte(b byte) bool {
	return b == '-' || b == '_' || b == '.' || b == '/' || b == ':' ||
		(b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')
}

var presetTitles = map[string]string{
	bot.PresetHighCPU:    "High CPU",
	bot.PresetErrorSpike: "Error spike",
}

// Start implements bot.Engine: the request becomes a chat alert through
// the same intake, correlation and dedup as webhooks.
func (c *chatEngine) Start(ctx context.Context, space string, r bot.StartRequest) (engine.Outcome, error) {
	s, err := c.sp(space)
	if err != nil {
		return engine.Outcome{}, err
	}
	now := r.At
	if now.IsZero() {
		now = c.now()
	}
	a := engine.Alert{Source: engine.SourceChat, Status: engine.AlertFiring, Severity: engine.SeverityWarning,
		StartsAt: now, Title: strings.TrimSpace(r.Description), Labels: map[string]string{engine.LabelRequestedBy: r.Actor}}
	switch r.Preset {
	case bot.PresetLatestAlarm:
		alarm, err := c.latestAlarm(ctx, s, now)
		if err != nil {
			return engine.Outcome{}, err
		}
		a.Title = alarm.Name
		if alarm.Resource != "" {
			a.Resources = []string{alarm.Resource}
		}
		if alarm.Severity != "" {
			a.Severity = alarm.Severity
		}
		if !alarm.Since.IsZero() {
			a.StartsAt = alarm.Since
		}
		a.Labels["preset"] = r.Preset
	case bot.PresetHighCPU, bot.PresetErrorSpike:
		a.Title = strings.TrimSpace(presetTitles[r.Preset] + " " + r.Description)
		a.Labels["preset"] = r.Preset
	}
	if a.Title == "" {
		return engine.Outcome{}, engine.Invalid("description", "say what to investigate")
	}
	if len(a.Resources) == 0 {
		a.Resources = resourcesIn(s.graph, r.Description)
	}
	a.Description = r.Description
	a.DeliveryID = engine.NewID("chat", now)
	a.Fingerprint = engine.StructuredFingerprint(engine.SourceChat, a.Title+"|"+r.Actor+"|"+a.DeliveryID, a.Resources, nil)
	a.Raw, _ = json.Marshal(map[string]string{"actor": r.Actor, "channel": r.Channel, "text": r.Description, "preset": r.Preset})
	return c.intake.Receive(ctx, s.space, a)
}

// latestAlarm asks the space's alarm tools for the most recent firing alarm.
func (c *chatEngine) latestAlarm(ctx context.Context, s chatSpace, now time.Time) (engine.AlarmInfo, error) {
	if s.env == nil {
		return engine.AlarmInfo{}, engine.Errorf(engine.CodeNotFound, "this space has no monitoring tools to read alarms from")
	}
	reg, err := s.env.Tools(ctx, engine.Investigation{}, nil)
	if err != nil {
		return engine.AlarmInfo{}, err
	}
	args, _ := json.Marshal(engine.AlarmQuery{Start: now.Add(-24 * time.Hour), End: now})
	var best engine.AlarmInfo
	for _, t := range reg.ByCategory(engine.CategoryAlarms) {
		res, err := reg.Call(ctx, t.Name, args)
		if err != nil {
			continue
		}
		var ar engine.AlarmsResult
		if json.Unmarshal(res.Data, &ar) != nil {
			continue
		}
		for _, al := range ar.Alarms {
			if al.State == "firing" && (best.Name == "" || al.Since.After(best.Since)) {
				best = al
			}
		}
	}
	if best.Name == "" {
		return engine.AlarmInfo{}, engine.Errorf(engine.CodeNotFound, "no alarm is firing in this space right now")
	}
	return best, nil
}

// Ask implements bot.Engine.
func (c *chatEngine) Ask(ctx context.Context, q bot.Question) (engine.Answer, error) {
	if _, err := c.sp(q.Space); err != nil {
		return engine.Answer{}, err
	}
	thread := q.Thread
	if thread != "" {
		thread = c.platform + ":" + thread
	}
	return c.answerer.answer(ctx, q.Space, q.Investigation, thread, q.Actor, q.Text)
}

// Active implements bot.Engine.
func (c *chatEngine) Active(ctx context.Context, space string) ([]engine.Investigation, error) {
	if _, err := c.sp(space); err != nil {
		return nil, err
	}
	return c.st.Investigations(ctx, space, engine.StatusActive, 50)
}

// Topology implements bot.Engine: the neighbourhood as a tree and a picture.
func (c *chatEngine) Topology(ctx context.Context, space, resource string) (string, *bot.Image, error) {
	s, err := c.sp(space)
	if err != nil {
		return "", nil, err
	}
	if s.graph == nil {
		return "", nil, engine.Errorf(engine.CodeNotFound, "this space has no topology (no provider knows its resources)")
	}
	id := resource
	if _, ok := s.graph.Node(id); !ok {
		found := resourcesIn(s.graph, resource)
		if len(found) == 0 {
			return "", nil, engine.Errorf(engine.CodeNotFound, "no resource %q in this space's topology", resource)
		}
		id = found[0]
	}
	hood := s.graph.Neighbourhood(id, 1)
	text := "```\n" + hood.Render(id) + "```"
	var edges []engine.Edge
	for _, e := range hood.Edges() {
		edges = append(edges, engine.Edge{From: e.From, To: e.To})
	}
	png, err := chart.Neighbourhood(id, edges)
	if err != nil {
		c.log.Warn("draw topology", "resource", id, "err", err)
		return text, nil, nil
	}
	return text, &bot.Image{Title: "Topology of " + id, Alt: "neighbourhood of " + id, PNG: png}, nil
}

// Feedback implements bot.Engine.
func (c *chatEngine) Feedback(ctx context.Context, space, inv, actor, verdict, comment string) error {
	if _, err := c.st.Investigation(ctx, space, inv); err != nil {
		return err
	}
	r, err := c.st.Report(ctx, space, inv)
	if err != nil {
		return err
	}
	return engine.RecordFeedback(ctx, c.st, c.st, space, engine.FeedbackOf(r, inv, actor, verdict, comment, c.now()))
}

// Withdraw implements bot.Engine.
func (c *chatEngine) Withdraw(ctx context.Context, space, inv, actor string) (bool, error) {
	return engine.WithdrawFeedback(ctx, c.st, c.st, space, inv, actor, c.now())
}

// Reinvestigate implements bot.Engine: the investigation is queued again;
// its report follows in the same thread.
func (c *chatEngine) Reinvestigate(ctx context.Context, space, inv, actor string) error {
	if _, err := c.st.Investigation(ctx, space, inv); err != nil {
		return err
	}
	if err := engine.AppendEntry(ctx, c.st, space, inv, engine.EntryUserRequest, actor,
		map[string]any{"request": "reinvestigate"}, c.now()); err != nil {
		return err
	}
	return c.st.Enqueue(ctx, space, inv)
}

// Unlink implements bot.Engine.
func (c *chatEngine) Unlink(ctx context.Context, space, alertID, actor string) (engine.Outcome, error) {
	if _, err := c.sp(space); err != nil {
		return engine.Outcome{}, err
	}
	return c.intake.Unlink(ctx, c.st, space, alertID, actor)
}

// ChannelAlerts implements bot.Engine: an app's message in an alert channel
// is parsed (integrations/chatalert) and each alert goes through intake.
func (c *chatEngine) ChannelAlerts(ctx context.Context, space string, m bot.ChannelMessage) ([]engine.Outcome, error) {
	s, err := c.sp(space)
	if err != nil {
		return nil, err
	}
	msg := chatalert.Message{Platform: c.platform, Channel: m.Channel, ID: m.ID, Author: m.Author, AppID: m.AppID,
		BotID: m.BotID, Text: m.Text, Blocks: m.Blocks, At: m.At}
	for _, a := range m.Attachments {
		at := chatalert.Attachment{Title: a.Title, TitleLink: a.TitleLink, Pretext: a.Pretext, Text: a.Text,
			Fallback: a.Fallback, Color: a.Color, Footer: a.Footer}
		for _, f := range a.Fields {
			at.Fields = append(at.Fields, chatalert.Field{Title: f.Title, Value: f.Value})
		}
		msg.Attachments = append(msg.Attachments, at)
	}
	alerts, err := chatalert.Parse(msg)
	if errors.Is(err, chatalert.ErrNotAlert) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var outs []engine.Outcome
	for _, a := range alerts {
		out, err := c.receive(ctx, s.space, a)
		if err != nil {
			return outs, err
		}
		c.log.Info("alert from chat channel", "space", space, "channel", m.Channel, "app", a.Labels["chat_app"],
			"decision", out.Decision, "investigation", out.Investigation)
		outs = append(outs, out)
	}
	return outs, nil
}

// storeRetry bounds how long an alert read from a chat channel waits for
// the store to come back. The platform was already answered (Slack wants
// its ack within 3 s), so unlike a webhook nobody will send it again:
// waiting, with a log line per attempt, is how it is not lost.
const storeRetry = 15 * time.Minute

// receive hands an alert to intake, retrying while the store is down.
func (c *chatEngine) receive(ctx context.Context, sp engine.Space, a engine.Alert) (engine.Outcome, error) {
	deadline := time.Now().Add(storeRetry)
	wait := c.retryWait
	if wait <= 0 {
		wait = time.Second
	}
	for {
		out, err := c.intake.Receive(ctx, sp, a)
		if err == nil || engine.ErrorCode(err) != engine.CodeUnavailable || time.Now().After(deadline) {
			return out, err
		}
		c.log.Warn("store unavailable; retrying the alert from chat", "space", sp.Name, "title", a.Title, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// notifyingIntake tells the chat threads about alerts that join a running
// investigation or resolve one, whichever replica received them.
type notifyingIntake struct {
	*engine.Intake
	st       *store.Store
	progress engine.Progress
}

// Receive implements server.Receiver.
func (n *notifyingIntake) Receive(ctx context.Context, sp engine.Space, a engine.Alert) (engine.Outcome, error) {
	out, err := n.Intake.Receive(ctx, sp, a)
	if err != nil || n.progress == nil {
		return out, err
	}
	switch out.Decision {
	case engine.DecisionLinked:
		a.ID, a.Investigation = out.AlertID, out.Investigation
		o := out
		n.progress.Emit(ctx, engine.Event{Space: sp.Name, Investigation: out.Investigation, Kind: engine.EventLinked,
			Alert: &a, Outcome: &o, At: time.Now()})
	case engine.DecisionResolved:
		if st, err := n.st.Investigation(ctx, sp.Name, out.Investigation); err == nil && st.Investigation.Status == engine.StatusResolved {
			n.progress.Emit(ctx, engine.Event{Space: sp.Name, Investigation: out.Investigation, Kind: engine.EventResolved, At: time.Now()})
		}
	}
	return out, nil
}

// keyChart draws the key metric of a report's top hypothesis around its
// onset, read with the investigation's own tools.
func keyChart(st *store.Store, envs map[string]engine.Environment, log *slog.Logger) func(ctx context.Context, space, inv string, r *engine.Report) (*bot.Image, error) {
	return func(ctx context.Context, space, inv string, r *engine.Report) (*bot.Image, error) {
		top := r.Top()
		envr := envs[space]
		if top == nil || envr == nil {
			log.Debug("no chart: no root cause or no tools", "investigation", inv)
			return nil, nil
		}
		investigation, alerts, _, err := investigationContext(ctx, st, space, inv)
		if err != nil {
			return nil, err
		}
		reg, err := envr.Tools(ctx, investigation, alerts)
		if err != nil {
			log.Debug("no chart: no tools", "investigation", inv, "err", err)
			return nil, nil
		}
		onset := top.Onset
		if onset.IsZero() {
			onset = r.Incident
		}
		if onset.IsZero() {
			log.Debug("no chart: no onset", "investigation", inv)
			return nil, nil
		}
		end := onset.Add(30 * time.Minute)
		if now := time.Now(); end.After(now) {
			end = now
		}
		args, _ := json.Marshal(engine.MetricsQuery{Resource: top.Resource, Start: onset.Add(-45 * time.Minute), End: end})
		var series []engine.Series
		for _, t := range reg.ByCategory(engine.CategoryMetrics) {
			res, err := reg.Call(ctx, t.Name, args)
			if err != nil {
				continue
			}
			var mr engine.MetricsResult
			if json.Unmarshal(res.Data, &mr) == nil {
				series = append(series, mr.Series...)
			}
		}
		i := chart.KeySeries(series, onset)
		if i < 0 {
			log.Debug("no chart: no series shows the onset", "investigation", inv, "resource", top.Resource, "series", len(series), "onset", onset)
			return nil, nil
		}
		png, err := chart.Metric(series[i], chart.MetricOptions{Onset: onset, Alert: r.Incident})
		if err != nil {
			return nil, err
		}
		s := series[i]
		return &bot.Image{Title: fmt.Sprintf("%s %s around the onset", s.Resource, s.Name),
			Alt: fmt.Sprintf("%s of %s, onset at %s", s.Name, s.Resource, onset.UTC().Format("15:04")), PNG: png}, nil
	}
}
