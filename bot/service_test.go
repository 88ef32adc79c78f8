package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/engine"
)

// fakeEngine records what the service asks of the engine.
type fakeEngine struct {
	mu      sync.Mutex
	calls   []string
	outcome engine.Outcome
	err     error
}

func (f *fakeEngine) rec(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeEngine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeEngine) Start(_ context.Context, space string, r bot.StartRequest) (engine.Outcome, error) {
	f.rec("start %s preset=%s %q by %s", space, r.Preset, r.Description, r.Actor)
	return f.outcome, f.err
}
func (f *fakeEngine) Ask(_ context.Context, q bot.Question) (engine.Answer, error) {
	f.rec("ask %s inv=%s thread=%s %q", q.Space, q.Investigation, q.Thread, q.Text)
	return engine.Answer{Text: "answer to " + q.Text, Citations: []string{"list_changes#1"}}, f.err
}
func (f *fakeEngine) Active(_ context.Context, space string) ([]engine.Investigation, error) {
	f.rec("active %s", space)
	return []engine.Investigation{{ID: "inv_1", Title: "Checkout slow", Severity: engine.SeverityCritical, Phase: engine.PhaseGather, AlertCount: 2}}, f.err
}
func (f *fakeEngine) Topology(_ context.Context, space, resource string) (string, *bot.Image, error) {
	f.rec("topology %s %s", space, resource)
	return "tree of " + resource, &bot.Image{Title: "topology", PNG: []byte("png")}, f.err
}
func (f *fakeEngine) Feedback(_ context.Context, space, inv, actor, verdict, comment string) error {
	f.rec("feedback %s %s %s %s %q", space, inv, actor, verdict, comment)
	return f.err
}
func (f *fakeEngine) Withdraw(_ context.Context, space, inv, actor string) (bool, error) {
	f.rec("withdraw %s %s %s", space, inv, actor)
	return true, f.err
}
func (f *fakeEngine) Reinvestigate(_ context.Context, space, inv, actor string) error {
	f.rec("reinvestigate %s %s %s", space, inv, actor)
	return f.err
}
func (f *fakeEngine) Unlink(_ context.Context, space, alertID, actor string) (engine.Outcome, error) {
	f.rec("unlink %s %s %s", space, alertID, actor)
	return engine.Outcome{Investigation: "inv_2"}, f.err
}
func (f *fakeEngine) ChannelAlerts(_ context.Context, space string, m bot.ChannelMessage) ([]engine.Outcome, error) {
	f.rec("channel-alert %s %q", space, m.Text)
	return []engine.Outcome{{Decision: engine.DecisionNew}}, f.err
}

// memIndex is an in-memory bot.MessageIndex.
type memIndex struct {
	mu      sync.Mutex
	msgs    map[string]string
	pending map[string]string
}

func newIndex() *memIndex { return &memIndex{msgs: map[string]string{}, pending: map[string]string{}} }

func (m *memIndex) ChatMessage(_ context.Context, platform, space, channel, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.msgs[platform+space+channel+id], nil
}
func (m *memIndex) SetChatPending(_ context.Context, platform, space, inv, who, what string, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending[platform+space+inv+who] = what
	return nil
}
func (m *memIndex) TakeChatPending(_ context.Context, platform, space, inv, who string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := platform + space + inv + who
	v := m.pending[k]
	delete(m.pending, k)
	return v, nil
}

// replies records a Responder's answers.
type replies struct {
	private, public []bot.Message
	thread          string // set by InThread
}

// InThread implements bot.Threader.
func (r *replies) InThread(thread string) bot.Responder {
	r.thread = thread
	return r
}

func (r *replies) Private(_ context.Context, m bot.Message) error {
	r.private = append(r.private, m)
	return nil
}
func (r *replies) Public(_ context.Context, m bot.Message) error {
	r.public = append(r.public, m)
	return nil
}

func (r *replies) all() string {
	var b strings.Builder
	for _, m := range append(append([]bot.Message(nil), r.private...), r.public...) {
		b.WriteString(m.Header + " " + m.Text + " " + m.Context + "\n")
	}
	return b.String()
}

