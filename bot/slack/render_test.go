package slack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/bot/bottest"
	slackbot "github.com/nightshift-ops/nightshift/bot/slack"
	"github.com/nightshift-ops/nightshift/engine"
)

// marshal is json.MarshalIndent without HTML escaping, so that goldens
// show <url|text> and &amp; as Slack receives them.
func marshal(t *testing.T, blocks []slack.Block) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(blocks); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkLimits fails t when blocks break a Block Kit limit Slack enforces,
// and checks that slack-go can read them back.
func checkLimits(t *testing.T, blocks []slack.Block) {
	t.Helper()
	if len(blocks) > 50 {
		t.Errorf("%d blocks, Slack allows 50", len(blocks))
	}
	text := func(where string, o *slack.TextBlockObject, max int) {
		if o == nil {
			return
		}
		if n := utf8.RuneCountInString(o.Text); n == 0 || n > max {
			t.Errorf("%s text has %d characters, want 1..%d: %.80q", where, n, max, o.Text)
		}
	}
	for i, b := range blocks {
		where := fmt.Sprintf("block %d (%s)", i, b.BlockType())
		switch b := b.(type) {
		case *slack.HeaderBlock:
			text(where, b.Text, 150)
			if b.Text.Type != slack.PlainTextType {
				t.Errorf("%s: header is %s, must be plain_text", where, b.Text.Type)
			}
		case *slack.SectionBlock:
			text(where, b.Text, 3000)
			if len(b.Fields) > 10 {
				t.Errorf("%s: %d fields, Slack allows 10", where, len(b.Fields))
			}
			for _, f := range b.Fields {
				text(where+" field", f, 2000)
			}
			if b.Text == nil && len(b.Fields) == 0 {
				t.Errorf("%s: empty section", where)
			}
		case *slack.ActionBlock:
			if n := len(b.Elements.ElementSet); n == 0 || n > 25 {
				t.Errorf("%s: %d elements, want 1..25", where, n)
			}
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					text(where+" button", btn.Text, 75)
				}
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if o, ok := e.(*slack.TextBlockObject); ok {
					text(where+" context", o, 3000)
				}
			}
		default:
			t.Errorf("%s: unexpected block %T", where, b)
		}
	}
	var back slack.Blocks
	if err := json.Unmarshal(marshal(t, blocks), &back); err != nil {
		t.Errorf("slack-go cannot read the blocks back: %v", err)
	} else if len(back.BlockSet) != len(blocks) {
		t.Errorf("read back %d blocks, want %d", len(back.BlockSet), len(blocks))
	}
}

func TestBlocksGolden(t *testing.T) {
	alert := &engine.Alert{ID: "al_1", Source: engine.SourcePagerDuty, Title: "CheckoutLatencyHigh: p99 above 1s",
		Severity: engine.SeverityCritical, Resources: []string{"k8s/shop/deployment/checkout", "aws/rds/orders-db"}, Region: "eu-west-1",
		Links: []engine.Link{{Text: "Runbook", URL: "https://runbooks.example.com/checkout-latency?team=shop&env=prod"}, {URL: "https://grafana.example.com/d/checkout"}}}

	tests := []struct {
		name string
		m    bot.Message
	}{
		{"parent.json", bot.ParentMessage("inv_01hx3k9", alert, 2)},
		{"status.json", bot.StatusMessage(engine.PhaseGather, "Reading metrics of 14 resources around the alert")},
		{"finding.json", bot.FindingMessage(&engine.Evidence{Kind: "metric", Resource: "aws/rds/orders-db",
			Summary: "DatabaseConnections rose from 118 to 796 Count at 04:20:00 (step, z=208)", Call: "query_metrics#5"})},
		{"linked.json", bot.LinkedMessage(&engine.Alert{Title: "orders-db DatabaseConnections > 700", Source: engine.SourceCloudWatch},
			&engine.Outcome{AlertID: "al_9", Score: 0.8, Reasons: "topology neighbours and region, 2 min apart"})},
		{"report.json", bot.ReportMessage(bottest.FullReport())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks := slackbot.Blocks(tt.m)
			checkLimits(t, blocks)
			bottest.Golden(t, tt.name, marshal(t, blocks))
		})
	}
}

