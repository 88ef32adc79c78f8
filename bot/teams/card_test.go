package teams_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nightshift-ops/nightshift/bot"
	"github.com/nightshift-ops/nightshift/bot/bottest"
	"github.com/nightshift-ops/nightshift/bot/teams"
	"github.com/nightshift-ops/nightshift/engine"
)

// marshal is json.MarshalIndent without HTML escaping, so that goldens
// show < and & as they are.
func marshal(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkCard fails t when card breaks the structural rules of an Adaptive
// Card as Teams takes it, or the limits Card promises.
func checkCard(t *testing.T, card map[string]any) {
	t.Helper()
	raw, err := json.Marshal(card)
	if err != nil {
		t.Fatalf("card does not marshal: %v", err)
	}
	if len(raw) > teams.MaxCardBytes {
		t.Errorf("card is %d bytes of JSON, want at most %d", len(raw), teams.MaxCardBytes)
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, card) {
		t.Error("card is not JSON-shaped: reading its JSON back gives another value")
	}
	if card["type"] != "AdaptiveCard" || card["version"] != "1.5" || card["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
		t.Errorf("type %v, version %v, $schema %v", card["type"], card["version"], card["$schema"])
	}
	if ms, _ := card["msteams"].(map[string]any); ms["width"] != "Full" {
		t.Errorf("msteams = %v, want width Full", card["msteams"])
	}
	body, _ := card["body"].([]any)
	if len(body) == 0 {
		t.Error("empty body")
	}
	var element func(where string, v any)
	element = func(where string, v any) {
		e, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s is %T, want an object", where, v)
			return
		}
		typ, _ := e["type"].(string)
		where += " (" + typ + ")"
		switch typ {
		case "TextBlock":
			if s, _ := e["text"].(string); strings.TrimSpace(s) == "" {
				t.Errorf("%s: no text", where)
			} else if !utf8.ValidString(s) {
				t.Errorf("%s: invalid UTF-8", where)
			}
		case "FactSet":
			facts, _ := e["facts"].([]any)
			if len(facts) == 0 || len(facts) > 20 {
				t.Errorf("%s: %d facts, want 1..20", where, len(facts))
			}
			for i, f := range facts {
				f, _ := f.(map[string]any)
				title, ok1 := f["title"].(string)
				value, ok2 := f["value"].(string)
				if !ok1 || !ok2 || value == "" || len(f) != 2 {
					t.Errorf("%s fact %d: %v", where, i, f)
				}
				if utf8.RuneCountInString(title) > 100 || utf8.RuneCountInString(value) > 500 {
					t.Errorf("%s fact %d too long", where, i)
				}
			}
		case "Container":
			items, _ := e["items"].([]any)
			if len(items) == 0 {
				t.Errorf("%s: no items", where)
			}
			for i, it := range items {
				element(fmt.Sprintf("%s item %d", where, i), it)
			}
		case "Image":
			url, _ := e["url"].(string)
			data, ok := strings.CutPrefix(url, "data:image/png;base64,")
			if !ok {
				t.Errorf("%s: url %.40q is not a PNG data URI", where, url)
			} else if _, err := base64.StdEncoding.DecodeString(data); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		default:
			t.Errorf("%s: unexpected element", where)
		}
	}
	for i, el := range body {
		element(fmt.Sprintf("body %d", i), el)
	}
	if a, ok := card["actions"]; ok {
		actions, _ := a.([]any)
		if len(actions) == 0 || len(actions) > 6 {
			t.Errorf("%d actions, want 1..6", len(actions))
		}
		for i, a := range actions {
			a, _ := a.(map[string]any)
			title, _ := a["title"].(string)
			data, _ := a["data"].(map[string]any)
			if a["type"] != "Action.Submit" || title == "" || utf8.RuneCountInString(title) > 75 {
				t.Errorf("action %d: type %v, title %q", i, a["type"], title)
			}
			if id, _ := data["action"].(string); id == "" || len(data) != 2 {
				t.Errorf("action %d: data %v, want action and value", i, data)
			}
			if s, ok := a["style"]; ok && s != "positive" && s != "destructive" {
				t.Errorf("action %d: style %v", i, s)
			}
		}
	}
}

func body(t *testing.T, card map[string]any) []map[string]any {
	t.Helper()
	var els []map[string]any
	for _, e := range card["body"].([]any) {
		els = append(els, e.(map[string]any))
	}
	return els
}

