// Package bot is Nightshift's conversation layer, the same for every chat
// platform: it turns investigation progress into a thread of neutral
// Messages (one thread per investigation: a parent message in the incident
// channel, a status message edited as the investigation moves, findings as
// replies, the root cause and plan as a rich message) and chat input into
// engine calls.
//
// Platform transports (bot/slack, bot/teams, bot/console) implement Poster
// and render Messages their own way; nothing platform-specific lives here,
// and this package imports no transport, no integration and no store.
package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// Field is a labelled value shown in a message's field grid.
type Field struct {
	Title string
	Value string
}

// Button is an action under a message. ID says what it does (accurate,
// inaccurate, reinvestigate, escalate, unlink); Value carries its argument.
type Button struct {
	ID    string
	Label string
	Value string
	Style string // "primary", "danger" or ""
}

// Image is a picture attached to a message (a chart, a topology drawing).
type Image struct {
	Title string
	Alt   string
	PNG   []byte
}

// Message is a platform-neutral chat message. Renderers degrade what a
// platform cannot show (fields become lines, buttons become hints).
type Message struct {
	Header   string
	Text     string // Markdown: *bold*, _italic_, `code`, - lists
	Fields   []Field
	Sections []Section
	Buttons  []Button
	Context  string // small print under the message (cost, ids)
	Image    *Image
}

// Section is a titled block of Markdown inside a message.
type Section struct {
	Title string
	Text  string
}

// Ref identifies a posted message so that it can be edited or replied to.
type Ref struct {
	Channel string
	ID      string // platform message id (Slack ts, Teams activity id)
	Thread  string // the thread it belongs to; "" for a channel message
}

// Poster posts and edits messages on one platform.
type Poster interface {
	// Post sends m to channel, as a reply in thread when thread is not "".
	Post(ctx context.Context, channel, thread string, m Message) (Ref, error)
	// Update replaces a posted message.
	Update(ctx context.Context, ref Ref, m Message) error
}

// ThreadsOptions configure Threads.
type ThreadsOptions struct {
	Poster Poster
	// Channel returns the incident channel of a space, or "" when the
	// space has no channel on this platform.
	Channel func(space string) string
	// MinEditInterval coalesces status edits: at most one per interval per
	// investigation; the latest status wins. 0 edits every time.
	MinEditInterval time.Duration
	Log             *slog.Logger
	Now             func() time.Time
}

// Threads keeps one chat thread per investigation and renders its progress
// events into it. It implements engine.Progress. Safe for concurrent use;
// events of one investigation are rendered in the order they arrive.
type Threads struct {
	o  ThreadsOptions
	mu sync.Mutex
	th map[string]*thread
}

type thread struct {
	mu       sync.Mutex
	used     time.Time   // last event, for eviction
	timer    *time.Timer // sends a held-back status edit when the interval ends
	parent   Ref
	status   Ref
	lastEdit time.Time
	pending  *engine.Event // a status edit held back by coalescing
	alert    *engine.Alert
	linked   int
}

// NewThreads returns a Threads posting through o.Poster.
func NewThreads(o ThreadsOptions) *Threads {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Threads{o: o, th: map[string]*thread{}}
}

var _ engine.Progress = (*Threads)(nil)

// Emit implements engine.Progress.
func (t *Threads) Emit(ctx context.Context, e engine.Event) {
	channel := t.o.Channel(e.Space)
	if channel == "" {
		return
	}
	t.mu.Lock()
	th := t.th[e.Investigation]
	if th == nil {
		th = &thread{}
		t.th[e.Investigation] = th
		t.evict()
	}
	th.used = t.o.Now()
	t.mu.Unlock()
	th.mu.Lock()
	defer th.mu.Unlock()
	if err := t.render(ctx, channel, th, e); err != nil {
		t.o.Log.Warn("post to chat", "investigation", e.Investigation, "event", e.Kind, "err", err)
	}
}

