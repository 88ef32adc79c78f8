package console_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/bot/console"
)

func TestPostAndUpdate(t *testing.T) {
	var buf bytes.Buffer
	c := console.New(&buf, map[string]string{"C-INC": "#incidents"})
	ctx := context.Background()

	parent, err := c.Post(ctx, "C-INC", "", bot.Message{Header: "🔴 CheckoutLatencyHigh", Text: "p99 above 1s",
		Fields: []bot.Field{{Title: "Severity", Value: "critical"}, {Title: "Source", Value: "alertmanager"}}, Context: "inv_1"})
	if err != nil {
		t.Fatal(err)
	}
	status, err := c.Post(ctx, "C-INC", parent.ID, bot.Message{Text: "🧭 *Triage* — Investigation started"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, status, bot.Message{Text: "🔍 *Gather* — Reading metrics\nof 14 resources"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, parent, bot.Message{Header: "✅ Resolved: CheckoutLatencyHigh", Context: "All alerts resolved"}); err != nil {
		t.Fatal(err)
	}
	other, _ := c.Post(ctx, "C-OTHER", "", bot.Message{Text: "hello"})
	c.Say("> %s", "type a question")

	if diff := cmp.Diff([]bot.Ref{parent, status, other}, []bot.Ref{
		{Channel: "C-INC", ID: "m1"}, {Channel: "C-INC", ID: "m2", Thread: "m1"}, {Channel: "C-OTHER", ID: "m3"}}); diff != "" {
		t.Errorf("refs (-got +want):\n%s", diff)
	}
	want := "\n#incidents " + strings.Repeat("─", 60-len("#incidents")) + "\n" +
		"**🔴 CheckoutLatencyHigh**\n" +
		"p99 above 1s\n" +
		"Severity: critical · Source: alertmanager\n" +
		"· inv_1\n" +
		"  │ 🧭 *Triage* — Investigation started\n" +
		"  │ ↻ 🔍 *Gather* — Reading metrics\n" +
		"  │   of 14 resources\n" +
		"↻ **✅ Resolved: CheckoutLatencyHigh**\n" +
		"  · All alerts resolved\n" +
		"\nC-OTHER " + strings.Repeat("─", 60-len("C-OTHER")) + "\n" +
		"hello\n" +
		"> type a question\n"
	if diff := cmp.Diff(buf.String(), want); diff != "" {
		t.Errorf("output (-got +want):\n%s", diff)
	}
}

func TestLongChannelNameHasNoRule(t *testing.T) {
	var buf bytes.Buffer
	name := "#" + strings.Repeat("x", 70)
	c := console.New(&buf, map[string]string{"C": name})
	if _, err := c.Post(context.Background(), "C", "", bot.Message{Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "\n"+name+" \nt\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		m    bot.Message
		want string
	}{
		{"empty", bot.Message{}, ""},
		{"text only", bot.Message{Text: "hello"}, "hello\n"},
		{"everything", bot.Message{
			Header:   "Root cause",
			Text:     "*orders-db* — database",
			Fields:   []bot.Field{{Title: "A", Value: "1"}, {Title: "B", Value: "`2`"}},
			Sections: []bot.Section{{Title: "Evidence", Text: "- one\n- two"}, {Title: "Gaps", Text: "- none"}},
			Image:    &bot.Image{Title: "topology", Alt: "graph", PNG: []byte{0x89, 'P', 'N', 'G'}},
			Buttons:  []bot.Button{{ID: "accurate", Label: "👍 Accurate"}, {ID: "escalate", Label: "Ask for human support"}},
			Context:  "evidence reasoner · 14 tool calls",
		}, "**Root cause**\n*orders-db* — database\nA: 1 · B: `2`\n── Evidence\n- one\n- two\n── Gaps\n- none\n" +
			"[image: topology, 4 bytes PNG]\n[👍 Accurate] [Ask for human support]\n· evidence reasoner · 14 tool calls\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(console.Render(tt.m), tt.want); diff != "" {
				t.Errorf("Render (-got +want):\n%s", diff)
			}
		})
	}
}

func TestConcurrentPostsKeepMessagesWhole(t *testing.T) {
	var buf bytes.Buffer
	c := console.New(&buf, nil)
	ctx := context.Background()
	parent, _ := c.Post(ctx, "C", "", bot.Message{Text: "parent"})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			m := bot.Message{Text: fmt.Sprintf("line a %d\nline b %d", i, i)}
			if _, err := c.Post(ctx, "C", parent.ID, m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")[2:]
	if len(lines) != 40 {
		t.Fatalf("%d lines, want 40", len(lines))
	}
	for i := 0; i < len(lines); i += 2 {
		var n, m int
		if _, err := fmt.Sscanf(lines[i], "  │ line a %d", &n); err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
		if _, err := fmt.Sscanf(lines[i+1], "  │ line b %d", &m); err != nil || m != n {
			t.Errorf("message %d interleaved with %q", n, lines[i+1])
		}
	}
}