func TestMrkdwn(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"double star bold", "**Finding** here", "*Finding* here"},
		{"single star bold kept", "*Triage* — started", "*Triage* — started"},
		{"italic and code kept", "_(query_metrics#5)_ on `aws/rds/orders-db`", "_(query_metrics#5)_ on `aws/rds/orders-db`"},
		{"link", "see [Runbook](https://r.example.com/x)", "see <https://r.example.com/x|Runbook>"},
		{"link with query", "[a & b](https://x.example.com/?a=1&b=2)", "<https://x.example.com/?a=1&amp;b=2|a &amp; b>"},
		{"pipe in url", "[x](https://x.example.com/a|b)", "<https://x.example.com/a%7Cb|x>"},
		{"escapes", "p99 < 1s & errors > 5%", "p99 &lt; 1s &amp; errors &gt; 5%"},
		{"no mention injection", "<!channel> <@U123>", "&lt;!channel&gt; &lt;@U123&gt;"},
		{"code untouched but escaped", "`a**b [x](y) <z>`", "`a**b [x](y) &lt;z&gt;`"},
		{"unclosed code", "run `x < y", "run `x &lt; y"},
		{"not a link", "[x] (y) [z](", "[x] (y) [z]("},
		{"list", "- one\n- two\nnot - a list", "• one\n• two\nnot - a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks := slackbot.Blocks(bot.Message{Text: tt.in})
			if len(blocks) != 1 {
				t.Fatalf("%d blocks, want 1", len(blocks))
			}
			got := blocks[0].(*slack.SectionBlock).Text.Text
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("mrkdwn of %q (-got +want):\n%s", tt.in, diff)
			}
		})
	}
}

func TestBlocksLimits(t *testing.T) {
	t.Run("long header", func(t *testing.T) {
		blocks := slackbot.Blocks(bot.Message{Header: strings.Repeat("é", 200)})
		checkLimits(t, blocks)
		h := blocks[0].(*slack.HeaderBlock).Text.Text
		if utf8.RuneCountInString(h) != 150 || !strings.HasSuffix(h, "…") {
			t.Errorf("header has %d runes, want 150 ending in …", utf8.RuneCountInString(h))
		}
	})
	t.Run("long section is split", func(t *testing.T) {
		var lines []string
		for i := range 200 {
			lines = append(lines, fmt.Sprintf("- line %03d with a [link](https://example.com/%d) & more", i, i))
		}
		text := strings.Join(lines, "\n")
		blocks := slackbot.Blocks(bot.Message{Sections: []bot.Section{{Title: "Evidence", Text: text}}})
		checkLimits(t, blocks)
		if len(blocks) < 4 {
			t.Fatalf("%d blocks, want the text split over several sections", len(blocks))
		}
		var all strings.Builder
		for i, b := range blocks {
			s := b.(*slack.SectionBlock).Text.Text
			if i < len(blocks)-1 && !strings.HasSuffix(s, "…") {
				t.Errorf("part %d does not end in …", i)
			}
			all.WriteString(strings.TrimSuffix(s, "…") + "\n")
		}
		if !strings.HasPrefix(all.String(), "*Evidence*\n• line 000") {
			t.Errorf("first part does not start with the title: %.40q", all.String())
		}
		for i := range 200 {
			if want := fmt.Sprintf("• line %03d with a <https://example.com/%d|link> &amp; more\n", i, i); !strings.Contains(all.String(), want) {
				t.Fatalf("line %d lost or broken in the split", i)
			}
		}
	})
	t.Run("unbroken long text", func(t *testing.T) {
		blocks := slackbot.Blocks(bot.Message{Text: strings.Repeat("&", 5000)})
		checkLimits(t, blocks)
		for i, b := range blocks {
			s := strings.TrimSuffix(b.(*slack.SectionBlock).Text.Text, "…")
			if strings.ReplaceAll(s, "&amp;", "") != "" {
				t.Errorf("part %d cuts an escape: ...%q", i, s[max(0, len(s)-10):])
			}
		}
	})
	t.Run("too many blocks", func(t *testing.T) {
		m := bot.Message{Header: "h", Context: "ctx", Buttons: []bot.Button{{ID: "a", Label: "A", Value: "1"}}}
		for i := range 80 {
			m.Sections = append(m.Sections, bot.Section{Title: fmt.Sprint("S", i), Text: "text"})
		}
		blocks := slackbot.Blocks(m)
		checkLimits(t, blocks)
		if len(blocks) != 50 {
			t.Fatalf("%d blocks, want 50", len(blocks))
		}
		if _, ok := blocks[0].(*slack.HeaderBlock); !ok {
			t.Error("header dropped")
		}
		if _, ok := blocks[48].(*slack.ActionBlock); !ok {
			t.Error("buttons dropped")
		}
		if _, ok := blocks[49].(*slack.ContextBlock); !ok {
			t.Error("context dropped")
		}
		if got := blocks[47].(*slack.SectionBlock).Text.Text; !strings.HasPrefix(got, "…") {
			t.Errorf("last content block is %q, want the truncation note", got)
		}
	})
	t.Run("fields", func(t *testing.T) {
		m := bot.Message{}
		for i := range 23 {
			m.Fields = append(m.Fields, bot.Field{Title: fmt.Sprint("F", i), Value: strings.Repeat("v", 2500)})
		}
		blocks := slackbot.Blocks(m)
		checkLimits(t, blocks)
		if len(blocks) != 3 {
			t.Fatalf("%d blocks, want 3 sections of 10, 10 and 3 fields", len(blocks))
		}
		if f := blocks[2].(*slack.SectionBlock).Fields; len(f) != 3 || !strings.HasPrefix(f[0].Text, "*F20*\nvvv") {
			t.Errorf("last section fields: %d, first %.12q", len(f), f[0].Text)
		}
	})
	t.Run("buttons", func(t *testing.T) {
		m := bot.Message{Context: "inv_1"}
		for i := range 30 {
			m.Buttons = append(m.Buttons, bot.Button{ID: fmt.Sprint("b", i), Label: strings.Repeat("x", 100), Value: "v", Style: "danger"})
		}
		blocks := slackbot.Blocks(m)
		checkLimits(t, blocks)
		ctx := blocks[1].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject).Text
		if ctx != "inv_1 … 5 more actions not shown" {
			t.Errorf("context %q does not say that buttons were dropped", ctx)
		}
	})
}