type uploadPoster struct {
	recordingPoster
	uploads []string
}

func (u *uploadPoster) Upload(_ context.Context, channel, thread string, img bot.Image) error {
	u.uploads = append(u.uploads, channel+"/"+thread+"/"+img.Title)
	return nil
}

func newService(eng *fakeEngine, idx *memIndex, poster bot.Poster) *bot.Service {
	return bot.NewService(bot.ServiceOptions{
		Platform: "slack",
		Spaces: []bot.SpaceBinding{
			{Name: "shop", IncidentChannels: []string{"C-INC"}, AlertChannels: []string{"C-ALR"},
				Operators: []bot.Operator{{ID: "U-OP", Role: bot.RoleOperator}, {ID: "S-ADMINS", Role: bot.RoleAdmin}, {ID: "U-VIEW", Role: bot.RoleViewer}}},
			{Name: "open", IncidentChannels: []string{"C-OPEN"}},
		},
		Engine: eng,
		Poster: poster,
		Index:  idx,
		MemberOf: func(_ context.Context, group, user string) (bool, error) {
			if group == "S-ADMINS" {
				return user == "U-BOSS", nil
			}
			return false, errors.New("not a group")
		},
	})
}

func TestServiceCommands(t *testing.T) {
	ctx := context.Background()
	eng := &fakeEngine{outcome: engine.Outcome{Investigation: "inv_9", Decision: engine.DecisionNew}}
	up := &uploadPoster{}
	s := newService(eng, newIndex(), up)
	cases := []struct {
		channel, user, text string
		private, public     string // substrings expected in the answer
		call                string // substring expected in the engine's calls
	}{
		{"C-INC", "U-OP", "help", "/devops ask", "", ""},
		{"C-INC", "U-OP", "", "/devops ask", "", ""},
		{"C-INC", "U-OP", "frobnicate now", "I don't know `/devops frobnicate now`", "", ""},
		{"C-INC", "U-VIEW", "ask what changed?", "answer to what changed?", "", `ask shop inv= thread= "what changed?"`},
		{"C-INC", "U-VIEW", "status", "Checkout slow", "", "active shop"},
		{"C-INC", "U-OP", "topology orders-db", "tree of orders-db", "", "topology shop orders-db"},
		{"C-INC", "U-VIEW", "investigate checkout is slow", "Only operators", "", ""},
		{"C-INC", "U-NOBODY", "investigate checkout is slow", "Only operators", "", ""},
		{"C-INC", "U-OP", "investigate checkout is slow", "", "started an investigation", `start shop preset= "checkout is slow" by slack:U-OP`},
		{"C-INC", "U-BOSS", "investigate high-cpu catalog", "", "started an investigation", `start shop preset=high-cpu "catalog"`},
		{"C-OPEN", "U-ANYONE", "investigate latest-alarm", "", "started an investigation", `start open preset=latest-alarm`},
		{"C-NOWHERE", "U-OP", "status", "not connected to a Nightshift space", "", ""},
		{"C-INC", "U-OP", "unlink al_7", "", "Unlinked alert `al_7`", "unlink shop al_7 slack:U-OP"},
		{"C-INC", "U-VIEW", "unlink al_7", "Only operators", "", ""},
		{"C-INC", "U-OP", "unlink", "/devops ask", "", ""},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			before := len(eng.Calls())
			r := &replies{}
			if err := s.Command(ctx, bot.CommandRequest{Channel: c.channel, Actor: bot.Actor{ID: c.user}, Text: c.text}, r); err != nil {
				t.Fatal(err)
			}
			if c.private != "" && (len(r.private) != 1 || !strings.Contains(r.all(), c.private)) {
				t.Errorf("private answer %q, want %q", r.all(), c.private)
			}
			if c.public != "" && (len(r.public) != 1 || !strings.Contains(r.all(), c.public)) {
				t.Errorf("public answer %q, want %q", r.all(), c.public)
			}
			calls := strings.Join(eng.Calls()[before:], "\n")
			if c.call == "" && calls != "" && !strings.HasPrefix(c.text, "ask") {
				t.Errorf("unexpected engine calls: %s", calls)
			}
			if c.call != "" && !strings.Contains(calls, c.call) {
				t.Errorf("engine calls %q, want %q", calls, c.call)
			}
		})
	}
	if len(up.uploads) != 1 || up.uploads[0] != "C-INC//topology" {
		t.Errorf("topology picture uploads: %v", up.uploads)
	}
	// An engine failure is a clear private answer, not silence.
	eng.err = engine.Errorf(engine.CodeNotFound, "no alarm is firing")
	r := &replies{}
	_ = s.Command(ctx, bot.CommandRequest{Channel: "C-INC", Actor: bot.Actor{ID: "U-OP"}, Text: "investigate latest-alarm"}, r)
	if !strings.Contains(r.all(), "no alarm is firing") || len(r.public) != 0 {
		t.Errorf("failure answer: %q", r.all())
	}
}