// texts lists the text of every TextBlock of card, sections included.
func texts(card map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			if v["type"] == "TextBlock" {
				out = append(out, v["text"].(string))
			}
			walk(v["items"])
		}
	}
	walk(card["body"])
	return out
}

// onePixel is a 1×1 PNG.
var onePixel, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")

func limitsMessage() bot.Message {
	m := bot.Message{Header: strings.Repeat("Very long header ", 12), Text: "Many things", Context: "inv_1"}
	for i := range 25 {
		m.Fields = append(m.Fields, bot.Field{Title: fmt.Sprint("F", i), Value: fmt.Sprint("v", i)})
		m.Sections = append(m.Sections, bot.Section{Title: fmt.Sprint("S", i), Text: "- text"})
	}
	m.Fields[0].Value = strings.Repeat("long value ", 60)
	for i := range 8 {
		m.Buttons = append(m.Buttons, bot.Button{ID: fmt.Sprint("b", i), Label: strings.Repeat("x", 80), Value: fmt.Sprint("v", i)})
	}
	return m
}

func TestCardGolden(t *testing.T) {
	alert := &engine.Alert{ID: "al_1", Source: engine.SourcePagerDuty, Title: "CheckoutLatencyHigh: p99 above 1s",
		Severity: engine.SeverityCritical, Resources: []string{"k8s/shop/deployment/checkout", "aws/rds/orders-db"}, Region: "eu-west-1",
		Links: []engine.Link{{Text: "Runbook", URL: "https://runbooks.example.com/checkout-latency?team=shop&env=prod"}, {URL: "https://grafana.example.com/d/checkout"}}}

	tests := []struct {
		name string
		m    bot.Message
	}{
		{"parent.golden.json", bot.ParentMessage("inv_01hx3k9", alert, 2)},
		{"resolved.golden.json", bot.ResolvedParent("inv_01hx3k9", alert)},
		{"status.golden.json", bot.StatusMessage(engine.PhaseGather, "Reading metrics of 14 resources around the alert")},
		{"finding.golden.json", bot.FindingMessage(&engine.Evidence{Kind: "metric", Resource: "aws/rds/orders-db",
			Summary: "DatabaseConnections rose from 118 to 796 Count at 04:20:00 (step, z=208)", Call: "query_metrics#5"})},
		{"linked.golden.json", bot.LinkedMessage(&engine.Alert{Title: "orders-db DatabaseConnections > 700", Source: engine.SourceCloudWatch},
			&engine.Outcome{AlertID: "al_9", Score: 0.8, Reasons: "topology neighbours and region, 2 min apart"})},
		{"report.golden.json", bot.ReportMessage(bottest.FullReport())},
		{"help.golden.json", bot.HelpMessage("reboot prod")},
		{"image.golden.json", bot.Message{Text: "p99 latency of *checkout* around the alert", Context: "inv_01hx3k9",
			Image: &bot.Image{Title: "checkout p99 latency", Alt: "p99 latency steps from 180 ms to 1.4 s at 04:20", PNG: onePixel}}},
		{"limits.golden.json", limitsMessage()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := teams.Card(tt.m)
			checkCard(t, card)
			bottest.Golden(t, tt.name, marshal(t, card))
		})
	}
}

