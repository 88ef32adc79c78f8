package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/journal"
)

var (
	_ engine.IntakeStore         = (*Store)(nil)
	_ engine.InvestigationReader = (*Store)(nil)
)

// maxCandidatesPerKey bounds how many investigations one index key yields
// (the most recent): correlation cost stays flat however many are active.
const maxCandidatesPerKey = 20

// lookupScript answers engine.LookupQuery in one round trip.
// KEYS: delivery, fingerprint, index keys...; ARGV: namespace prefix, since (ms), per-key limit.
// Reply: {delivery ref, fingerprint ref, {counts...}, {id, inv json, head, ...}, fp inv json, fp inv head}.
var lookupScript = redis.NewScript(`
local ns, since, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local d = redis.call('GET', KEYS[1]) or ''
local f = redis.call('GET', KEYS[2]) or ''
local counts, cands, seen = {}, {}, {}
for i = 3, #KEYS do
  counts[#counts+1] = redis.call('ZCOUNT', KEYS[i], since, '+inf')
  local ids = redis.call('ZREVRANGEBYSCORE', KEYS[i], '+inf', since, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    if not seen[id] then
      seen[id] = true
      local inv = redis.call('GET', ns .. 'inv:' .. id)
      if inv then
        cands[#cands+1] = id
        cands[#cands+1] = inv
        cands[#cands+1] = redis.call('GET', ns .. 'journal:' .. id .. ':head') or ''
      end
    end
  end
end
local finv, fhead = '', ''
local sp = string.find(f, ' ', 1, true)
if sp then
  local id = string.sub(f, sp + 1)
  if id ~= '' then
    finv = redis.call('GET', ns .. 'inv:' .. id) or ''
    fhead = redis.call('GET', ns .. 'journal:' .. id .. ':head') or ''
  end
end
return {d, f, counts, cands, finv, fhead}
`)

