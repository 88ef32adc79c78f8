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

// TeamsConfig connects the Teams bot (an Azure Bot registration; POST
// /api/messages on the serve listener).
type TeamsConfig struct {
	AppID       string `yaml:"app_id"`       // the bot's Microsoft app id
	AppPassword string `yaml:"app_password"` // its client secret
	TenantID    string `yaml:"tenant_id"`    // single-tenant bots
	// OpenIDMetadataURL lists the keys inbound tokens are signed with
	// (default the Bot Framework's; set for sovereign clouds and tests).
	OpenIDMetadataURL string `yaml:"openid_metadata_url"`
	// TokenURL is where the bot gets its own tokens (default the tenant's
	// token endpoint; set for sovereign clouds and tests).
	TokenURL string `yaml:"token_url"`
	// GraphURL is Microsoft Graph, asked whether a person is in an
	// operators' group (default Graph v1.0; needs GroupMember.Read.All).
	GraphURL     string        `yaml:"graph_url"`
	EditInterval time.Duration `yaml:"edit_interval"`
	Workers      int           `yaml:"workers"`
}

// Enabled reports whether the block was filled in.
func (c TeamsConfig) Enabled() bool { return c.AppID != "" }

// Validate checks the credentials.
func (c TeamsConfig) Validate() error {
	var errs []string
	if c.AppPassword == "" {
		errs = append(errs, "app_password: required (the bot's client secret)")
	}
	if c.TenantID == "" && c.TokenURL == "" {
		errs = append(errs, "tenant_id: required for single-tenant bots (or set token_url)")
	}
	for _, u := range []struct{ name, v string }{{"openid_metadata_url", c.OpenIDMetadataURL}, {"token_url", c.TokenURL}, {"graph_url", c.GraphURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "https://") && !strings.HasPrefix(u.v, "http://127.0.0.1") && !strings.HasPrefix(u.v, "http://localhost") {
			errs = append(errs, u.name+": want an https:// URL")
		}
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
	// ServiceURL (Teams) is where to post before any activity from the
	// channel told the bot (e.g. https://smba.trafficmanager.net/teams/).
	ServiceURL string `yaml:"service_url"`
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
	sub := func(prefix string, err error) {
		for _, line := range strings.Split(errString(err), "\n") {
			if line == "" {
				continue
			}
			f, msg, _ := strings.Cut(line, ": ")
			ps = append(ps, problem{prefix + f, msg})
		}
	}
	if c.Slack.Enabled() {
		sub("slack.", c.Slack.Validate())
	}
	if c.Teams.Enabled() {
		sub("teams.", c.Teams.Validate())
	}
	owner := map[string]string{}
	for i, s := range c.Spaces {
		at := fmt.Sprintf("spaces[%d].", i)
		for _, pc := range []struct {
			name string
			c    *SpaceChatConfig
		}{{"slack", s.Slack}, {"teams", s.Teams}} {
			if pc.c == nil {
				continue
			}
			for j, ch := range append(append([]string(nil), pc.c.IncidentChannels...), pc.c.AlertChannels...) {
				if prev, ok := owner[pc.name+ch]; ok && prev != s.Name {
					ps = append(ps, problem{at + pc.name, fmt.Sprintf("channel %s is already bound to space %s (a channel belongs to one space)", ch, prev)})
				}
				if strings.TrimSpace(ch) == "" {
					ps = append(ps, problem{at + fmt.Sprintf("%s.channels[%d]", pc.name, j), "empty channel id"})
				}
				owner[pc.name+ch] = s.Name
			}
		}
		if s.Teams != nil && c.Teams.Enabled() && len(s.Teams.IncidentChannels) > 0 && s.Teams.ServiceURL == "" {
			ps = append(ps, problem{at + "teams.service_url", "required to open threads before anyone writes to the bot (e.g. https://smba.trafficmanager.net/teams/)"})
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

// chatBindings turns the spaces' blocks for one platform ("slack",
// "teams") into the bot's bindings.
func chatBindings(cfg *Config, platform string) []bot.SpaceBinding {
	var out []bot.SpaceBinding
	for _, s := range cfg.Spaces {
		b := bot.SpaceBinding{Name: s.Name}
		c := s.Slack
		if platform == "teams" {
			c = s.Teams
		}
		if c != nil {
			b.IncidentChannels, b.AlertChannels = c.IncidentChannels, c.AlertChannels
		}
		for _, o := range s.Operators {
			id := o.Slack
			if platform == "teams" {
				id = o.Teams
			}
			if id == "" {
				continue
			}
			r, _ := bot.ParseRole(o.Role)
			b.Operators = append(b.Operators, bot.Operator{ID: id, Role: r})
		}
		out = append(out, b)
	}
	return out
}
