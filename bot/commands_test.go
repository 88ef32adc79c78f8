package bot_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/bot"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in   string
		want bot.Command
	}{
		{"ask what depends on orders-db?", bot.Command{Kind: "ask", Text: "what depends on orders-db?", Raw: "ask what depends on orders-db?"}},
		{"  ASK   why is checkout slow ", bot.Command{Kind: "ask", Text: "why is checkout slow", Raw: "ASK   why is checkout slow"}},
		{"investigate checkout 5xx since 14:00", bot.Command{Kind: "investigate", Text: "checkout 5xx since 14:00", Raw: "investigate checkout 5xx since 14:00"}},
		{"investigate high-cpu", bot.Command{Kind: "investigate", Preset: "high-cpu", Raw: "investigate high-cpu"}},
		{"investigate Latest-Alarm on orders", bot.Command{Kind: "investigate", Preset: "latest-alarm", Text: "on orders", Raw: "investigate Latest-Alarm on orders"}},
		{"status", bot.Command{Kind: "status", Raw: "status"}},
		{"topology aws/rds/orders-db", bot.Command{Kind: "topology", Text: "aws/rds/orders-db", Raw: "topology aws/rds/orders-db"}},
		{"", bot.Command{Kind: "help"}},
		{"ask", bot.Command{Kind: "help", Raw: "ask"}},
		{"investigate", bot.Command{Kind: "help", Raw: "investigate"}},
		{"reboot prod", bot.Command{Kind: "unknown", Text: "prod", Raw: "reboot prod"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(bot.ParseCommand(tt.in), tt.want); diff != "" {
			t.Errorf("ParseCommand(%q) (-got +want):\n%s", tt.in, diff)
		}
	}
}

func TestHelpMessage(t *testing.T) {
	m := bot.HelpMessage("reboot prod")
	if !strings.Contains(m.Text, "I don't know `/devops reboot prod`") || !strings.Contains(m.Text, "/devops ask") {
		t.Fatalf("help: %q", m.Text)
	}
	if strings.Contains(bot.HelpMessage("").Text, "don't know") {
		t.Fatal("plain help says it did not understand")
	}
}