func (t *Threads) render(ctx context.Context, channel string, th *thread, e engine.Event) error {
	post := func(m Message) (Ref, error) {
		if th.parent.ID == "" {
			return Ref{}, fmt.Errorf("no thread yet for %s", e.Investigation)
		}
		return t.o.Poster.Post(ctx, channel, th.parent.ID, m)
	}
	switch e.Kind {
	case engine.EventOpened:
		if th.parent.ID != "" {
			return nil // a rerun: the thread exists
		}
		th.alert = e.Alert
		ref, err := t.o.Poster.Post(ctx, channel, "", ParentMessage(e.Investigation, e.Alert, 0))
		if err != nil {
			return err
		}
		th.parent = ref
		st, err := post(StatusMessage(e.Phase, "Investigation started"))
		th.status = st
		return err
	case engine.EventLinked:
		th.linked++
		if _, err := post(LinkedMessage(e.Alert, e.Outcome)); err != nil {
			return err
		}
		if th.alert != nil {
			return t.o.Poster.Update(ctx, th.parent, ParentMessage(e.Investigation, th.alert, th.linked))
		}
	case engine.EventStatus:
		now := t.o.Now()
		if wait := t.o.MinEditInterval - now.Sub(th.lastEdit); t.o.MinEditInterval > 0 && wait > 0 {
			ev := e
			th.pending = &ev
			if th.timer == nil {
				// Without a timer a held-back edit would wait for the next
				// event, and a quiet investigation would show a stale status.
				bg := context.WithoutCancel(ctx)
				th.timer = time.AfterFunc(wait, func() {
					th.mu.Lock()
					defer th.mu.Unlock()
					th.timer = nil
					if err := t.flush(bg, th); err != nil {
						t.o.Log.Warn("post to chat", "investigation", e.Investigation, "err", err)
					}
				})
			}
			return nil
		}
		return t.editStatus(ctx, th, e)
	case engine.EventFinding:
		if err := t.flush(ctx, th); err != nil {
			return err
		}
		_, err := post(FindingMessage(e.Finding))
		return err
	case engine.EventReport:
		th.pending = nil
		if err := t.editStatus(ctx, th, engine.Event{Phase: engine.PhaseDone, Text: "Root cause and plan posted below"}); err != nil {
			return err
		}
		_, err := post(ReportMessage(e.Report))
		return err
	case engine.EventFailed:
		th.pending = nil
		return t.editStatus(ctx, th, engine.Event{Phase: engine.PhaseFailed, Text: "Investigation failed: " + e.Text})
	case engine.EventResolved:
		if th.alert != nil {
			return t.o.Poster.Update(ctx, th.parent, ResolvedParent(e.Investigation, th.alert))
		}
	}
	return nil
}

func (t *Threads) editStatus(ctx context.Context, th *thread, e engine.Event) error {
	if th.timer != nil {
		th.timer.Stop()
		th.timer = nil
	}
	if th.status.ID == "" {
		return nil
	}
	th.lastEdit = t.o.Now()
	th.pending = nil
	return t.o.Poster.Update(ctx, th.status, StatusMessage(e.Phase, e.Text))
}

// maxThreads bounds the threads kept in memory; the least recently used
// goes first. A thread evicted and then active again starts a new thread,
// which only happens for investigations idle while thousands of others ran.
const maxThreads = 10000

// evict drops the least recently used thread when there are too many.
// The caller holds t.mu.
func (t *Threads) evict() {
	if len(t.th) <= maxThreads {
		return
	}
	var oldest string
	var at time.Time
	for id, th := range t.th {
		if oldest == "" || th.used.Before(at) {
			oldest, at = id, th.used
		}
	}
	if th := t.th[oldest]; th.timer != nil {
		th.timer.Stop()
	}
	delete(t.th, oldest)
}

// flush sends a held-back status edit.
func (t *Threads) flush(ctx context.Context, th *thread) error {
	if th.pending == nil {
		return nil
	}
	return t.editStatus(ctx, th, *th.pending)
}

// Flush sends every held-back status edit (call before shutdown).
func (t *Threads) Flush(ctx context.Context) {
	t.mu.Lock()
	all := make([]*thread, 0, len(t.th))
	for _, th := range t.th {
		all = append(all, th)
	}
	t.mu.Unlock()
	for _, th := range all {
		th.mu.Lock()
		_ = t.flush(ctx, th)
		th.mu.Unlock()
	}
}

// ThreadOf returns the parent message of an investigation's thread.
func (t *Threads) ThreadOf(investigation string) (Ref, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	th := t.th[investigation]
	if th == nil || th.parent.ID == "" {
		return Ref{}, false
	}
	return th.parent, true
}
