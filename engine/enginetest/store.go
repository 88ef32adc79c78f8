package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/journal"
)

// Store is an in-memory engine.RunStore (and so an
// engine.InvestigationReader and engine.JournalStore). It keeps the
// contracts of the real store that the engine relies on:
//
//   - AppendJournal applies only when the given head is still the journal's
//     head (otherwise engine.ErrConflict), and refuses entries that do not
//     chain from it: wrong sequence, wrong prev_hash, or a hash that does
//     not match the content. A journal built through it therefore always
//     passes journal.Verify, and an engine bug that seals badly fails loudly.
//   - Reports are stored as JSON, as the real store keeps them, so a report
//     that does not survive encoding does not survive here either.
//   - The phase lives beside the investigation record and overrides its
//     Phase on read.
//
// The work queue has no consumer groups: NextJob hands out queued jobs in
// order and waits up to block for one; jobs delivered and not acknowledged
// are listed by Pending. The stale argument is ignored.
//
// The zero value is not usable; call NewStore. Safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	invs     map[key]engine.Investigation
	heads    map[key]journal.Head
	journals map[key][]journal.Entry
	phases   map[key]engine.Phase
	links    map[key][]engine.AlertLink
	alerts   map[key]engine.Alert
	reports  map[key][]byte
	queued   map[string][]engine.Job
	pending  map[string][]engine.Job
	jobs     int
	wake     chan struct{} // closed and replaced on every Enqueue
}

type key struct{ space, id string }

var _ engine.RunStore = (*Store)(nil)

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{
		invs: map[key]engine.Investigation{}, heads: map[key]journal.Head{}, journals: map[key][]journal.Entry{},
		phases: map[key]engine.Phase{}, links: map[key][]engine.AlertLink{}, alerts: map[key]engine.Alert{},
		reports: map[key][]byte{}, queued: map[string][]engine.Job{}, pending: map[string][]engine.Job{},
		wake: make(chan struct{}),
	}
}

// Open stores an investigation with its alerts, as intake would have left
// it: the first alert opened it (DecisionNew), the others linked to it. Each
// alert's Investigation and Space are set, and the investigation's counts and
// trigger are filled when zero. Its journal starts empty. Open replaces an
// investigation of the same id.
func (s *Store) Open(space string, inv engine.Investigation, alerts ...engine.Alert) engine.Investigation {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv.Space = space
	if inv.Status == "" {
		inv.Status = engine.StatusActive
	}
	if inv.Phase == "" {
		inv.Phase = engine.PhaseTriage
	}
	if inv.AlertCount == 0 {
		inv.AlertCount = len(alerts)
	}
	if inv.FiringCount == 0 {
		for _, a := range alerts {
			if a.Firing() {
				inv.FiringCount++
			}
		}
	}
	if inv.Trigger == "" && len(alerts) > 0 {
		inv.Trigger = alerts[0].ID
	}
	k := key{space, inv.ID}
	var links []engine.AlertLink
	for i, a := range alerts {
		a.Space = space
		a.Investigation = inv.ID
		s.alerts[key{space, a.ID}] = a
		d := engine.DecisionLinked
		if i == 0 {
			d = engine.DecisionNew
		}
		at := a.ReceivedAt
		if at.IsZero() {
			at = a.StartsAt
		}
		links = append(links, engine.AlertLink{AlertID: a.ID, Source: a.Source, Title: a.Title,
			Resource: a.PrimaryResource(), Status: a.Status, Decision: d, At: at})
	}
	s.invs[k] = inv
	s.links[k] = links
	s.journals[k] = nil
	s.heads[k] = journal.Head{}
	return inv
}

// Investigation implements engine.InvestigationReader.
func (s *Store) Investigation(_ context.Context, space, id string) (engine.InvestigationState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{space, id}
	inv, ok := s.invs[k]
	if !ok {
		return engine.InvestigationState{}, engine.Errorf(engine.CodeNotFound, "no investigation %s in space %s", id, space)
	}
	if p := s.phases[k]; p != "" {
		inv.Phase = p
	}
	return engine.InvestigationState{Investigation: inv, Head: s.heads[k]}, nil
}

// Investigations implements engine.InvestigationReader: newest first, at
// most limit (0: 100); status "" lists every status.
func (s *Store) Investigations(_ context.Context, space string, status engine.InvestigationStatus, limit int) ([]engine.Investigation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit <= 0 {
		limit = 100
	}
	var out []engine.Investigation
	for k, inv := range s.invs {
		if k.space != space || status != "" && inv.Status != status {
			continue
		}
		if p := s.phases[k]; p != "" {
			inv.Phase = p
		}
		out = append(out, inv)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].OpenedAt.Equal(out[j].OpenedAt) {
			return out[i].OpenedAt.After(out[j].OpenedAt)
		}
		return out[i].ID > out[j].ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Links implements engine.InvestigationReader, in the order alerts arrived.
func (s *Store) Links(_ context.Context, space, id string) ([]engine.AlertLink, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]engine.AlertLink(nil), s.links[key{space, id}]...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].AlertID < out[j].AlertID
	})
	return out, nil
}