func TestServiceMentions(t *testing.T) {
	ctx := context.Background()
	eng := &fakeEngine{outcome: engine.Outcome{Investigation: "inv_9", Decision: engine.DecisionNew}}
	idx := newIndex()
	idx.msgs["slackshopC-INC"+"100.1"] = "thread inv_1"
	s := newService(eng, idx, &recordingPoster{})

	// In an investigation's thread: a follow-up with its context, public.
	r := &replies{}
	_ = s.Mention(ctx, bot.Mention{Channel: "C-INC", Thread: "100.1", Actor: bot.Actor{ID: "U-VIEW"}, Text: "why?"}, r)
	if len(r.public) != 1 || !strings.Contains(eng.Calls()[0], `ask shop inv=inv_1 thread=inv_1 "why?"`) {
		t.Fatalf("follow-up: %v %q", eng.Calls(), r.all())
	}
	// Elsewhere free text starts an investigation; a verb is a command,
	// answered publicly (a mention is a public conversation).
	r = &replies{}
	_ = s.Mention(ctx, bot.Mention{Channel: "C-INC", Actor: bot.Actor{ID: "U-OP"}, Text: "checkout returns 502s since 10:40"}, r)
	if !strings.Contains(strings.Join(eng.Calls(), "\n"), `start shop preset= "checkout returns 502s since 10:40"`) || len(r.public) != 1 {
		t.Errorf("free text: %v %q", eng.Calls(), r.all())
	}
	r = &replies{}
	_ = s.Mention(ctx, bot.Mention{Channel: "C-INC", Actor: bot.Actor{ID: "U-VIEW"}, Text: "status"}, r)
	if len(r.public) != 1 || len(r.private) != 0 || !strings.Contains(r.all(), "Checkout slow") {
		t.Errorf("status by mention: %q", r.all())
	}
	// In a thread that is not an investigation's: treated like the channel.
	r = &replies{}
	_ = s.Mention(ctx, bot.Mention{Channel: "C-INC", Thread: "999.9", Actor: bot.Actor{ID: "U-OP"}, Text: "help"}, r)
	if !strings.Contains(r.all(), "/devops ask") {
		t.Errorf("help in another thread: %q", r.all())
	}
	r = &replies{}
	_ = s.Mention(ctx, bot.Mention{Channel: "C-ELSE", Actor: bot.Actor{ID: "U-OP"}, Text: "help"}, r)
	if !strings.Contains(r.all(), "not connected") {
		t.Errorf("unbound: %q", r.all())
	}
}

