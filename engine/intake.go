package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sort"
	"time"

	"github.com/nightshift-ops/nightshift/engine/journal"
)

// Journal entry types written by intake.
const (
	EntryAlertReceived = "alert_received"
	EntryCorrelated    = "correlated"
	EntryUnlinked      = "unlinked"
	EntryStatusChanged = "status_changed"
)

// UnlinkStore is what Unlink needs: intake's store and the reads.
type UnlinkStore interface {
	IntakeStore
	InvestigationReader
}

// LabelRequestedBy marks an alert a person raised from chat (a mention,
// /devops investigate); its value is the person ("slack:U0ALICE").
const LabelRequestedBy = "requested_by"

// requestThreshold is the correlation score a person's request needs to
// join an active investigation instead of opening its own: the same
// service (0.85) or resource, not merely a topology neighbour.
const requestThreshold = 0.85

// Outcome is intake's answer about one alert.
type Outcome struct {
	AlertID       string   `json:"id"`
	Investigation string   `json:"investigation"`
	Decision      Decision `json:"decision"`
	Score         float64  `json:"score,omitempty"`
	Reasons       string   `json:"reasons,omitempty"`
}

// Space is the part of a space's configuration that intake needs.
type Space struct {
	Name        string
	Correlation CorrelationConfig
	Topology    Neighbourer // nil when the space has no topology
}

// Intake stores alerts, deduplicates them and correlates them into
// investigations. It is safe for concurrent use, also across replicas that
// share a store: every decision is committed atomically against the state it
// was computed from and recomputed on conflict.
type Intake struct {
	store IntakeStore
	now   func() time.Time
	log   *slog.Logger
}

// NewIntake returns an Intake over store. now may be nil (time.Now).
func NewIntake(store IntakeStore, now func() time.Time, log *slog.Logger) *Intake {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Intake{store: store, now: now, log: log}
}

// maxAttempts bounds how often a commit is recomputed after conflicts. A
// storm of alerts linking to one investigation contends on its journal head;
// jittered backoff spreads the retries.
const maxAttempts = 40

