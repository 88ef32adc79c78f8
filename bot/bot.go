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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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

// Uploader is implemented by Posters that can attach pictures to a thread
// (Slack files.uploadV2, a Teams image attachment).
type Uploader interface {
	Upload(ctx context.Context, channel, thread string, img Image) error
}

// Streamer is implemented by Posters whose platform streams a message as it
// is written (Slack chat.startStream / appendStream / stopStream). Threads
// streams the investigation's narrative through it when enabled, and falls
// back to editing the status message when the first call fails.
type Streamer interface {
	StartStream(ctx context.Context, channel, thread, text string) (Ref, error)
	AppendStream(ctx context.Context, ref Ref, text string) error
	StopStream(ctx context.Context, ref Ref, text string) error
}

// ThreadStore keeps thread state outside the process, so that any replica
// (after any restart) can keep posting into an investigation's thread and
// map replies and reactions back to it. store.Store implements it in Redis.
type ThreadStore interface {
	// ClaimChatThread is true for the first caller only (until ttl).
	ClaimChatThread(ctx context.Context, platform, space, inv, owner string, ttl time.Duration) (bool, error)
	ChatThread(ctx context.Context, platform, space, inv string) (map[string]string, error)
	// SetChatThread sets some fields and keeps the others.
	SetChatThread(ctx context.Context, platform, space, inv string, fields map[string]string) error
	// AddChatMember adds to a set of the thread; true when new, and the size.
	AddChatMember(ctx context.Context, platform, space, inv, set, member string) (bool, int64, error)
	IndexChatMessage(ctx context.Context, platform, space, channel, id, value string) error
}

// Values IndexChatMessage stores for the messages Threads posts: "thread
// <investigation>" for the parent, "report <investigation> <parent id>"
// for the root cause message (reactions on it are feedback, answered in
// its thread).
const (
	IndexThread = "thread"
	IndexReport = "report"
)

// ThreadsOptions configure Threads.
type ThreadsOptions struct {
	Poster Poster
	// Channel returns the incident channel of a space, or "" when the
	// space has no channel on this platform.
	Channel func(space string) string
	// MinEditInterval coalesces status edits: at most one per interval per
	// investigation; the latest status wins. 0 edits every time.
	MinEditInterval time.Duration
	// Platform names the platform in Store keys ("slack", "teams").
	Platform string
	// Store, when set, keeps thread state for every replica; without it
	// state lives in this process only (the demo, tests).
	Store ThreadStore
	// Owner names this replica in thread claims.
	Owner string
	// Chart, when set, draws the key metric of a report; the picture is
	// uploaded into the thread when the Poster is an Uploader.
	Chart func(ctx context.Context, space, inv string, r *engine.Report) (*Image, error)
	// Stream streams the narrative when the Poster is a Streamer.
	Stream bool
	Log    *slog.Logger
	Now    func() time.Time
}

// Threads keeps one chat thread per investigation and renders its progress
// events into it. It implements engine.Progress. Safe for concurrent use;
// events of one investigation are rendered in the order they arrive.
//
// With a Store, one parent message is posted per investigation even when
// several replicas race (a claim in the store), and linked alerts are
// announced once.
type Threads struct {
	o  ThreadsOptions
	mu sync.Mutex
	th map[string]*thread
}

type thread struct {
	mu       sync.Mutex
	used     time.Time   // last event, for eviction
	timer    *time.Timer // sends a held-back status edit when the interval ends
	loaded   bool        // state read from the store
	parent   Ref
	status   Ref
	stream   Ref    // the streamed narrative, when streaming
	streamed string // narrative lines not yet appended
	lastEdit time.Time
	pending  *engine.Event // a status edit held back by coalescing
	alert    *engine.Alert
	linked   int
	seen     map[string]bool // alerts announced as linked (without a store)
}

// NewThreads returns a Threads posting through o.Poster.
func NewThreads(o ThreadsOptions) *Threads {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Platform == "" {
		o.Platform = "chat"
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
		th = &thread{seen: map[string]bool{}}
		t.th[e.Investigation] = th
		t.evict()
	}
	th.used = t.o.Now()
	t.mu.Unlock()
	th.mu.Lock()
	defer th.mu.Unlock()
	if err := t.load(ctx, e, th); err != nil {
		t.o.Log.Warn("read chat thread state", "investigation", e.Investigation, "err", err)
	}
	if err := t.render(ctx, channel, th, e); err != nil {
		t.o.Log.Warn("post to chat", "investigation", e.Investigation, "event", e.Kind, "err", err)
	}
}

// load reads a thread's state from the store the first time it is needed.
func (t *Threads) load(ctx context.Context, e engine.Event, th *thread) error {
	if t.o.Store == nil || th.loaded || th.parent.ID != "" {
		return nil
	}
	f, err := t.o.Store.ChatThread(ctx, t.o.Platform, e.Space, e.Investigation)
	if err != nil {
		return err
	}
	// Until some replica opened the thread there is nothing to keep: read
	// again next time (an alert linked before the thread opened must not
	// leave this replica blind to it).
	th.loaded = f["parent"] != ""
	th.apply(f)
	return nil
}