func TestServiceFeedback(t *testing.T) {
	ctx := context.Background()
	eng := &fakeEngine{}
	idx := newIndex()
	idx.msgs["slackshopC-INC"+"200.2"] = "report inv_1 100.1"
	idx.msgs["slackshopC-INC"+"100.1"] = "thread inv_1"
	s := newService(eng, idx, &recordingPoster{})

	for _, c := range []struct {
		emoji, verdict string
	}{{"+1", "accurate"}, {"thumbsup", "accurate"}, {"+1::skin-tone-3", "accurate"}, {"-1", "inaccurate"}, {"thumbsdown", "inaccurate"}, {"eyes", ""}, {"like", "accurate"}} {
		if got := bot.Verdict(c.emoji); got != c.verdict {
			t.Errorf("Verdict(%q) = %q, want %q", c.emoji, got, c.verdict)
		}
	}
	// 👍 on the report by an operator.
	r := &replies{}
	_ = s.Reaction(ctx, bot.Reaction{Channel: "C-INC", Message: "200.2", Actor: bot.Actor{ID: "U-OP"}, Emoji: "+1"}, r)
	if got := eng.Calls(); len(got) != 1 || got[0] != `feedback shop inv_1 slack:U-OP accurate ""` {
		t.Fatalf("👍: %v", got)
	}
	if r.thread != "100.1" {
		t.Errorf("the answer to a reaction goes to thread %q, want the report's thread 100.1", r.thread)
	}
	// Reactions elsewhere, unknown emoji and viewers change nothing.
	_ = s.Reaction(ctx, bot.Reaction{Channel: "C-INC", Message: "100.1", Actor: bot.Actor{ID: "U-OP"}, Emoji: "+1"}, &replies{})
	_ = s.Reaction(ctx, bot.Reaction{Channel: "C-INC", Message: "200.2", Actor: bot.Actor{ID: "U-OP"}, Emoji: "eyes"}, &replies{})
	r = &replies{}
	_ = s.Reaction(ctx, bot.Reaction{Channel: "C-INC", Message: "200.2", Actor: bot.Actor{ID: "U-VIEW"}, Emoji: "+1"}, r)
	if len(eng.Calls()) != 1 || !strings.Contains(r.all(), "Only operators") {
		t.Fatalf("ignored reactions reached the engine: %v %q", eng.Calls(), r.all())
	}
	// 👎 asks what was wrong; the person's next thread reply is kept.
	r = &replies{}
	_ = s.Reaction(ctx, bot.Reaction{Channel: "C-INC", Message: "200.2", Actor: bot.Actor{ID: "U-OP", Name: "Olga"}, Emoji: "-1"}, r)
	if len(r.public) != 1 || !strings.Contains(r.all(), "What was wrong") {
		t.Fatalf("👎 question: %q", r.all())
	}
	// Someone else's reply is chatter.
	err := s.ChannelMessage(ctx, bot.ChannelMessage{Channel: "C-INC", Thread: "100.1", Actor: bot.Actor{ID: "U-VIEW"}, Text: "no idea"}, &replies{})
	if !errors.Is(err, bot.ErrIgnored) {
		t.Errorf("chatter: %v", err)
	}
	r = &replies{}
	if err := s.ChannelMessage(ctx, bot.ChannelMessage{Channel: "C-INC", Thread: "100.1", Actor: bot.Actor{ID: "U-OP"}, Text: "the cache was cold"}, r); err != nil {
		t.Fatal(err)
	}
	if last := eng.Calls()[len(eng.Calls())-1]; last != `feedback shop inv_1 slack:U-OP inaccurate "the cache was cold"` {
		t.Errorf("comment: %s", last)
	}
	// Only once.
	if err := s.ChannelMessage(ctx, bot.ChannelMessage{Channel: "C-INC", Thread: "100.1", Actor: bot.Actor{ID: "U-OP"}, Text: "more"}, &replies{}); !errors.Is(err, bot.ErrIgnored) {
		t.Errorf("second reply: %v", err)
	}
	// Removing a reaction withdraws.
	_ = s.Reaction(ctx, bot.Reaction{Channel: "C-INC", Message: "200.2", Actor: bot.Actor{ID: "U-OP"}, Emoji: "+1", Removed: true}, &replies{})
	if last := eng.Calls()[len(eng.Calls())-1]; last != "withdraw shop inv_1 slack:U-OP" {
		t.Errorf("withdraw: %s", last)
	}
}

