package bot

import (
	"fmt"
	"strings"
)

// Command is a parsed `/devops` command (or a mention's text), the same on
// every platform.
type Command struct {
	Kind string // ask, investigate, status, topology, unlink, backlog, help, unknown
	// Preset is set for `investigate latest-alarm|high-cpu|error-spike`.
	Preset string
	// Text is the rest: the question, the description, the resource.
	Text string
	// Raw is the command as typed, for "unknown" answers.
	Raw string
}

// Investigation presets: quick-launch starting points.
const (
	PresetLatestAlarm = "latest-alarm"
	PresetHighCPU     = "high-cpu"
	PresetErrorSpike  = "error-spike"
)

var presets = []string{PresetLatestAlarm, PresetHighCPU, PresetErrorSpike}

// ParseCommand reads the text after `/devops`. Unknown subcommands come back
// as Kind "unknown" so that the surface answers with help, never silence.
func ParseCommand(text string) Command {
	raw := strings.TrimSpace(text)
	verb, rest, _ := strings.Cut(raw, " ")
	rest = strings.TrimSpace(rest)
	c := Command{Raw: raw, Text: rest}
	switch strings.ToLower(verb) {
	case "ask", "q":
		c.Kind = "ask"
	case "investigate", "inv":
		c.Kind = "investigate"
		first, tail, _ := strings.Cut(rest, " ")
		for _, p := range presets {
			if strings.EqualFold(first, p) {
				c.Preset, c.Text = p, strings.TrimSpace(tail)
			}
		}
	case "status":
		c.Kind = "status"
	case "topology", "topo":
		c.Kind = "topology"
	case "unlink":
		c.Kind = "unlink"
	case "backlog":
		c.Kind = "backlog"
	case "", "help", "?":
		c.Kind = "help"
	default:
		c.Kind = "unknown"
	}
	if (c.Kind == "ask" || c.Kind == "topology" || c.Kind == "unlink") && c.Text == "" {
		c.Kind = "help"
	}
	if c.Kind == "investigate" && c.Text == "" && c.Preset == "" {
		c.Kind = "help"
	}
	return c
}

// HelpMessage lists what `/devops` does; unknown, when set, is the command
// that was not understood.
func HelpMessage(unknown string) Message {
	var b strings.Builder
	if unknown != "" {
		fmt.Fprintf(&b, "I don't know `/devops %s`. Here is what I can do:\n", unknown)
	}
	b.WriteString(strings.Join([]string{
		"- `/devops ask <question>` — deployments and changes, firing alarms, a resource's configuration, what depends on it, past incidents",
		"- `/devops investigate <description>` — start an investigation from free text",
		"- `/devops investigate latest-alarm | high-cpu | error-spike` — quick-launch presets",
		"- `/devops status` — active investigations in this channel's space",
		"- `/devops topology <resource>` — a resource's neighbourhood",
		"- `/devops unlink <alert id>` — move a wrongly linked alert into its own investigation",
		"- `/devops help` — this list",
		"Mention me in an incident channel to start an investigation, or in an investigation's thread to ask a follow-up.",
	}, "\n"))
	return Message{Header: "Nightshift", Text: b.String()}
}