// Alert implements engine.InvestigationReader.
func (s *Store) Alert(_ context.Context, space, id string) (engine.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[key{space, id}]
	if !ok {
		return engine.Alert{}, engine.Errorf(engine.CodeNotFound, "no alert %s in space %s", id, space)
	}
	return a, nil
}

// Journal implements engine.InvestigationReader: every entry, oldest first.
func (s *Store) Journal(_ context.Context, space, id string) ([]journal.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]journal.Entry(nil), s.journals[key{space, id}]...), nil
}

// AppendJournal implements engine.RunStore: it appends entries if head is
// still the journal's head (engine.ErrConflict otherwise) and every entry
// chains from the one before.
func (s *Store) AppendJournal(_ context.Context, space, id string, head journal.Head, entries []journal.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{space, id}
	if s.heads[k] != head {
		return engine.ErrConflict
	}
	h := head
	for _, e := range entries {
		if e.Seq != h.Seq+1 {
			return fmt.Errorf("enginetest: journal of %s: entry has seq %d, want %d", id, e.Seq, h.Seq+1)
		}
		if e.PrevHash != h.PrevHash() {
			return fmt.Errorf("enginetest: journal of %s: entry %d has prev_hash %.12s…, want %.12s…", id, e.Seq, e.PrevHash, h.PrevHash())
		}
		want, err := journal.Hash(e)
		if err != nil {
			return fmt.Errorf("enginetest: journal of %s: entry %d: %w", id, e.Seq, err)
		}
		if want != e.Hash {
			return fmt.Errorf("enginetest: journal of %s: entry %d: hash does not match its content", id, e.Seq)
		}
		h = journal.Head{Seq: e.Seq, Hash: e.Hash}
	}
	for _, e := range entries {
		e.Data = append(json.RawMessage(nil), e.Data...)
		s.journals[k] = append(s.journals[k], e)
	}
	s.heads[k] = h
	return nil
}

// NextJob implements engine.RunStore: the oldest queued job of space, waiting
// up to block for one; engine.ErrNoJob when none came.
func (s *Store) NextJob(ctx context.Context, space, _ string, block, _ time.Duration) (engine.Job, error) {
	var timeout <-chan time.Time
	if block > 0 {
		t := time.NewTimer(block)
		defer t.Stop()
		timeout = t.C
	}
	for {
		s.mu.Lock()
		if q := s.queued[space]; len(q) > 0 {
			j := q[0]
			s.queued[space] = q[1:]
			s.pending[space] = append(s.pending[space], j)
			s.mu.Unlock()
			return j, nil
		}
		wake := s.wake
		s.mu.Unlock()
		if timeout == nil {
			return engine.Job{}, engine.ErrNoJob
		}
		select {
		case <-ctx.Done():
			return engine.Job{}, ctx.Err()
		case <-timeout:
			return engine.Job{}, engine.ErrNoJob
		case <-wake:
		}
	}
}

// AckJob implements engine.RunStore.
func (s *Store) AckJob(_ context.Context, j engine.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[j.Space]
	for i, x := range p {
		if x.ID == j.ID {
			s.pending[j.Space] = append(p[:i:i], p[i+1:]...)
			break
		}
	}
	return nil
}

// Enqueue implements engine.RunStore.
func (s *Store) Enqueue(_ context.Context, space, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs++
	s.queued[space] = append(s.queued[space], engine.Job{ID: fmt.Sprintf("job-%d", s.jobs), Space: space, Investigation: id})
	close(s.wake)
	s.wake = make(chan struct{})
	return nil
}

// Pending lists the jobs of space delivered by NextJob and not acknowledged.
func (s *Store) Pending(space string) []engine.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]engine.Job(nil), s.pending[space]...)
}

// SetPhase implements engine.RunStore.
func (s *Store) SetPhase(_ context.Context, space, id string, p engine.Phase) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phases[key{space, id}] = p
	return nil
}

// SaveReport implements engine.RunStore. The report is kept as JSON.
func (s *Store) SaveReport(_ context.Context, space, id string, r *engine.Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports[key{space, id}] = b
	return nil
}

// Report implements engine.RunStore: the saved report, or nil.
func (s *Store) Report(_ context.Context, space, id string) (*engine.Report, error) {
	s.mu.Lock()
	b, ok := s.reports[key{space, id}]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	var r engine.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	return &r, nil
}