func TestServiceButtonsAndAlertChannels(t *testing.T) {
	ctx := context.Background()
	eng := &fakeEngine{}
	s := newService(eng, newIndex(), &recordingPoster{})
	click := func(user, id, value string) *replies {
		r := &replies{}
		_ = s.Action(ctx, bot.Action{Channel: "C-INC", Message: "200.2", Thread: "100.1", Actor: bot.Actor{ID: user}, ID: id, Value: value}, r)
		return r
	}
	click("U-OP", bot.ActionAccurate, "inv_1")
	click("U-OP", bot.ActionReinvestigate, "inv_1")
	if r := click("U-OP", bot.ActionUnlink, "al_7"); !strings.Contains(r.all(), "inv_2") {
		t.Errorf("unlink answer: %q", r.all())
	}
	if r := click("U-OP", bot.ActionEscalate, "inv_1"); !strings.Contains(r.all(), "not configured") {
		t.Errorf("escalate: %q", r.all())
	}
	if r := click("U-VIEW", bot.ActionUnlink, "al_7"); !strings.Contains(r.all(), "Only operators") {
		t.Errorf("viewer unlink: %q", r.all())
	}
	want := []string{`feedback shop inv_1 slack:U-OP accurate ""`, "reinvestigate shop inv_1 slack:U-OP", "unlink shop al_7 slack:U-OP"}
	if got := eng.Calls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls %v, want %v", got, want)
	}
	// Apps' messages in alert channels become alerts; people's do not; an
	// incident channel is not an alert channel.
	if err := s.ChannelMessage(ctx, bot.ChannelMessage{Channel: "C-ALR", FromApp: true, Text: "[FIRING:1] X"}, &replies{}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []bot.ChannelMessage{
		{Channel: "C-ALR", Actor: bot.Actor{ID: "U-OP"}, Text: "did anyone deploy?"},
		{Channel: "C-INC", FromApp: true, Text: "[FIRING:1] Y"},
		{Channel: "C-ELSE", FromApp: true, Text: "[FIRING:1] Z"},
	} {
		if err := s.ChannelMessage(ctx, m, &replies{}); !errors.Is(err, bot.ErrIgnored) {
			t.Errorf("%+v: %v", m, err)
		}
	}
	if got := eng.Calls(); len(got) != 4 || got[3] != `channel-alert shop "[FIRING:1] X"` {
		t.Errorf("calls %v", got)
	}
}

// memThreads is an in-memory bot.ThreadStore shared by "replicas".
type memThreads struct {
	mu      sync.Mutex
	claims  map[string]bool
	fields  map[string]map[string]string
	members map[string]bool
	counts  map[string]int64
	index   map[string]string
}

func newMemThreads() *memThreads {
	return &memThreads{claims: map[string]bool{}, fields: map[string]map[string]string{}, members: map[string]bool{},
		counts: map[string]int64{}, index: map[string]string{}}
}

func (m *memThreads) ClaimChatThread(_ context.Context, platform, space, inv, _ string, _ time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := platform + space + inv
	if m.claims[k] {
		return false, nil
	}
	m.claims[k] = true
	return true, nil
}
func (m *memThreads) ChatThread(_ context.Context, platform, space, inv string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, v := range m.fields[platform+space+inv] {
		out[k] = v
	}
	return out, nil
}
func (m *memThreads) SetChatThread(_ context.Context, platform, space, inv string, f map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := platform + space + inv
	if m.fields[k] == nil {
		m.fields[k] = map[string]string{}
	}
	for a, b := range f {
		m.fields[k][a] = b
	}
	return nil
}
func (m *memThreads) AddChatMember(_ context.Context, platform, space, inv, set, member string) (bool, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := platform + space + inv + set
	if m.members[k+member] {
		return false, m.counts[k], nil
	}
	m.members[k+member] = true
	m.counts[k]++
	return true, m.counts[k], nil
}
func (m *memThreads) IndexChatMessage(_ context.Context, platform, space, channel, id, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.index[platform+space+channel+id] = value
	return nil
}