func TestMarkdown(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"single star bold", "*Triage* — started", "**Triage** — started"},
		{"double star bold kept", "**Finding** here", "**Finding** here"},
		{"several", "*a* and *b c* then **d**", "**a** and **b c** then **d**"},
		{"italic kept", "_(query_metrics#5)_ on x", "_(query_metrics#5)_ on x"},
		{"code untouched", "`a*b*c` and `*x*`", "`a*b*c` and `*x*`"},
		{"bold around code", "*`aws/rds/orders-db`* down", "**`aws/rds/orders-db`** down"},
		{"unclosed code", "run `x *y*", "run `x *y*"},
		{"link untouched", "[*a*](https://x.example.com/*b*) *c*", "[*a*](https://x.example.com/*b*) **c**"},
		{"not bold: spaces", "2 * 3 * 4", "2 * 3 * 4"},
		{"not bold: inside words", "a*b*c", "a*b*c"},
		{"not bold: unclosed", "*open and never closed", "*open and never closed"},
		{"no escaping", "p99 < 1s & errors > 5%", "p99 < 1s & errors > 5%"},
		{"paragraphs", "line one\nline two\n\n\nline three", "line one\n\nline two\n\nline three"},
		{"dash list", "- one\n- two", "- one\n- two"},
		{"bullet list", "• one\n•  two\n* three", "- one\n- two\n- three"},
		{"not a list", "not - a list\n-not either", "not - a list\n\n-not either"},
		{"numbered with continuation", "1. do *x*\n   ✔ validate: y\n2. undo", "1. do **x**\n   ✔ validate: y\n2. undo"},
		{"paragraph around list", "Intro:\n- a\n- b\nOutro", "Intro:\n\n- a\n- b\n\nOutro"},
		{"blank line in list", "- a\n\n- b", "- a\n- b"},
		{"CRLF", "a\r\nb\r\n- c\r\n- d", "a\n\nb\n\n- c\n- d"},
		{"trimmed", "  \n text \n ", "text"},
		{"indented paragraph", "a\n    b", "a\n\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := teams.Card(bot.Message{Text: tt.in})
			checkCard(t, card)
			got := texts(card)
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("Markdown of %q:\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSections(t *testing.T) {
	card := teams.Card(bot.Message{
		Fields:   []bot.Field{{Title: "Resource", Value: "`db`"}, {Value: "*only value*"}, {Title: "Only title"}, {}},
		Sections: []bot.Section{{Title: "*Gaps*", Text: "- a\n- b"}, {Title: "", Text: "untitled"}, {Title: "empty"}, {}},
	})
	checkCard(t, card)
	els := body(t, card)
	if len(els) != 4 {
		t.Fatalf("%d elements, want a FactSet and 3 sections:\n%s", len(els), marshal(t, card))
	}
	facts := marshal(t, els[0]["facts"])
	want := marshal(t, []map[string]string{{"title": "Resource", "value": "`db`"}, {"title": "", "value": "**only value**"}, {"title": "Only title", "value": "—"}})
	if !bytes.Equal(facts, want) {
		t.Errorf("facts:\n%s\nwant\n%s", facts, want)
	}
	if got := texts(card); !reflect.DeepEqual(got, []string{"**Gaps**", "- a\n- b", "untitled", "empty"}) {
		t.Errorf("section texts %q", got)
	}
	if els[1]["items"].([]any)[0].(map[string]any)["weight"] != "Bolder" {
		t.Error("section title is not bold")
	}
}

func TestActions(t *testing.T) {
	card := teams.Card(bot.ReportMessage(bottest.FullReport()))
	checkCard(t, card)
	type act struct{ Type, Title, Style, Action, Value string }
	var got []act
	for _, a := range card["actions"].([]any) {
		a := a.(map[string]any)
		data := a["data"].(map[string]any)
		style, _ := a["style"].(string)
		got = append(got, act{a["type"].(string), a["title"].(string), style, data["action"].(string), data["value"].(string)})
	}
	want := []act{
		{"Action.Submit", "👍 Accurate", "positive", bot.ActionAccurate, "inv_01hx3k9"},
		{"Action.Submit", "👎 Inaccurate", "", bot.ActionInaccurate, "inv_01hx3k9"},
		{"Action.Submit", "Investigate again", "", bot.ActionReinvestigate, "inv_01hx3k9"},
		{"Action.Submit", "Ask for human support", "destructive", bot.ActionEscalate, "inv_01hx3k9"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("actions\n got %+v\nwant %+v", got, want)
	}

	t.Run("unlink", func(t *testing.T) {
		card := teams.Card(bot.LinkedMessage(&engine.Alert{Title: "t", Source: engine.SourceCloudWatch}, &engine.Outcome{AlertID: "al_9"}))
		a := card["actions"].([]any)
		if len(a) != 1 || !reflect.DeepEqual(a[0].(map[string]any)["data"], map[string]any{"action": bot.ActionUnlink, "value": "al_9"}) {
			t.Errorf("actions %v", a)
		}
	})
	t.Run("no label, long values", func(t *testing.T) {
		long := strings.Repeat("v", 300)
		card := teams.Card(bot.Message{Text: "x", Buttons: []bot.Button{{ID: "escalate", Value: long, Style: "weird"}}})
		checkCard(t, card)
		a := card["actions"].([]any)[0].(map[string]any)
		if a["title"] != "escalate" || a["data"].(map[string]any)["value"] != long || a["style"] != nil {
			t.Errorf("action %v", a)
		}
	})
	t.Run("more than six", func(t *testing.T) {
		m := bot.Message{Text: "x"}
		for i := range 9 {
			m.Buttons = append(m.Buttons, bot.Button{ID: fmt.Sprint("b", i), Label: fmt.Sprint("B", i)})
		}
		card := teams.Card(m)
		checkCard(t, card)
		if n := len(card["actions"].([]any)); n != 6 {
			t.Errorf("%d actions, want 6", n)
		}
		if got := texts(card); got[len(got)-1] != "… 3 more actions not shown" {
			t.Errorf("last line %q does not say that actions were dropped", got[len(got)-1])
		}
	})
	t.Run("none", func(t *testing.T) {
		if _, ok := teams.Card(bot.Message{Text: "x"})["actions"]; ok {
			t.Error("a card without buttons has actions")
		}
	})
}

func TestLimits(t *testing.T) {
	t.Run("long header", func(t *testing.T) {
		card := teams.Card(bot.Message{Header: strings.Repeat("é", 200)})
		checkCard(t, card)
		h := texts(card)[0]
		if utf8.RuneCountInString(h) != 150 || !strings.HasSuffix(h, "…") {
			t.Errorf("header has %d runes, want 150 ending in …", utf8.RuneCountInString(h))
		}
	})
	t.Run("huge text", func(t *testing.T) {
		var lines []string
		for i := range 2000 {
			lines = append(lines, fmt.Sprintf("- line %04d with a [link](https://example.com/%d) & `code`", i, i))
		}
		m := bot.Message{Header: "h", Text: strings.Join(lines, "\n"), Context: "ctx", Buttons: []bot.Button{{ID: "a", Label: "A"}}}
		card := teams.Card(m)
		checkCard(t, card)
		got := texts(card)
		if len(got) != 4 || got[0] != "h" || got[2] != "… _message truncated_" || got[3] != "ctx" {
			t.Fatalf("texts %.200q", got)
		}
		text := got[1]
		if !strings.HasPrefix(text, "- line 0000 with a [link](https://example.com/0) & `code`\n- line 0001") || !strings.HasSuffix(text, "`code`…") {
			t.Errorf("text not cut at a line end: %q … %q", text[:80], text[len(text)-80:])
		}
		if raw, _ := json.Marshal(card); len(raw) < teams.MaxCardBytes*9/10 {
			t.Errorf("card cut to %d bytes; most of the %d allowed should be used", len(raw), teams.MaxCardBytes)
		}
	})
	t.Run("escaped characters count", func(t *testing.T) {
		card := teams.Card(bot.Message{Text: strings.Repeat("<&> ", 20000)})
		checkCard(t, card)
	})
	t.Run("unbroken text", func(t *testing.T) {
		card := teams.Card(bot.Message{Text: strings.Repeat("é", 30000)})
		checkCard(t, card)
		if s := texts(card)[0]; !strings.HasSuffix(s, "é…") {
			t.Errorf("text ends %q", s[len(s)-10:])
		}
	})
	t.Run("cut never splits a link or code", func(t *testing.T) {
		for _, unit := range []string{"[a link](https://example.com/x) ", "`a b c d` ", "**bold text** "} {
			card := teams.Card(bot.Message{Text: strings.Repeat(unit, 30000/len(unit))})
			checkCard(t, card)
			s := strings.TrimSuffix(texts(card)[0], "…")
			if strings.ReplaceAll(s, strings.TrimSpace(unit), "") != strings.Repeat(" ", strings.Count(s, strings.TrimSpace(unit))-1) {
				t.Errorf("cut inside %q: ...%q", unit, s[len(s)-40:])
			}
		}
	})
	t.Run("many sections are dropped from the end", func(t *testing.T) {
		m := bot.Message{Header: "h", Text: "intro", Context: "ctx"}
		for i := range 20 {
			m.Sections = append(m.Sections, bot.Section{Title: fmt.Sprint("S", i), Text: strings.Repeat("word ", 400)})
		}
		card := teams.Card(m)
		checkCard(t, card)
		got := texts(card)
		if got[0] != "h" || got[1] != "intro" || got[2] != "**S0**" && got[2] != "S0" || got[len(got)-2] != "… _message truncated_" || got[len(got)-1] != "ctx" {
			t.Errorf("texts %.300q", got)
		}
		n := 0
		for _, e := range body(t, card) {
			if e["type"] == "Container" {
				n++
			}
		}
		if n == 0 || n == 20 {
			t.Errorf("%d sections kept, want some but not all", n)
		}
	})
	t.Run("many fields", func(t *testing.T) {
		m := bot.Message{}
		for i := range 500 {
			m.Fields = append(m.Fields, bot.Field{Title: fmt.Sprint("F", i), Value: strings.Repeat("v", 600)})
		}
		card := teams.Card(m)
		checkCard(t, card)
		facts := body(t, card)[0]["facts"].([]any)
		if len(facts) != 20 {
			t.Errorf("%d facts, want 20", len(facts))
		}
		if v := facts[0].(map[string]any)["value"].(string); utf8.RuneCountInString(v) != 500 || !strings.HasSuffix(v, "…") {
			t.Errorf("fact value of %d runes", utf8.RuneCountInString(v))
		}
	})
	t.Run("long context", func(t *testing.T) {
		card := teams.Card(bot.Message{Context: strings.Repeat("c", 900)})
		checkCard(t, card)
		if n := utf8.RuneCountInString(texts(card)[0]); n != 500 {
			t.Errorf("context of %d runes, want 500", n)
		}
	})
}

func TestImage(t *testing.T) {
	t.Run("small", func(t *testing.T) {
		m := bot.Message{Image: &bot.Image{Title: "p99", PNG: onePixel}}
		card := teams.Card(m)
		checkCard(t, card)
		if !teams.ImageShown(m) {
			t.Error("ImageShown is false")
		}
		els := body(t, card)
		if len(els) != 2 || els[1]["type"] != "Image" || els[1]["altText"] != "p99" {
			t.Fatalf("body %s", marshal(t, els))
		}
		b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(els[1]["url"].(string), "data:image/png;base64,"))
		if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != 1 {
			t.Errorf("image does not decode: %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		big := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 1, 2, 3, 4}, 4000) // 32000 bytes
		m := bot.ReportMessage(bottest.FullReport())
		m.Image = &bot.Image{Title: "orders-db connections", Alt: "connections", PNG: big}
		card := teams.Card(m)
		checkCard(t, card)
		if teams.ImageShown(m) {
			t.Error("ImageShown is true")
		}
		got := texts(card)
		if want := "Picture “orders-db connections” not shown: too large for a Teams card (32 KB)."; got[len(got)-2] != want {
			t.Errorf("line before the context is %q, want %q", got[len(got)-2], want)
		}
		for _, e := range body(t, card) {
			if e["type"] == "Image" {
				t.Error("image embedded")
			}
		}
	})
	t.Run("text comes first", func(t *testing.T) {
		// An image that fits alone does not fit next to a long text: the
		// text is kept whole and the image left out.
		m := bot.Message{Text: strings.Repeat("word ", 4000), Image: &bot.Image{PNG: bytes.Repeat([]byte{1}, 6000)}}
		card := teams.Card(m)
		checkCard(t, card)
		if teams.ImageShown(m) || !teams.ImageShown(bot.Message{Image: m.Image}) {
			t.Error("want the image shown alone and not next to the text")
		}
		if got := texts(card); got[0] != strings.TrimSpace(m.Text) || got[1] != "Picture not shown: too large for a Teams card (6 KB)." {
			t.Errorf("texts %.100q", got)
		}
	})
	t.Run("empty PNG", func(t *testing.T) {
		m := bot.Message{Text: "x", Image: &bot.Image{Title: "nothing"}}
		if got := texts(teams.Card(m)); !reflect.DeepEqual(got, []string{"x"}) || teams.ImageShown(m) {
			t.Errorf("texts %q", got)
		}
	})
}

func TestAttachment(t *testing.T) {
	m := bot.StatusMessage(engine.PhaseTriage, "Investigation started")
	a := teams.Attachment(m)
	if teams.ContentType != "application/vnd.microsoft.card.adaptive" || a["contentType"] != teams.ContentType {
		t.Errorf("contentType %v", a["contentType"])
	}
	if !reflect.DeepEqual(a["content"], teams.Card(m)) || len(a) != 2 {
		t.Errorf("attachment %v", a)
	}
}

func TestEmptyMessage(t *testing.T) {
	card := teams.Card(bot.Message{})
	checkCard(t, card)
	if got := texts(card); !reflect.DeepEqual(got, []string{"Nightshift"}) {
		t.Errorf("empty message renders %q", got)
	}
	if got := teams.Text(bot.Message{}); got != "Nightshift" {
		t.Errorf("Text of an empty message = %q", got)
	}
	card = teams.Card(bot.Message{Buttons: []bot.Button{{ID: "a", Label: "A"}}})
	checkCard(t, card)
}

func TestText(t *testing.T) {
	alert := &engine.Alert{Title: "CheckoutLatencyHigh", Severity: engine.SeverityCritical, Source: engine.SourcePagerDuty,
		Links: []engine.Link{{Text: "Runbook", URL: "https://r.example.com"}}}
	tests := []struct {
		name string
		m    bot.Message
		want string
	}{
		{"header and text", bot.ParentMessage("inv_1", alert, 0), "🔴 CheckoutLatencyHigh\nRunbook"},
		{"status", bot.StatusMessage(engine.PhaseTriage, "Investigation started"), "🧭 Triage — Investigation started"},
		{"finding", bot.FindingMessage(&engine.Evidence{Kind: "log", Resource: "db", Summary: "too many <clients>"}),
			"🔎 Finding (log on db): too many <clients>"},
		{"lines, links as text", bot.Message{Text: "**see** [Runbook](https://x.example.com)\n\n  more  lines "}, "see Runbook\nmore lines"},
		{"report", bot.ReportMessage(bottest.FullReport()), "Root cause and mitigation plan\naws/rds/orders-db — database, confidence 87%\n" +
			"aws/rds/orders-db (database): DatabaseConnections rose from 118 to 796 Count at 04:20:00."},
		{"section", bot.Message{Sections: []bot.Section{{Title: "", Text: "- gap one\n- gap two"}}}, "- gap one\n- gap two"},
		{"context", bot.Message{Context: "inv_1 · `x`"}, "inv_1 · x"},
		{"long", bot.Message{Text: strings.Repeat("a ", 600)}, strings.Repeat("a ", 249) + "a…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := teams.Text(tt.m); got != tt.want {
				t.Errorf("Text = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStripMentions(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<at>Nightshift</at> investigate high-cpu", "investigate high-cpu"},
		{"<at>Nightshift</at>&nbsp;status\n", "status"},
		{"hey <AT>Night Shift</AT>, what changed?", "hey , what changed?"},
		{"<at id=\"0\">Nightshift</at>  ask   what   changed", "ask what changed"},
		{"ask <at>Nightshift</at> about <at>Ana</at> db", "ask about db"},
		{"\u00a0ask\u00a0\tnow ", "ask now"},
		{"line one  \r\n  line two", "line one\nline two"},
		{"no mention", "no mention"},
		{"<at>Nightshift</at>", ""},
		{"<at>unclosed", "<at>unclosed"},
	}
	for _, tt := range tests {
		if got := teams.StripMentions(tt.in); got != tt.want {
			t.Errorf("StripMentions(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	m := bot.ReportMessage(bottest.FullReport())
	m.Image = &bot.Image{Title: "x", PNG: onePixel}
	a, b := marshal(t, teams.Card(m)), marshal(t, teams.Card(m))
	if !bytes.Equal(a, b) {
		t.Error("two renderings differ")
	}
}

func FuzzCard(f *testing.F) {
	f.Add("h", "*a* `b` [c](d) - e\n- f", "S", strings.Repeat("<x> ", 3000), "ctx", 3)
	f.Add("", "`unclosed *x*", "", "**", "", 0)
	f.Add(strings.Repeat("é", 300), strings.Repeat("[a](b) ", 5000), "T", "1. x\n   y", "", 9)
	f.Fuzz(func(t *testing.T, header, text, title, section, context string, buttons int) {
		m := bot.Message{Header: header, Text: text, Context: context,
			Fields:   []bot.Field{{Title: title, Value: text}},
			Sections: []bot.Section{{Title: title, Text: section}, {Title: section, Text: text}}}
		for i := range buttons % 10 {
			m.Buttons = append(m.Buttons, bot.Button{ID: fmt.Sprint("b", i), Label: title})
		}
		card := teams.Card(m)
		raw, err := json.Marshal(card)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) > teams.MaxCardBytes {
			t.Errorf("card is %d bytes", len(raw))
		}
		if len(card["body"].([]any)) == 0 {
			t.Error("empty body")
		}
		for _, s := range texts(card) {
			if strings.TrimSpace(s) == "" {
				t.Error("empty TextBlock")
			}
		}
	})
}
