package store

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batcher sends the intake scripts of concurrent requests to Redis in
// pipelines: while one pipeline is on the wire, the calls that arrive queue
// up and go out together in the next. A lone call goes out at once (no
// waiting for company), so latency at low load is unchanged, and under a
// storm each alert costs a fraction of a network round trip and of the
// system calls around it. Its goroutines live from Open to Close.
type batcher struct {
	rdb      redis.UniversalClient
	pipeline bool // false for the embedded server: its in-memory pipe has no buffer, so a pipeline would deadlock
	reqs     chan *scriptCall
	stop     chan struct{}
	wg       sync.WaitGroup
}

type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
	done   chan struct{}
}

// batchWorkers is how many pipelines may be in flight at once; maxBatch
// bounds one pipeline.
const (
	batchWorkers = 4
	maxBatch     = 64
	batchTimeout = 5 * time.Second
)

func newBatcher(rdb redis.UniversalClient, pipeline bool) *batcher {
	b := &batcher{rdb: rdb, pipeline: pipeline, reqs: make(chan *scriptCall, 1024), stop: make(chan struct{})}
	for range batchWorkers {
		b.wg.Go(b.loop)
	}
	return b
}

func (b *batcher) close() {
	close(b.stop)
	b.wg.Wait()
}

// run executes a script through the batcher and waits for its reply or ctx.
func (b *batcher) run(ctx context.Context, s *redis.Script, keys []string, args ...any) *redis.Cmd {
	c := &scriptCall{script: s, keys: keys, args: args, done: make(chan struct{})}
	select {
	case b.reqs <- c:
	case <-ctx.Done():
		return errCmd(ctx, ctx.Err())
	case <-b.stop:
		return errCmd(ctx, redis.ErrClosed)
	}
	select {
	case <-c.done:
		return c.cmd
	case <-ctx.Done():
		return errCmd(ctx, ctx.Err()) // the call may still complete; its result is dropped
	}
}

func errCmd(ctx context.Context, err error) *redis.Cmd {
	c := redis.NewCmd(ctx)
	c.SetErr(err)
	return c
}

func (b *batcher) loop() {
	batch := make([]*scriptCall, 0, maxBatch)
	for {
		select {
		case <-b.stop:
			return
		case c := <-b.reqs:
			batch = append(batch[:0], c)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case c := <-b.reqs:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		b.exec(batch)
	}
}

func (b *batcher) exec(batch []*scriptCall) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if len(batch) == 1 || !b.pipeline {
		for _, c := range batch {
			c.cmd = c.script.Run(ctx, b.rdb, c.keys, c.args...)
			close(c.done)
		}
		return
	}
	pipe := b.rdb.Pipeline()
	for _, c := range batch {
		c.cmd = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // errors are per command
	for _, c := range batch {
		if err := c.cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			c.cmd = c.script.Run(ctx, b.rdb, c.keys, c.args...) // loads the script
		}
		close(c.done)
	}
}
