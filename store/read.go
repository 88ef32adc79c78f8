package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/journal"
)

// Investigation implements engine.InvestigationReader.
func (s *Store) Investigation(ctx context.Context, space, id string) (engine.InvestigationState, error) {
	pipe := s.rdb.Pipeline()
	inv := pipe.Get(ctx, s.Key(space, "inv:"+id))
	head := pipe.Get(ctx, s.Key(space, "journal:"+id+":head"))
	phase := pipe.Get(ctx, s.Key(space, "inv:"+id+":phase"))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return engine.InvestigationState{}, fmt.Errorf("get investigation %s: %w", id, err)
	}
	if errors.Is(inv.Err(), redis.Nil) {
		return engine.InvestigationState{}, engine.Errorf(engine.CodeNotFound, "no investigation %s in space %s", id, space)
	}
	st, err := parseState(inv.Val(), head.Val())
	if p := phase.Val(); p != "" {
		st.Phase = engine.Phase(p)
	}
	return st, err
}

// Investigations implements engine.InvestigationReader: newest first, at
// most limit (0: 100).
func (s *Store) Investigations(ctx context.Context, space string, status engine.InvestigationStatus, limit int) ([]engine.Investigation, error) {
	if limit <= 0 {
		limit = 100
	}
	set := "invs:all"
	switch status {
	case engine.StatusActive:
		set = "invs:active"
	case engine.StatusResolved:
		set = "invs:resolved"
	}
	ids, err := s.rdb.ZRevRange(ctx, s.Key(space, set), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("list investigations: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, s.Key(space, "inv:"+id))
	}
	for _, id := range ids {
		keys = append(keys, s.Key(space, "inv:"+id+":phase"))
	}
	vals, err := mget(ctx, s.rdb, keys)
	if err != nil {
		return nil, fmt.Errorf("list investigations: %w", err)
	}
	out := make([]engine.Investigation, 0, len(ids))
	for i, v := range vals[:len(ids)] {
		if v == "" {
			continue
		}
		var inv engine.Investigation
		if err := json.Unmarshal([]byte(v), &inv); err != nil {
			return nil, fmt.Errorf("decode investigation: %w", err)
		}
		if p := vals[len(ids)+i]; p != "" {
			inv.Phase = engine.Phase(p)
		}
		out = append(out, inv)
	}
	return out, nil
}

// mget reads keys of one slot; on Cluster the keys of a space share a slot.
func mget(ctx context.Context, rdb redis.UniversalClient, keys []string) ([]string, error) {
	res, err := rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i], _ = r.(string)
	}
	return out, nil
}

// Links implements engine.InvestigationReader, in the order alerts arrived.
func (s *Store) Links(ctx context.Context, space, id string) ([]engine.AlertLink, error) {
	m, err := s.rdb.HGetAll(ctx, s.Key(space, "inv:"+id+":alerts")).Result()
	if err != nil {
		return nil, fmt.Errorf("list alerts of %s: %w", id, err)
	}
	out := make([]engine.AlertLink, 0, len(m))
	for _, v := range m {
		var l engine.AlertLink
		if err := json.Unmarshal([]byte(v), &l); err != nil {
			return nil, fmt.Errorf("decode alert link: %w", err)
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].AlertID < out[j].AlertID
	})
	return out, nil
}

// Alert implements engine.InvestigationReader.
func (s *Store) Alert(ctx context.Context, space, id string) (engine.Alert, error) {
	v, err := s.rdb.Get(ctx, s.Key(space, "alert:"+id)).Result()
	if errors.Is(err, redis.Nil) {
		return engine.Alert{}, engine.Errorf(engine.CodeNotFound, "no alert %s in space %s", id, space)
	}
	if err != nil {
		return engine.Alert{}, fmt.Errorf("get alert %s: %w", id, err)
	}
	var a engine.Alert
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return engine.Alert{}, fmt.Errorf("decode alert %s: %w", id, err)
	}
	return a, nil
}

// Journal implements engine.InvestigationReader: every entry, oldest first.
func (s *Store) Journal(ctx context.Context, space, id string) ([]journal.Entry, error) {
	msgs, err := s.rdb.XRange(ctx, s.Key(space, "journal:"+id), "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("read journal of %s: %w", id, err)
	}
	out := make([]journal.Entry, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values["e"].(string)
		var e journal.Entry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("decode journal entry %s of %s: %w", m.ID, id, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// AppendJournal appends sealed entries to an investigation's journal if its
// head is still head; otherwise engine.ErrConflict.
func (s *Store) AppendJournal(ctx context.Context, space, id string, head journal.Head, entries []journal.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	var t txn
	want := ""
	if head.Seq > 0 {
		want = head.String()
	}
	headKey := s.Key(space, "journal:"+id+":head")
	t.op("eq", headKey, want, "", "")
	for _, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode journal entry: %w", err)
		}
		t.op("xadd", s.Key(space, "journal:"+id), 0, "e", b)
	}
	last := entries[len(entries)-1]
	t.op("set", headKey, journal.Head{Seq: last.Seq, Hash: last.Hash}.String(), "", "")
	return t.run(ctx, s.batch)
}