// Lookup implements engine.IntakeStore.
func (s *Store) Lookup(ctx context.Context, space string, q engine.LookupQuery) (engine.LookupResult, error) {
	keys := make([]string, 0, 2+len(q.Keys))
	keys = append(keys, s.Key(space, "delivery:"+q.DeliveryID), s.Key(space, "fp:"+q.Fingerprint))
	for _, k := range q.Keys {
		keys = append(keys, s.Key(space, "idx:"+k))
	}
	raw, err := s.batch.run(ctx, lookupScript, keys, s.Key(space, ""), q.Since.UnixMilli(), maxCandidatesPerKey).Slice()
	if err != nil {
		return engine.LookupResult{}, fmt.Errorf("lookup: %w", err)
	}
	if len(raw) != 6 {
		return engine.LookupResult{}, fmt.Errorf("lookup: reply has %d parts, want 6", len(raw))
	}
	var res engine.LookupResult
	res.Delivery = parseRef(str(raw[0]))
	res.Fingerprint = parseRef(str(raw[1]))
	for _, c := range list(raw[2]) {
		n, _ := c.(int64)
		res.KeyCounts = append(res.KeyCounts, int(n))
	}
	cands := list(raw[3])
	for i := 0; i+2 < len(cands); i += 3 {
		st, err := parseState(str(cands[i+1]), str(cands[i+2]))
		if err != nil {
			return engine.LookupResult{}, fmt.Errorf("lookup candidate %s: %w", str(cands[i]), err)
		}
		res.Candidates = append(res.Candidates, st)
	}
	if fi := str(raw[4]); fi != "" {
		st, err := parseState(fi, str(raw[5]))
		if err != nil {
			return engine.LookupResult{}, fmt.Errorf("lookup fingerprint investigation: %w", err)
		}
		res.FingerprintInv = &st
	}
	return res, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func parseRef(s string) *engine.Ref {
	if s == "" {
		return nil
	}
	a, inv, _ := strings.Cut(s, " ")
	return &engine.Ref{AlertID: a, Investigation: inv}
}

func formatRef(r engine.Ref) string { return r.AlertID + " " + r.Investigation }

func parseState(invJSON, head string) (engine.InvestigationState, error) {
	var st engine.InvestigationState
	if err := json.Unmarshal([]byte(invJSON), &st.Investigation); err != nil {
		return st, fmt.Errorf("decode investigation: %w", err)
	}
	h, err := journal.ParseHead(head)
	if err != nil {
		return st, err
	}
	st.Head = h
	return st, nil
}

// commitScript applies a list of checks and then a list of writes
// atomically: if any check fails nothing is written and it returns 0.
// Ops come in ARGV as groups of five: op, key index (into KEYS), a, b, c.
//
//	checks: nx k (key absent) | eq k v (value, '' = absent) | zcount k min n
//	writes: set k v | setpx k v ms | del k | hset k f v | zadd k score m |
//	        zrem k m | ztrim k max | xadd k maxlen field value
var commitScript = redis.NewScript(`
local n = #ARGV
for i = 1, n, 5 do
  local op, k, a, b = ARGV[i], KEYS[tonumber(ARGV[i+1])], ARGV[i+2], ARGV[i+3]
  if op == 'nx' then
    if redis.call('EXISTS', k) == 1 then return 0 end
  elseif op == 'eq' then
    if (redis.call('GET', k) or '') ~= a then return 0 end
  elseif op == 'zcount' then
    if redis.call('ZCOUNT', k, a, '+inf') ~= tonumber(b) then return 0 end
  end
end
for i = 1, n, 5 do
  local op, k, a, b, c = ARGV[i], KEYS[tonumber(ARGV[i+1])], ARGV[i+2], ARGV[i+3], ARGV[i+4]
  if op == 'set' then redis.call('SET', k, a)
  elseif op == 'setpx' then redis.call('SET', k, a, 'PX', b)
  elseif op == 'del' then redis.call('DEL', k)
  elseif op == 'hset' then redis.call('HSET', k, a, b)
  elseif op == 'zadd' then redis.call('ZADD', k, a, b)
  elseif op == 'zrem' then redis.call('ZREM', k, a)
  elseif op == 'ztrim' then redis.call('ZREMRANGEBYSCORE', k, '-inf', a)
  elseif op == 'xadd' then
    if a == '0' then redis.call('XADD', k, '*', b, c) else redis.call('XADD', k, 'MAXLEN', '~', a, '*', b, c) end
  end
end
return 1
`)

// txn accumulates the checks and writes of one commit script call.
type txn struct {
	keys []string
	idx  map[string]int
	args []any
}

func (t *txn) op(op, key string, a, b, c any) {
	if t.idx == nil {
		t.idx = map[string]int{}
	}
	i, ok := t.idx[key]
	if !ok {
		t.keys = append(t.keys, key)
		i = len(t.keys)
		t.idx[key] = i
	}
	t.args = append(t.args, op, i, a, b, c)
}

func (t *txn) run(ctx context.Context, b *batcher) error {
	n, err := b.run(ctx, commitScript, t.keys, t.args...).Int()
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if n != 1 {
		return engine.ErrConflict
	}
	return nil
}

// Commit implements engine.IntakeStore: every part of c applies or none.
func (s *Store) Commit(ctx context.Context, space string, c engine.Commit) error {
	var t txn
	k := func(name string) string { return s.Key(space, name) }

	// Checks.
	delivery := k("delivery:" + c.Alert.DeliveryID)
	if !c.Rebind {
		t.op("nx", delivery, "", "", "")
	}
	for _, u := range c.Updates {
		want := ""
		if u.Head.Seq > 0 {
			want = u.Head.String()
		}
		t.op("eq", k("journal:"+u.Investigation.ID+":head"), want, "", "")
	}
	if g := c.Guard; g != nil && len(g.Counts) == len(g.Keys) {
		for i, key := range g.Keys {
			t.op("zcount", k("idx:"+key), g.Since.UnixMilli(), g.Counts[i], "")
		}
	}

	// Writes.
	alertJSON, err := json.Marshal(c.Alert)
	if err != nil {
		return fmt.Errorf("encode alert: %w", err)
	}
	t.op("set", k("alert:"+c.Alert.ID), alertJSON, "", "")
	t.op("setpx", delivery, formatRef(c.Delivery), ttlDelivery.Milliseconds(), "")
	fp := k("fp:" + c.Alert.Fingerprint)
	switch c.Fingerprint {
	case engine.FingerprintSet:
		t.op("set", fp, formatRef(c.Delivery), "", "")
	case engine.FingerprintClear:
		t.op("del", fp, "", "", "")
	}
	for _, u := range c.Updates {
		if err := s.writeUpdate(&t, space, u); err != nil {
			return err
		}
	}
	for _, id := range c.Enqueue {
		t.op("xadd", k("jobs"), jobsMaxLen, "investigation", id)
	}
	return t.run(ctx, s.batch)
}

func (s *Store) writeUpdate(t *txn, space string, u engine.InvestigationUpdate) error {
	k := func(name string) string { return s.Key(space, name) }
	inv := u.Investigation
	invJSON, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("encode investigation: %w", err)
	}
	t.op("set", k("inv:"+inv.ID), invJSON, "", "")
	if u.Relist {
		opened := inv.OpenedAt.UnixMilli()
		t.op("zadd", k("invs:all"), opened, inv.ID, "")
		if inv.Status == engine.StatusActive {
			t.op("zadd", k("invs:active"), opened, inv.ID, "")
			t.op("zrem", k("invs:resolved"), inv.ID, "", "")
		} else {
			t.op("zrem", k("invs:active"), inv.ID, "", "")
			t.op("zadd", k("invs:resolved"), opened, inv.ID, "")
		}
	}
	for _, l := range u.Links {
		b, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("encode alert link: %w", err)
		}
		t.op("hset", k("inv:"+inv.ID+":alerts"), l.AlertID, b, "")
	}
	last := inv.LastAlertAt.UnixMilli()
	trim := inv.LastAlertAt.Add(-indexRetention).UnixMilli()
	for _, key := range u.Index {
		t.op("zadd", k("idx:"+key), last, inv.ID, "")
		if u.Relist {
			// Trimming on openings is enough to bound the index: an entry
			// only appears when an investigation opens under the key.
			t.op("ztrim", k("idx:"+key), trim, "", "")
		}
	}
	for _, key := range u.Unindex {
		t.op("zrem", k("idx:"+key), inv.ID, "", "")
	}
	if len(u.Entries) > 0 {
		stream := k("journal:" + inv.ID)
		for _, e := range u.Entries {
			b, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode journal entry: %w", err)
			}
			t.op("xadd", stream, 0, "e", b) // journals are never trimmed
		}
		last := u.Entries[len(u.Entries)-1]
		t.op("set", k("journal:"+inv.ID+":head"), journal.Head{Seq: last.Seq, Hash: last.Hash}.String(), "", "")
	}
	return nil
}