// backoff sleeps before retry attempt n (1-based), jittered, growing to 20 ms.
func backoff(ctx context.Context, n int) error {
	limit := time.Duration(n*n) * 100 * time.Microsecond
	if limit > 20*time.Millisecond {
		limit = 20 * time.Millisecond
	}
	t := time.NewTimer(time.Duration(mrand.Int64N(int64(limit) + 1)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Receive takes one normalised alert into space sp. The alert is durably
// stored when Receive returns without error. Errors from the store are
// *Error with CodeUnavailable so that callers can ask senders to retry.
func (in *Intake) Receive(ctx context.Context, sp Space, a Alert) (Outcome, error) {
	now := in.now()
	a.Space = sp.Name
	a.ReceivedAt = now
	if a.ID == "" {
		a.ID = NewID("al", now)
	}
	if a.StartsAt.IsZero() {
		a.StartsAt = now
	}
	if a.Status == "" {
		a.Status = AlertFiring
	}
	if a.Severity == "" {
		a.Severity = SeverityUnknown
	}
	if a.DeliveryID == "" {
		a.DeliveryID = ContentID([]byte(a.Source), a.Raw)
	}
	if a.Fingerprint == "" {
		a.Fingerprint = StructuredFingerprint(a.Source, a.Labels["alertname"], a.Resources, nil)
	}
	cfg := sp.Correlation.WithDefaults()
	keys := correlationKeys(&a, sp.Topology)

	for attempt := 1; ; attempt++ {
		look, err := in.store.Lookup(ctx, sp.Name, LookupQuery{
			DeliveryID: a.DeliveryID, Fingerprint: a.Fingerprint, Keys: keys, Since: now.Add(-cfg.Window),
		})
		if err != nil {
			return Outcome{}, storeError("look up alert", err)
		}
		out, commit, err := in.decide(sp, cfg, &a, keys, look)
		if err != nil || commit == nil {
			return out, err
		}
		err = in.store.Commit(ctx, sp.Name, *commit)
		if err == nil {
			in.log.Debug("alert taken", "space", sp.Name, "alert", out.AlertID, "investigation", out.Investigation,
				"decision", out.Decision, "score", out.Score, "reasons", out.Reasons)
			return out, nil
		}
		if !errors.Is(err, ErrConflict) {
			return Outcome{}, storeError("store alert", err)
		}
		if attempt >= maxAttempts {
			return Outcome{}, fmt.Errorf("store alert: %d conflicting attempts: %w", attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return Outcome{}, err
		}
	}
}

func storeError(what string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return Unavailable("store", fmt.Errorf("%s: %w", what, err))
}

// decide computes the outcome and the commit for one alert from a lookup.
// A nil commit means nothing is written (a duplicate).
func (in *Intake) decide(sp Space, cfg CorrelationConfig, a *Alert, keys []string, look LookupResult) (Outcome, *Commit, error) {
	if look.Delivery != nil {
		return Outcome{AlertID: look.Delivery.AlertID, Investigation: look.Delivery.Investigation, Decision: DecisionDuplicate}, nil, nil
	}
	if a.Firing() && look.Fingerprint != nil {
		return Outcome{AlertID: look.Fingerprint.AlertID, Investigation: look.Fingerprint.Investigation, Decision: DecisionDuplicate}, nil, nil
	}
	if !a.Firing() {
		return in.resolve(a, look)
	}

	// Score every candidate; the best at or above the threshold wins.
	type scored struct {
		st      InvestigationState
		score   float64
		reasons string
	}
	var all []scored
	for _, c := range look.Candidates {
		if c.Status != StatusActive {
			continue
		}
		s, why := Score(a, &c.Investigation, cfg, sp.Topology)
		all = append(all, scored{c, s, why})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].st.OpenedAt.Before(all[j].st.OpenedAt)
	})
	considered := make([]map[string]any, 0, len(all))
	for i, s := range all {
		if i == 5 {
			break
		}
		considered = append(considered, map[string]any{"investigation": s.st.ID, "score": s.score, "reasons": s.reasons})
	}

	threshold := cfg.Threshold
	if a.Labels[LabelRequestedBy] != "" {
		// A person asked for this investigation: it joins one only when
		// that one is about the same resource or service.
		threshold = max(threshold, requestThreshold)
	}
	if len(all) > 0 && all[0].score >= threshold {
		best := all[0]
		inv := best.st.Investigation
		inv.AlertCount++
		inv.FiringCount++
		inv.LastAlertAt = a.ReceivedAt
		inv.UpdatedAt = a.ReceivedAt
		inv.addFeatures(a)
		a.Investigation = inv.ID
		link := linkOf(a, DecisionLinked, best.score, best.reasons)
		entries, err := sealAll(best.st.Head,
			entry(a.ReceivedAt, EntryAlertReceived, "intake", alertEntry(a)),
			entry(a.ReceivedAt, EntryCorrelated, "intake", map[string]any{
				"alert_id": a.ID, "decision": DecisionLinked, "score": best.score, "reasons": best.reasons,
				"threshold": cfg.Threshold, "candidates": considered}),
		)
		if err != nil {
			return Outcome{}, nil, err
		}
		return Outcome{AlertID: a.ID, Investigation: inv.ID, Decision: DecisionLinked, Score: best.score, Reasons: best.reasons},
			&Commit{
				Alert: *a, Delivery: Ref{AlertID: a.ID, Investigation: inv.ID}, Fingerprint: FingerprintSet,
				Updates: []InvestigationUpdate{{Investigation: inv, Head: best.st.Head, Entries: entries,
					Links: []AlertLink{link}, Index: alertKeys(a, &inv)}},
			}, nil
	}

	reasons := "no active investigation in the window shares a resource, service or topology neighbourhood"
	if len(all) > 0 {
		reasons = fmt.Sprintf("best match %s scored %.2f (%s), below %.2f", all[0].st.ID, all[0].score, all[0].reasons, cfg.Threshold)
	}
	inv := openInvestigation(a)
	link := linkOf(a, DecisionNew, 0, reasons)
	entries, err := sealAll(journal.Head{},
		entry(a.ReceivedAt, EntryAlertReceived, "intake", alertEntry(a)),
		entry(a.ReceivedAt, EntryCorrelated, "intake", map[string]any{
			"alert_id": a.ID, "decision": DecisionNew, "reasons": reasons, "threshold": cfg.Threshold, "candidates": considered}),
		entry(a.ReceivedAt, EntryStatusChanged, "intake", map[string]any{"from": "", "to": StatusActive, "reason": "opened by alert " + a.ID}),
	)
	if err != nil {
		return Outcome{}, nil, err
	}
	return Outcome{AlertID: a.ID, Investigation: inv.ID, Decision: DecisionNew, Reasons: reasons},
		&Commit{
			Alert: *a, Delivery: Ref{AlertID: a.ID, Investigation: inv.ID}, Fingerprint: FingerprintSet,
			Updates: []InvestigationUpdate{{Investigation: inv, Entries: entries, Links: []AlertLink{link},
				Index: featureKeys(&inv), Relist: true}},
			Guard:   &Guard{Keys: keys, Since: a.ReceivedAt.Add(-cfg.Window), Counts: look.KeyCounts},
			Enqueue: []string{inv.ID},
		}, nil
}

// resolve handles a resolved notice.
func (in *Intake) resolve(a *Alert, look LookupResult) (Outcome, *Commit, error) {
	if look.Fingerprint == nil || look.FingerprintInv == nil {
		// Nothing firing under this fingerprint: keep the notice, change nothing else.
		return Outcome{AlertID: a.ID, Decision: DecisionResolved, Reasons: "no firing alert with this fingerprint"},
			&Commit{Alert: *a, Delivery: Ref{AlertID: a.ID}}, nil
	}
	st := *look.FingerprintInv
	inv := st.Investigation
	a.ID = look.Fingerprint.AlertID // the resolved notice updates the alert it resolves
	a.Investigation = inv.ID
	inv.FiringCount--
	if inv.FiringCount < 0 {
		inv.FiringCount = 0
	}
	inv.UpdatedAt = a.ReceivedAt
	records := []journal.Entry{
		entry(a.ReceivedAt, EntryAlertReceived, "intake", alertEntry(a)),
	}
	upd := InvestigationUpdate{Links: []AlertLink{linkOf(a, DecisionResolved, 0, "")}}
	if inv.FiringCount == 0 && inv.Status == StatusActive {
		inv.Status = StatusResolved
		inv.ResolvedAt = a.ReceivedAt
		upd.Unindex = featureKeys(&inv)
		upd.Relist = true
		records = append(records, entry(a.ReceivedAt, EntryStatusChanged, "intake",
			map[string]any{"from": StatusActive, "to": StatusResolved, "reason": "all alerts resolved"}))
	}
	entries, err := sealAll(st.Head, records...)
	if err != nil {
		return Outcome{}, nil, err
	}
	upd.Investigation, upd.Head, upd.Entries = inv, st.Head, entries
	return Outcome{AlertID: a.ID, Investigation: inv.ID, Decision: DecisionResolved},
		&Commit{Alert: *a, Delivery: Ref{AlertID: a.ID, Investigation: inv.ID}, Fingerprint: FingerprintClear,
			Updates: []InvestigationUpdate{upd}}, nil
}

func openInvestigation(a *Alert) Investigation {
	inv := Investigation{
		ID: NewID("inv", a.ReceivedAt), Space: a.Space, Title: a.Title, Severity: a.Severity,
		Status: StatusActive, Phase: PhaseTriage, OpenedAt: a.ReceivedAt, UpdatedAt: a.ReceivedAt,
		LastAlertAt: a.ReceivedAt, Trigger: a.ID, AlertCount: 1, FiringCount: 1,
	}
	inv.addFeatures(a)
	a.Investigation = inv.ID
	return inv
}

func linkOf(a *Alert, d Decision, score float64, reasons string) AlertLink {
	return AlertLink{AlertID: a.ID, Source: a.Source, Title: a.Title, Resource: a.PrimaryResource(),
		Status: a.Status, Decision: d, Score: score, Reasons: reasons, At: a.ReceivedAt}
}

func alertEntry(a *Alert) map[string]any {
	return map[string]any{"alert_id": a.ID, "source": a.Source, "delivery_id": a.DeliveryID,
		"fingerprint": a.Fingerprint, "title": a.Title, "status": a.Status, "severity": a.Severity,
		"resources": a.Resources, "service": a.Service, "region": a.Region}
}

// entry builds an unsealed journal entry; data is marshalled to JSON.
func entry(t time.Time, typ, actor string, data any) journal.Entry {
	b, err := json.Marshal(data)
	if err != nil {
		// data is always built from plain maps here; a failure is a bug.
		panic(fmt.Sprintf("journal entry %s: %v", typ, err))
	}
	return journal.Entry{Time: t, Type: typ, Actor: actor, Data: b}
}

// sealAll chains entries after head.
func sealAll(head journal.Head, es ...journal.Entry) ([]journal.Entry, error) {
	out := make([]journal.Entry, 0, len(es))
	for _, e := range es {
		s, h, err := journal.Seal(head, e)
		if err != nil {
			return nil, fmt.Errorf("seal journal entry: %w", err)
		}
		out = append(out, s)
		head = h
	}
	return out, nil
}

// Unlink moves an alert out of its investigation into a fresh one, as an
// operator asked (actor names them). The old investigation resolves if the
// alert was its last firing one.
func (in *Intake) Unlink(ctx context.Context, store UnlinkStore, space, alertID, actor string) (Outcome, error) {
	for attempt := 1; ; attempt++ {
		a, err := store.Alert(ctx, space, alertID)
		if err != nil {
			return Outcome{}, err
		}
		if a.Investigation == "" {
			return Outcome{}, Errorf(CodeInvalid, "alert %s belongs to no investigation", alertID)
		}
		old, err := store.Investigation(ctx, space, a.Investigation)
		if err != nil {
			return Outcome{}, err
		}
		if old.AlertCount <= 1 {
			return Outcome{}, Errorf(CodeInvalid, "alert %s is the only alert of %s; nothing to unlink from", alertID, old.ID)
		}
		now := in.now()
		a.ReceivedAt = now
		fresh := openInvestigation(&a)
		fresh.Trigger = a.ID

		prev := old.Investigation
		prev.AlertCount--
		if a.Firing() {
			prev.FiringCount--
		}
		prev.UpdatedAt = now
		oldRecords := []journal.Entry{entry(now, EntryUnlinked, actor, map[string]any{"alert_id": a.ID, "to": fresh.ID})}
		oldUpd := InvestigationUpdate{Head: old.Head}
		if prev.FiringCount <= 0 && prev.Status == StatusActive {
			prev.FiringCount = 0
			prev.Status, prev.ResolvedAt = StatusResolved, now
			oldUpd.Unindex = featureKeys(&prev)
			oldUpd.Relist = true
			oldRecords = append(oldRecords, entry(now, EntryStatusChanged, actor,
				map[string]any{"from": StatusActive, "to": StatusResolved, "reason": "last firing alert unlinked"}))
		}
		oldEntries, err := sealAll(old.Head, oldRecords...)
		if err != nil {
			return Outcome{}, err
		}
		oldUpd.Investigation, oldUpd.Entries = prev, oldEntries
		oldUpd.Links = []AlertLink{{AlertID: a.ID, Source: a.Source, Title: a.Title, Resource: a.PrimaryResource(),
			Status: a.Status, Decision: DecisionUnlinked, Reasons: "moved to " + fresh.ID + " by " + actor, At: now}}

		reasons := "unlinked from " + old.ID + " by " + actor
		newEntries, err := sealAll(journal.Head{},
			entry(now, EntryAlertReceived, actor, alertEntry(&a)),
			entry(now, EntryCorrelated, actor, map[string]any{"alert_id": a.ID, "decision": DecisionUnlinked, "reasons": reasons, "from": old.ID}),
			entry(now, EntryStatusChanged, actor, map[string]any{"from": "", "to": StatusActive, "reason": reasons}),
		)
		if err != nil {
			return Outcome{}, err
		}
		newUpd := InvestigationUpdate{Investigation: fresh, Entries: newEntries,
			Links: []AlertLink{linkOf(&a, DecisionUnlinked, 0, reasons)}, Index: featureKeys(&fresh), Relist: true}
		fp := FingerprintKeep
		if a.Firing() {
			fp = FingerprintSet // now points at the fresh investigation
		}
		err = store.Commit(ctx, space, Commit{Alert: a, Delivery: Ref{AlertID: a.ID, Investigation: fresh.ID}, Rebind: true,
			Fingerprint: fp, Updates: []InvestigationUpdate{oldUpd, newUpd}, Enqueue: []string{fresh.ID}})
		if err == nil {
			return Outcome{AlertID: a.ID, Investigation: fresh.ID, Decision: DecisionUnlinked, Reasons: reasons}, nil
		}
		if !errors.Is(err, ErrConflict) || attempt >= maxAttempts {
			return Outcome{}, storeError("unlink alert", err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return Outcome{}, err
		}
	}
}