func TestButtons(t *testing.T) {
	blocks := slackbot.Blocks(bot.ReportMessage(bottest.FullReport()))
	var actions *slack.ActionBlock
	for _, b := range blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			actions = a
		}
	}
	if actions == nil {
		t.Fatal("no actions block")
	}
	type btn struct{ ActionID, Value, Style, Label string }
	var got []btn
	for _, e := range actions.Elements.ElementSet {
		b := e.(*slack.ButtonBlockElement)
		got = append(got, btn{b.ActionID, b.Value, string(b.Style), b.Text.Text})
	}
	want := []btn{
		{bot.ActionAccurate, "inv_01hx3k9", "primary", "👍 Accurate"},
		{bot.ActionInaccurate, "inv_01hx3k9", "", "👎 Inaccurate"},
		{bot.ActionReinvestigate, "inv_01hx3k9", "", "Investigate again"},
		{bot.ActionEscalate, "inv_01hx3k9", "danger", "Ask for human support"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("buttons (-got +want):\n%s", diff)
	}
}

func TestImageHasNoBlock(t *testing.T) {
	blocks := slackbot.Blocks(bot.Message{Text: "chart", Image: &bot.Image{Title: "p99", Alt: "p99 latency", PNG: []byte{0x89, 'P', 'N', 'G'}}})
	if len(blocks) != 1 {
		t.Errorf("%d blocks, want only the text section (images are uploaded separately)", len(blocks))
	}
}

func TestEmptyMessage(t *testing.T) {
	if blocks := slackbot.Blocks(bot.Message{}); len(blocks) != 0 {
		t.Errorf("empty message rendered %d blocks", len(blocks))
	}
	if got := slackbot.Fallback(bot.Message{}); got != "Nightshift" {
		t.Errorf("Fallback of an empty message = %q", got)
	}
}

func TestFallback(t *testing.T) {
	alert := &engine.Alert{Title: "CheckoutLatencyHigh", Severity: engine.SeverityCritical, Source: engine.SourcePagerDuty}
	tests := []struct {
		name string
		m    bot.Message
		want string
	}{
		{"header", bot.ParentMessage("inv_1", alert, 0), "🔴 CheckoutLatencyHigh"},
		{"status", bot.StatusMessage(engine.PhaseTriage, "Investigation started"), "🧭 Triage — Investigation started"},
		{"finding", bot.FindingMessage(&engine.Evidence{Kind: "log", Resource: "db", Summary: "too many <clients>"}),
			"🔎 Finding (log on db): too many <clients>"},
		{"first line, links as text", bot.Message{Text: "**see** [Runbook](https://x.example.com)\nmore"}, "see Runbook"},
		{"section", bot.Message{Sections: []bot.Section{{Title: "", Text: "- gap one\n- gap two"}}}, "- gap one"},
		{"long", bot.Message{Text: strings.Repeat("a ", 600)}, strings.Repeat("a ", 249) + "a…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slackbot.Fallback(tt.m); got != tt.want {
				t.Errorf("Fallback = %q, want %q", got, tt.want)
			}
		})
	}
}
