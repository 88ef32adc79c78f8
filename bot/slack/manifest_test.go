package slack

import (
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The app manifest asks for exactly what the bot uses: the events it
// handles, the scopes of the Web API methods it calls, the slash command,
// interactivity and Socket Mode.
func TestManifestMatchesTheBot(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/slack/manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct {
				Command string `yaml:"command"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				Bot []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	same := func(what string, got, want []string) {
		got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: manifest has %v, the bot uses %v", what, got, want)
		}
	}
	same("bot events", m.Settings.Events.Bot, Events)
	same("bot scopes", m.OAuth.Scopes.Bot, Scopes)
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != Command {
		t.Errorf("slash commands %v, want %s", m.Features.SlashCommands, Command)
	}
	if !m.Settings.Interactivity.Enabled || !m.Settings.SocketMode {
		t.Errorf("interactivity %v, socket mode %v: both needed", m.Settings.Interactivity.Enabled, m.Settings.SocketMode)
	}
}
