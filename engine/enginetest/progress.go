package enginetest

import (
	"context"
	"sync"

	"github.com/nightshift-ops/nightshift/engine"
)

// Recorder is an engine.Progress that keeps every event it receives, in
// order. The zero value is ready to use; safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []engine.Event
}

var _ engine.Progress = (*Recorder)(nil)

// Emit implements engine.Progress.
func (r *Recorder) Emit(_ context.Context, e engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events returns the events received so far.
func (r *Recorder) Events() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engine.Event(nil), r.events...)
}

// Kinds returns the kinds of the events received so far, in order.
func (r *Recorder) Kinds() []engine.EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]engine.EventKind, len(r.events))
	for i, e := range r.events {
		out[i] = e.Kind
	}
	return out
}