func TestThreadsReplicasShareOneThread(t *testing.T) {
	ctx := context.Background()
	st := newMemThreads()
	p := &recordingPoster{}
	replica := func() *bot.Threads {
		return bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels, Platform: "slack", Store: st})
	}
	a, b := replica(), replica()
	var wg sync.WaitGroup
	for _, r := range []*bot.Threads{a, b} {
		wg.Go(func() { r.Emit(ctx, opened()) })
	}
	wg.Wait()
	parents := 0
	for _, o := range p.Ops() {
		if o.Kind == "post" && o.Thread == "" {
			parents++
		}
	}
	if parents != 1 {
		t.Fatalf("%d parent messages from two replicas, want 1: %+v", parents, p.Ops())
	}
	// The other replica (or a restarted one) posts into the same thread,
	// and a linked alert is announced once whoever hears of it.
	link := ev(engine.EventLinked, "", "")
	link.Alert = &engine.Alert{ID: "al_2", Title: "OrderHistoryLatencyHigh", Source: "alertmanager"}
	link.Outcome = &engine.Outcome{AlertID: "al_2", Score: 0.8, Reasons: "same service"}
	bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels, Platform: "slack", Store: st}).Emit(ctx, link)
	b.Emit(ctx, link)
	a.Emit(ctx, link)
	linked := 0
	for _, o := range p.Ops() {
		if o.Kind == "post" && strings.Contains(o.Text, "Linked") {
			linked++
			if o.Thread == "" {
				t.Errorf("linked reply outside the thread")
			}
		}
	}
	if linked != 1 {
		t.Errorf("%d linked replies, want 1", linked)
	}
	rep := ev(engine.EventReport, engine.PhaseReport, "")
	rep.Report = &engine.Report{Investigation: "inv_1", Summary: "s"}
	b.Emit(ctx, rep)
	f, _ := st.ChatThread(ctx, "slack", "shop", "inv_1")
	if f["report"] == "" || st.index["slackshopC-INC"+f["report"]] != "report inv_1 "+f["parent"] || st.index["slackshopC-INC"+f["parent"]] != "thread inv_1" {
		t.Errorf("thread state %v, index %v", f, st.index)
	}
}

// streamPoster is a Poster that can stream, or refuse to.
type streamPoster struct {
	recordingPoster
	refuse  bool
	started []string
	appends []string
	stopped []string
}

func (s *streamPoster) StartStream(_ context.Context, channel, thread, text string) (bot.Ref, error) {
	if s.refuse {
		return bot.Ref{}, errors.New("unknown_method")
	}
	s.started = append(s.started, text)
	return bot.Ref{Channel: channel, ID: "stream-1", Thread: thread}, nil
}
func (s *streamPoster) AppendStream(_ context.Context, _ bot.Ref, text string) error {
	s.appends = append(s.appends, text)
	return nil
}
func (s *streamPoster) StopStream(_ context.Context, _ bot.Ref, text string) error {
	s.stopped = append(s.stopped, text)
	return nil
}

func TestThreadsStreamNarrative(t *testing.T) {
	ctx := context.Background()
	p := &streamPoster{}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels, Stream: true})
	th.Emit(ctx, opened())
	th.Emit(ctx, ev(engine.EventStatus, engine.PhaseGather, "Reading metrics of checkout"))
	th.Emit(ctx, ev(engine.EventStatus, engine.PhaseAnalyse, "Ranking hypotheses"))
	rep := ev(engine.EventReport, engine.PhaseReport, "")
	rep.Report = &engine.Report{Investigation: "inv_1", Summary: "s"}
	th.Emit(ctx, rep)
	if len(p.started) != 1 || len(p.appends) != 2 || len(p.stopped) != 1 {
		t.Fatalf("stream calls: start %v append %v stop %v", p.started, p.appends, p.stopped)
	}
	if !strings.Contains(p.appends[0], "Reading metrics") || !strings.Contains(p.stopped[0], "Root cause and plan posted below") {
		t.Errorf("narrative: %v / %v", p.appends, p.stopped)
	}
	for _, o := range p.Ops() {
		if o.Kind == "update" && o.Thread != "" {
			t.Errorf("status edited while streaming: %+v", o)
		}
	}
	// A workspace without streaming falls back to the edited status line.
	q := &streamPoster{refuse: true}
	th = bot.NewThreads(bot.ThreadsOptions{Poster: q, Channel: channels, Stream: true})
	th.Emit(ctx, opened())
	th.Emit(ctx, ev(engine.EventStatus, engine.PhaseGather, "Reading metrics of checkout"))
	edits := 0
	for _, o := range q.Ops() {
		if o.Kind == "update" && strings.Contains(o.Text, "Reading metrics") {
			edits++
		}
	}
	if edits != 1 || len(q.appends) != 0 {
		t.Errorf("fallback: %d edits, %d appends", edits, len(q.appends))
	}
}