// apply sets the state the store keeps.
func (th *thread) apply(f map[string]string) {
	if f["parent"] == "" {
		return
	}
	th.parent = Ref{Channel: f["channel"], ID: f["parent"]}
	if f["status"] != "" {
		th.status = Ref{Channel: f["channel"], ID: f["status"], Thread: f["parent"]}
	}
	if f["stream"] != "" {
		th.stream = Ref{Channel: f["channel"], ID: f["stream"], Thread: f["parent"]}
	}
	if f["alert"] != "" {
		var a engine.Alert
		if json.Unmarshal([]byte(f["alert"]), &a) == nil {
			th.alert = &a
		}
	}
	if n, err := strconv.Atoi(f["linked"]); err == nil {
		th.linked = n
	}
}

// open posts the parent and status messages, once per investigation: with
// a store, the replica that claims the thread posts and the others wait for
// its state.
func (t *Threads) open(ctx context.Context, channel string, th *thread, e engine.Event) error {
	if t.o.Store != nil {
		ok, err := t.o.Store.ClaimChatThread(ctx, t.o.Platform, e.Space, e.Investigation, t.o.Owner, 10*time.Minute)
		if err != nil {
			return err
		}
		if !ok {
			return t.await(ctx, th, e)
		}
	}
	th.alert = e.Alert
	ref, err := t.o.Poster.Post(ctx, channel, "", ParentMessage(e.Investigation, e.Alert, 0))
	if err != nil {
		return err
	}
	th.parent = ref
	fields := map[string]string{"channel": ref.Channel, "parent": ref.ID}
	if b, err := json.Marshal(e.Alert); err == nil && e.Alert != nil {
		fields["alert"] = string(b)
	}
	if err := t.save(ctx, e, fields); err != nil {
		return err
	}
	if err := t.index(ctx, e.Space, ref, IndexThread+" "+e.Investigation); err != nil {
		return err
	}
	first := StatusMessage(e.Phase, "Investigation started")
	if st, ok := t.o.Poster.(Streamer); ok && t.o.Stream {
		ref, err := st.StartStream(ctx, ref.Channel, th.parent.ID, first.Text+"\n")
		if err == nil {
			th.stream = ref
			return t.save(ctx, e, map[string]string{"stream": ref.ID})
		}
		t.o.Log.Info("streaming not available; editing a status message instead", "err", err)
	}
	st, err := t.o.Poster.Post(ctx, ref.Channel, th.parent.ID, first)
	if err != nil {
		return err
	}
	th.status = st
	return t.save(ctx, e, map[string]string{"status": st.ID})
}

