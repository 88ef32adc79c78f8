package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightshift-ops/nightshift/bot"
)

// SlackConfig connects the Slack app (Socket Mode: no public endpoint).
type SlackConfig struct {
	AppToken string `yaml:"app_token"` // xapp-, with connections:write
	BotToken string `yaml:"bot_token"` // xoxb-
	// APIURL is Slack's Web API base; set it for GovSlack and for tests
	// ("http://127.0.0.1:9999/api/"). Default Slack's.
	APIURL string `yaml:"api_url"`
	// Streaming streams an investigation's narrative with chat.startStream
	// where the workspace supports it (falls back to status edits).
	Streaming bool `yaml:"streaming"`
	// EditInterval coalesces status edits (default 2s; chat.update is
	// rate limited per workspace).
	EditInterval time.Duration `yaml:"edit_interval"`
	// Workers bounds the events handled at once (default 8).
	Workers int `yaml:"workers"`
}

// Enabled reports whether the block was filled in.
func (c SlackConfig) Enabled() bool { return c.AppToken != "" || c.BotToken != "" }

// Validate checks the tokens' kinds.
func (c SlackConfig) Validate() error {
	var errs []string
	if !strings.HasPrefix(c.AppToken, "xapp-") {
		errs = append(errs, "app_token: want an app-level token (xapp-…) with connections:write")
	}
	if !strings.HasPrefix(c.BotToken, "xoxb-") {
		errs = append(errs, "bot_token: want a bot token (xoxb-…)")
	}
	if c.APIURL != "" && !strings.HasSuffix(c.APIURL, "/") {
		errs = append(errs, "api_url: must end with a slash (…/api/)")
	}
	if c.EditInterval < 0 {
		errs = append(errs, "edit_interval: must not be negative")
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "\n"))
}

// SpaceChatConfig binds a space to chat channels on one platform.
type SpaceChatConfig struct {
	IncidentChannels []string `yaml:"incident_channels"`
	AlertChannels    []string `yaml:"alert_channels"`
}

// OperatorConfig grants a role to a person or a group on a platform.
type OperatorConfig struct {
	Slack string `yaml:"slack"` // user id (U…) or user group id (S…)
	Teams string `yaml:"teams"` // Entra object id of a user or group
	Role  string `yaml:"role"`  // viewer | operator (default) | admin
}

// Validate checks one operator entry.
func (o OperatorConfig) Validate() error {
	var errs []string
	if o.Slack == "" && o.Teams == "" {
		errs = append(errs, "slack: name a Slack user or group id (or teams: an Entra object id)")
	}
	if _, err := bot.ParseRole(o.Role); err != nil {
		errs = append(errs, "role: want viewer, operator or admin")
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "\n"))
}

// validateChat checks the chat parts of the configuration.
func (c *Config) validateChat() []problem {
	var ps []problem
	if c.Slack.Enabled() {
		for _, line := range strings.Split(errString(c.Slack.Validate()), "\n") {
			if line == "" {
				continue
			}
			f, msg, _ := strings.Cut(line, ": ")
			ps = append(ps, problem{"slack." + f, msg})
		}
	}
	owner := map[string]string{}
	for i, s := range c.Spaces {
		at := fmt.Sprintf("spaces[%d].", i)
		if s.Slack != nil {
			for j, ch := range append(append([]string(nil), s.Slack.IncidentChannels...), s.Slack.AlertChannels...) {
				if prev, ok := owner[ch]; ok && prev != s.Name {
					ps = append(ps, problem{at + "slack", fmt.Sprintf("channel %s is already bound to space %s (a channel belongs to one space)", ch, prev)})
				}
				if strings.TrimSpace(ch) == "" {
					ps = append(ps, problem{at + fmt.Sprintf("slack.channels[%d]", j), "empty channel id"})
				}
				owner[ch] = s.Name
			}
		}
		for j, o := range s.Operators {
			for _, line := range strings.Split(errString(o.Validate()), "\n") {
				if line == "" {
					continue
				}
				f, msg, _ := strings.Cut(line, ": ")
				ps = append(ps, problem{fmt.Sprintf("%soperators[%d].%s", at, j, f), msg})
			}
		}
	}
	return ps
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// slackBindings turns the spaces' Slack blocks into the bot's bindings.
func slackBindings(cfg *Config) []bot.SpaceBinding {
	var out []bot.SpaceBinding
	for _, s := range cfg.Spaces {
		b := bot.SpaceBinding{Name: s.Name}
		if s.Slack != nil {
			b.IncidentChannels, b.AlertChannels = s.Slack.IncidentChannels, s.Slack.AlertChannels
		}
		for _, o := range s.Operators {
			if o.Slack == "" {
				continue
			}
			r, _ := bot.ParseRole(o.Role)
			b.Operators = append(b.Operators, bot.Operator{ID: o.Slack, Role: r})
		}
		out = append(out, b)
	}
	return out
}
