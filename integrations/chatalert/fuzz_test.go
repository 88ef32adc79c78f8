package chatalert

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightshift-ops/nightshift/engine"
)

// FuzzParse feeds Parse arbitrary messages, seeded with every fixture: it
// must never panic, and what it returns must always be well formed.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			f.Fatal(err)
		}
		var title, text, link, field string
		if len(m.Attachments) > 0 {
			a := m.Attachments[0]
			title, text, link = a.Title, a.Text, a.TitleLink
			if len(a.Fields) > 0 {
				field = a.Fields[0].Title + "\x00" + a.Fields[0].Value
			}
		}
		f.Add(m.Author, m.BotID != "", m.Text, title, link, text, field, m.Blocks)
	}
	f.Add("Grafana", true, "", "[FIRING:1, RESOLVED:1]", "", "**Firing**\nLabels:\n - a = b\n**Resolved**\nValue:", "", "")
	f.Add("", true, "<<https://x|y>|z> <!|> <@> [](http://) \x01\x02 &amp;lt;", "", "", "", "", "")
	f.Add("AWS Chatbot", true, "CloudWatch Alarm | | us-east-1 | Account: 1", "", "https://console.aws.amazon.com/cloudwatch/home?region=#alarmsV2:alarm/%zz", "", "Dimensions\x00[=]", "")

	f.Fuzz(func(t *testing.T, author string, bot bool, text, title, link, attText, field, blocks string) {
		m := Message{Platform: PlatformSlack, Channel: "C1", ID: "1.1", Author: author, Text: text, Blocks: blocks}
		if bot {
			m.BotID = "B1"
		}
		if title != "" || attText != "" || link != "" || field != "" {
			ft, fv, _ := strings.Cut(field, "\x00")
			m.Attachments = []Attachment{{Title: title, TitleLink: link, Text: attText, Fields: []Field{{Title: ft, Value: fv}}}}
		}
		alerts, err := Parse(m)
		if err != nil {
			if !errors.Is(err, ErrNotAlert) || alerts != nil {
				t.Fatalf("Parse() = %v, %v", alerts, err)
			}
			return
		}
		if len(alerts) == 0 || len(alerts) > maxAlerts {
			t.Fatalf("Parse() = %d alerts, nil error", len(alerts))
		}
		for _, a := range alerts {
			app := a.Labels["chat_app"]
			switch {
			case a.Source != engine.SourceChat:
				t.Fatalf("Source = %q", a.Source)
			case app == "" || !strings.HasPrefix(a.Fingerprint, "chat:"+app+":"):
				t.Fatalf("Fingerprint = %q, chat_app = %q", a.Fingerprint, app)
			case a.Status != engine.AlertFiring && a.Status != engine.AlertResolved:
				t.Fatalf("Status = %q", a.Status)
			case a.Severity == "":
				t.Fatal("empty Severity")
			case a.Title == "" || len(a.Title) > 300:
				t.Fatalf("Title = %q", a.Title)
			case !json.Valid(a.Raw):
				t.Fatalf("Raw is not JSON: %q", a.Raw)
			case !strings.HasPrefix(a.DeliveryID, "slack:C1:1.1"):
				t.Fatalf("DeliveryID = %q", a.DeliveryID)
			}
			for _, l := range a.Links {
				if !strings.HasPrefix(l.URL, "http://") && !strings.HasPrefix(l.URL, "https://") {
					t.Fatalf("link %q", l.URL)
				}
			}
		}
	})
}
