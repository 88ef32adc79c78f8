package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

// The worked example in deploy/examples is valid as shipped.
func TestExampleConfig(t *testing.T) {
	cfg, err := LoadConfig("../../deploy/examples/nightshift.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Spaces) != 3 || cfg.Spaces[2].Providers.Sandbox == nil || cfg.Spaces[0].Name != "payments" || cfg.Spaces[0].Correlation.Window != 20*time.Minute {
		t.Fatalf("example parsed as %+v", cfg.Spaces)
	}
	s := cfg.Spaces[0].Sources
	if s.PagerDuty == nil || s.Alertmanager == nil || s.Grafana == nil || s.Datadog == nil || s.CloudWatch == nil || s.Generic == nil {
		t.Fatalf("example lacks a source: %+v", s)
	}
	env := map[string]string{"PD_WEBHOOK_SECRET": "from-env"}
	cfg, err = LoadConfig("../../deploy/examples/nightshift.yaml", func(k string) string { return env[k] })
	if err != nil || cfg.Spaces[0].Sources.PagerDuty.Secret != "from-env" {
		t.Fatalf("env expansion: %v", err)
	}
}

func TestConfigErrorsNameFileLineAndField(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown key", "spaces:\n  - name: a\n    sorces: {}\n", []string{"c.yaml:3: spaces[0].sorces: unknown field"}},
		{"missing secret from unset env", "spaces:\n  - name: a\n    sources:\n      pagerduty:\n        secret: ${PD_SECRET}\n",
			[]string{"c.yaml:5: spaces[0].sources.pagerduty.secret: required (${PD_SECRET} is not set)"}},
		{"bad type", "spaces:\n  - name: a\n    correlation: {window: soon}\n", []string{"c.yaml:3:"}},
		{"threshold out of range", "spaces:\n  - name: a\n    correlation: {threshold: 7}\n", []string{"c.yaml:3: spaces[0].correlation.threshold:"}},
		{"bad space name and duplicate", "spaces:\n  - name: A b\n  - name: x\n  - name: x\n",
			[]string{"c.yaml:2: spaces[0].name:", "c.yaml:4: spaces[2].name: space \"x\" is declared twice"}},
		{"no spaces", "listen: :8080\n", []string{"c.yaml:1: spaces: at least one space"}},
		{"bad redis url", "redis: {url: \"mysql://x\"}\nspaces: [{name: a}]\n", []string{"c.yaml:1: redis.url:"}},
		{"cloudwatch topics", "spaces:\n  - name: a\n    sources:\n      cloudwatch: {topic_arns: []}\n", []string{"c.yaml:4: spaces[0].sources.cloudwatch.topic_arns:"}},
		{"syntax", "spaces: [\n", []string{"c.yaml:"}},
		{"log level", "log: {level: loud}\nspaces: [{name: a}]\n", []string{"c.yaml:1: log.level:"}},
		{"slack tokens", "slack:\n  app_token: xoxb-wrong\n  bot_token: xapp-wrong\n  api_url: http://x/api\nspaces: [{name: a}]\n",
			[]string{"c.yaml:2: slack.app_token: want an app-level token", "c.yaml:3: slack.bot_token: want a bot token", "c.yaml:4: slack.api_url: must end with a slash"}},
		{"operators", "spaces:\n  - name: a\n    operators:\n      - {slack: U1, role: boss}\n      - {role: viewer}\n",
			[]string{"c.yaml:4: spaces[0].operators[0].role: want viewer, operator or admin", "c.yaml:5: spaces[0].operators[1].slack: name a Slack user"}},
		{"channel in two spaces", "spaces:\n  - name: a\n    slack: {incident_channels: [C1]}\n  - name: b\n    slack: {alert_channels: [C1]}\n",
			[]string{"c.yaml:5: spaces[1].slack: channel C1 is already bound to space a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("c.yaml", []byte(tt.yaml), noEnv)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestConfigSecretFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pd"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c.yaml")
	cfg, err := ParseConfig(path, []byte("spaces:\n  - name: a\n    sources:\n      pagerduty: {secret_file: pd}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Spaces[0].Sources.PagerDuty.Secret; got != "s3cret" {
		t.Fatalf("secret from file = %q", got)
	}
	_, err = ParseConfig(path, []byte("spaces:\n  - name: a\n    sources:\n      pagerduty: {secret: x, secret_file: pd}\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("both set: %v", err)
	}
	_, err = ParseConfig(path, []byte("spaces:\n  - name: a\n    sources:\n      pagerduty: {secret_file: missing}\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "c.yaml:4: spaces[0].sources.pagerduty.secret_file: cannot read") {
		t.Fatalf("missing file: %v", err)
	}
}
