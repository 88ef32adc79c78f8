package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nightshift-ops/nightshift/engine"
)

// jobGroup is the consumer group every replica's runner reads the work queue with.
const jobGroup = "runners"

var _ engine.RunStore = (*Store)(nil)

// ensureGroup creates the consumer group of a space's queue once, reading
// from the start so that jobs queued before any runner existed are done.
func (s *Store) ensureGroup(ctx context.Context, space string) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.Key(space, "jobs"), jobGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create job group: %w", err)
	}
	return nil
}

// NextJob implements engine.RunStore: it first takes over jobs another
// consumer left pending for longer than stale (a crashed replica), then waits
// up to block for a new one. It returns engine.ErrNoJob when there is none.
func (s *Store) NextJob(ctx context.Context, space, consumer string, block, stale time.Duration) (engine.Job, error) {
	if err := s.ensureGroup(ctx, space); err != nil {
		return engine.Job{}, err
	}
	stream := s.Key(space, "jobs")
	if stale > 0 {
		msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: stream, Group: jobGroup,
			Consumer: consumer, MinIdle: stale, Start: "0-0", Count: 1}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return engine.Job{}, fmt.Errorf("claim stale job: %w", err)
		}
		if len(msgs) > 0 {
			j := jobOf(space, msgs[0])
			j.Resumed = true
			return j, nil
		}
	}
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: jobGroup, Consumer: consumer,
		Streams: []string{stream, ">"}, Count: 1, Block: block}).Result()
	if errors.Is(err, redis.Nil) || (err == nil && (len(res) == 0 || len(res[0].Messages) == 0)) {
		return engine.Job{}, engine.ErrNoJob
	}
	if err != nil {
		return engine.Job{}, fmt.Errorf("read job: %w", err)
	}
	return jobOf(space, res[0].Messages[0]), nil
}

func jobOf(space string, m redis.XMessage) engine.Job {
	id, _ := m.Values["investigation"].(string)
	return engine.Job{ID: m.ID, Space: space, Investigation: id}
}

// AckJob implements engine.RunStore.
func (s *Store) AckJob(ctx context.Context, j engine.Job) error {
	if err := s.rdb.XAck(ctx, s.Key(j.Space, "jobs"), jobGroup, j.ID).Err(); err != nil {
		return fmt.Errorf("ack job: %w", err)
	}
	return nil
}

// Enqueue implements engine.RunStore: queue an investigation for (re)analysis.
func (s *Store) Enqueue(ctx context.Context, space, id string) error {
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.Key(space, "jobs"), MaxLen: jobsMaxLen, Approx: true,
		Values: map[string]any{"investigation": id}}).Err()
	if err != nil {
		return fmt.Errorf("enqueue investigation: %w", err)
	}
	return nil
}

// SetPhase implements engine.RunStore. The phase lives beside the
// investigation record, not in it, so the runner never races intake's
// atomic updates of the record.
func (s *Store) SetPhase(ctx context.Context, space, id string, p engine.Phase) error {
	if err := s.rdb.Set(ctx, s.Key(space, "inv:"+id+":phase"), string(p), 0).Err(); err != nil {
		return fmt.Errorf("set phase: %w", err)
	}
	return nil
}

// SaveReport implements engine.RunStore.
func (s *Store) SaveReport(ctx context.Context, space, id string, r *engine.Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := s.rdb.Set(ctx, s.Key(space, "inv:"+id+":report"), b, 0).Err(); err != nil {
		return fmt.Errorf("save report: %w", err)
	}
	return nil
}

// Report implements engine.RunStore: the saved report, or nil.
func (s *Store) Report(ctx context.Context, space, id string) (*engine.Report, error) {
	v, err := s.rdb.Get(ctx, s.Key(space, "inv:"+id+":report")).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get report: %w", err)
	}
	var r engine.Report
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	return &r, nil
}