// A replica that heard of an investigation before any replica opened its
// thread still posts into it once it exists.
func TestThreadsLinkedBeforeTheThreadOpened(t *testing.T) {
	ctx := context.Background()
	st := newMemThreads()
	p := &recordingPoster{}
	intakeReplica := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels, Platform: "slack", Store: st})
	runnerReplica := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels, Platform: "slack", Store: st})
	early := ev(engine.EventLinked, "", "")
	early.Alert = &engine.Alert{ID: "al_early", Title: "Early", Source: "alertmanager"}
	intakeReplica.Emit(ctx, early) // no thread yet: nothing to post
	runnerReplica.Emit(ctx, opened())
	late := ev(engine.EventLinked, "", "")
	late.Alert = &engine.Alert{ID: "al_late", Title: "Late", Source: "alertmanager"}
	intakeReplica.Emit(ctx, late)
	var linked []string
	for _, o := range p.Ops() {
		if o.Kind == "post" && strings.Contains(o.Text, "Linked") {
			linked = append(linked, o.Text)
		}
	}
	if len(linked) != 1 || !strings.Contains(linked[0], "Late") {
		t.Errorf("linked replies %v, want the late one", linked)
	}
}

// laterPoster spends its update budget after one edit: the next deferrable
// Update says "later" until the budget refills.
type laterPoster struct {
	recordingPoster
	mu     sync.Mutex
	budget int
	asked  int
}

func (l *laterPoster) Update(ctx context.Context, ref bot.Ref, m bot.Message) error {
	l.mu.Lock()
	l.asked++
	if l.budget == 0 && bot.IsDeferrable(ctx) {
		l.mu.Unlock()
		return &bot.Later{After: 20 * time.Millisecond}
	}
	l.budget = max(l.budget-1, 0)
	l.mu.Unlock()
	return l.recordingPoster.Update(ctx, ref, m)
}

func (l *laterPoster) refill(n int) {
	l.mu.Lock()
	l.budget = n
	l.mu.Unlock()
}

// A status edit over the platform's budget does not block the
// investigation: it is held, replaced by newer ones, and sent when the
// budget allows.
func TestThreadsHoldEditsOverBudget(t *testing.T) {
	ctx := context.Background()
	p := &laterPoster{budget: 1}
	th := bot.NewThreads(bot.ThreadsOptions{Poster: p, Channel: channels})
	th.Emit(ctx, opened())
	th.Emit(ctx, ev(engine.EventStatus, engine.PhaseGather, "one"))    // uses the budget
	th.Emit(ctx, ev(engine.EventStatus, engine.PhaseGather, "two"))    // later
	th.Emit(ctx, ev(engine.EventStatus, engine.PhaseAnalyse, "three")) // replaces two
	edits := func() []string {
		var out []string
		for _, o := range p.Ops() {
			if o.Kind == "update" {
				out = append(out, o.Text)
			}
		}
		return out
	}
	if got := edits(); len(got) != 1 || !strings.Contains(got[0], "one") {
		t.Fatalf("edits before the budget refills: %v", got)
	}
	p.refill(5)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && len(edits()) < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	got := edits()
	if len(got) != 2 || !strings.Contains(got[1], "three") {
		t.Errorf("edits after the refill: %v (want one, then three)", got)
	}
}