// await waits for the replica that claimed the thread to save it.
func (t *Threads) await(ctx context.Context, th *thread, e engine.Event) error {
	for i := 0; i < 100; i++ {
		f, err := t.o.Store.ChatThread(ctx, t.o.Platform, e.Space, e.Investigation)
		if err != nil {
			return err
		}
		if f["parent"] != "" && (f["status"] != "" || f["stream"] != "") {
			th.apply(f)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("another replica claimed the thread of %s but did not open it", e.Investigation)
}

func (t *Threads) save(ctx context.Context, e engine.Event, fields map[string]string) error {
	if t.o.Store == nil {
		return nil
	}
	return t.o.Store.SetChatThread(ctx, t.o.Platform, e.Space, e.Investigation, fields)
}

func (t *Threads) index(ctx context.Context, space string, ref Ref, value string) error {
	if t.o.Store == nil {
		return nil
	}
	return t.o.Store.IndexChatMessage(ctx, t.o.Platform, space, ref.Channel, ref.ID, value)
}

func (t *Threads) render(ctx context.Context, channel string, th *thread, e engine.Event) error {
	post := func(m Message) (Ref, error) {
		if th.parent.ID == "" {
			return Ref{}, fmt.Errorf("no thread yet for %s", e.Investigation)
		}
		return t.o.Poster.Post(ctx, th.parent.Channel, th.parent.ID, m)
	}
	switch e.Kind {
	case engine.EventOpened:
		if th.parent.ID != "" {
			return nil // a rerun, or another replica opened it: the thread exists
		}
		return t.open(ctx, channel, th, e)
	case engine.EventLinked:
		if th.parent.ID == "" {
			return nil
		}
		id := ""
		if e.Alert != nil {
			id = e.Alert.ID
		}
		if t.o.Store != nil && id != "" {
			added, n, err := t.o.Store.AddChatMember(ctx, t.o.Platform, e.Space, e.Investigation, "linked", id)
			if err != nil || !added {
				return err
			}
			th.linked = int(n)
			_ = t.save(ctx, e, map[string]string{"linked": strconv.Itoa(th.linked)})
		} else {
			if id != "" && th.seen[id] {
				return nil
			}
			if id != "" {
				th.seen[id] = true
			}
			th.linked++
		}
		if _, err := post(LinkedMessage(e.Alert, e.Outcome)); err != nil {
			return err
		}
		if th.alert != nil {
			return t.o.Poster.Update(ctx, th.parent, ParentMessage(e.Investigation, th.alert, th.linked))
		}
	case engine.EventStatus:
		if th.stream.ID != "" {
			th.streamed += StatusMessage(e.Phase, e.Text).Text + "\n"
		}
		now := t.o.Now()
		if wait := t.o.MinEditInterval - now.Sub(th.lastEdit); t.o.MinEditInterval > 0 && wait > 0 {
			t.hold(ctx, th, e, wait)
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
		if err := t.finish(ctx, th, engine.Event{Phase: engine.PhaseDone, Text: "Root cause and plan posted below"}); err != nil {
			return err
		}
		ref, err := post(ReportMessage(e.Report))
		if err != nil {
			return err
		}
		if err := t.save(ctx, e, map[string]string{"report": ref.ID}); err != nil {
			return err
		}
		if err := t.index(ctx, e.Space, ref, IndexReport+" "+e.Investigation+" "+th.parent.ID); err != nil {
			return err
		}
		return t.chart(ctx, th, e)
	case engine.EventFailed:
		th.pending = nil
		return t.finish(ctx, th, engine.Event{Phase: engine.PhaseFailed, Text: "Investigation failed: " + e.Text})
	case engine.EventResolved:
		if th.alert != nil && th.parent.ID != "" {
			return t.o.Poster.Update(ctx, th.parent, ResolvedParent(e.Investigation, th.alert))
		}
	}
	return nil
}

// finish writes the last status: the streamed narrative is stopped, the
// status message edited.
func (t *Threads) finish(ctx context.Context, th *thread, e engine.Event) error {
	if th.stream.ID == "" {
		return t.editStatus(ctx, th, e)
	}
	if th.timer != nil {
		th.timer.Stop()
		th.timer = nil
	}
	st := t.o.Poster.(Streamer)
	text := th.streamed + StatusMessage(e.Phase, e.Text).Text
	th.streamed = ""
	ref := th.stream
	th.stream = Ref{}
	return st.StopStream(ctx, ref, text)
}

// chart uploads the picture of the report's key metric into the thread.
func (t *Threads) chart(ctx context.Context, th *thread, e engine.Event) error {
	up, ok := t.o.Poster.(Uploader)
	if t.o.Chart == nil || !ok {
		return nil
	}
	img, err := t.o.Chart(ctx, e.Space, e.Investigation, e.Report)
	if err != nil || img == nil {
		return err
	}
	return up.Upload(ctx, th.parent.Channel, th.parent.ID, *img)
}

func (t *Threads) editStatus(ctx context.Context, th *thread, e engine.Event) error {
	if th.timer != nil {
		th.timer.Stop()
		th.timer = nil
	}
	if th.stream.ID != "" {
		th.lastEdit = t.o.Now()
		th.pending = nil
		if th.streamed == "" {
			return nil
		}
		text := th.streamed
		th.streamed = ""
		return t.o.Poster.(Streamer).AppendStream(ctx, th.stream, text)
	}
	if th.status.ID == "" {
		return nil
	}
	th.lastEdit = t.o.Now()
	th.pending = nil
	err := t.o.Poster.Update(Deferrable(ctx), th.status, StatusMessage(e.Phase, e.Text))
	var later *Later
	if errors.As(err, &later) {
		// The platform's budget is spent for now: keep the edit (a newer
		// status replaces it) instead of making the investigation wait.
		t.hold(ctx, th, e, later.After)
		return nil
	}
	return err
}

// hold keeps e as the thread's pending status edit and makes sure a timer
// sends it after wait. Without a timer a held-back edit would wait for the
// next event, and a quiet investigation would show a stale status.
func (t *Threads) hold(ctx context.Context, th *thread, e engine.Event, wait time.Duration) {
	ev := e
	th.pending = &ev
	if th.timer != nil {
		return
	}
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

// Later is what a Poster's Update returns, when its context is
// Deferrable, instead of waiting for the platform's rate budget: the
// caller tries again after After (Threads does, for status edits).
type Later struct{ After time.Duration }

func (l *Later) Error() string { return fmt.Sprintf("rate budget spent; try again in %v", l.After) }

type deferrableKey struct{}

// Deferrable marks ctx: an Update made with it may return *Later rather
// than wait.
func Deferrable(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferrableKey{}, true)
}

// IsDeferrable reports whether ctx was marked by Deferrable.
func IsDeferrable(ctx context.Context) bool {
	v, _ := ctx.Value(deferrableKey{}).(bool)
	return v
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
