// Package console is a terminal chat surface: it renders the incident
// channel and investigation threads as text, so that `nightshift demo`
// shows the product without a Slack or Teams workspace. It implements
// bot.Poster; it must not import an integration or the store.
//
// A terminal cannot edit a printed line once other lines follow it, so an
// edit prints the new version of the message marked "↻" in place of the
// old one. Safe for concurrent use.
package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/nightshift-ops/nightshift/bot"
)

// Console writes a channel's messages to w.
type Console struct {
	mu    sync.Mutex
	w     io.Writer
	next  int
	names map[string]string // channel id → display name
	width int
}

// New returns a Console writing to w; names maps channel ids to the names
// shown ("#incidents").
func New(w io.Writer, names map[string]string) *Console {
	return &Console{w: w, names: names, width: 100}
}

var _ bot.Poster = (*Console)(nil)

// Post implements bot.Poster.
func (c *Console) Post(_ context.Context, channel, thread string, m bot.Message) (bot.Ref, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	ref := bot.Ref{Channel: channel, ID: fmt.Sprintf("m%d", c.next), Thread: thread}
	if thread == "" {
		name := c.names[channel]
		if name == "" {
			name = channel
		}
		fmt.Fprintf(c.w, "\n%s %s\n", name, strings.Repeat("─", max(0, 60-len(name))))
		c.write(m, "", "")
	} else {
		c.write(m, "  │ ", "")
	}
	return ref, nil
}

// Update implements bot.Poster.
func (c *Console) Update(_ context.Context, ref bot.Ref, m bot.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := "  │ "
	if ref.Thread == "" {
		prefix = ""
	}
	c.write(m, prefix, "↻ ")
	return nil
}

// Say prints a line that is not a chat message (a prompt, a hint).
func (c *Console) Say(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, format+"\n", args...)
}

// Render returns m as the console prints it, without prefixes.
func Render(m bot.Message) string {
	var b strings.Builder
	if m.Header != "" {
		b.WriteString("**" + m.Header + "**\n")
	}
	if m.Text != "" {
		b.WriteString(m.Text + "\n")
	}
	if len(m.Fields) > 0 {
		var parts []string
		for _, f := range m.Fields {
			parts = append(parts, f.Title+": "+f.Value)
		}
		b.WriteString(strings.Join(parts, " · ") + "\n")
	}
	for _, s := range m.Sections {
		b.WriteString("── " + s.Title + "\n" + s.Text + "\n")
	}
	if m.Image != nil {
		b.WriteString(fmt.Sprintf("[image: %s, %d bytes PNG]\n", m.Image.Title, len(m.Image.PNG)))
	}
	if len(m.Buttons) > 0 {
		var bs []string
		for _, bt := range m.Buttons {
			bs = append(bs, "["+bt.Label+"]")
		}
		b.WriteString(strings.Join(bs, " ") + "\n")
	}
	if m.Context != "" {
		b.WriteString("· " + m.Context + "\n")
	}
	return b.String()
}

func (c *Console) write(m bot.Message, prefix, mark string) {
	text := strings.TrimRight(Render(m), "\n")
	for i, line := range strings.Split(text, "\n") {
		if i == 0 {
			fmt.Fprintf(c.w, "%s%s%s\n", prefix, mark, line)
			continue
		}
		fmt.Fprintf(c.w, "%s%s%s\n", prefix, strings.Repeat(" ", len([]rune(mark))), line)
	}
}
