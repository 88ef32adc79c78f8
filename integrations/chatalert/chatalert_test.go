package chatalert

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightshift-ops/nightshift/engine"
)

func readMessage(t testing.TB, name string) Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func parseFile(t testing.TB, name string) []engine.Alert {
	t.Helper()
	alerts, err := Parse(readMessage(t, name))
	if err != nil {
		t.Fatalf("Parse(%s) error = %v", name, err)
	}
	return alerts
}

// want is what a test checks of one alert; empty fields are not checked,
// labels and links are subsets.
type want struct {
	app       string
	title     string
	severity  engine.Severity
	status    engine.AlertStatus
	resources []string
	service   string
	region    string
	account   string
	labels    map[string]string
	links     []string // URLs that must be among the links
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []want
	}{
		{"alertmanager_default_firing.json", []want{{
			app: AppAlertmanager, title: "InstanceDown (node prod)", severity: engine.SeverityUnknown, status: engine.AlertFiring,
			links: []string{"http://alertmanager.example.com:9093/#/alerts?receiver=slack-ops"},
		}}},
		{"alertmanager_default_resolved.json", []want{{
			app: AppAlertmanager, title: "InstanceDown (node prod)", status: engine.AlertResolved,
		}}},
		{"alertmanager_details_firing.json", []want{
			{
				app: AppAlertmanager, title: "Pod shop/checkout-7d9f8b6c5-x2x9z is crash looping",
				severity: engine.SeverityCritical, status: engine.AlertFiring,
				resources: []string{"k8s/prod-eu/shop/pod/checkout-7d9f8b6c5-x2x9z"},
				labels:    map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "container": "checkout"},
				links: []string{"http://alertmanager.example.com:9093/#/alerts?receiver=slack-k8s",
					"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"},
			},
			{
				app: AppAlertmanager, title: "Pod shop/cart-5c6b7d8f9-abcde is crash looping",
				severity: engine.SeverityCritical, status: engine.AlertFiring,
				resources: []string{"k8s/prod-eu/shop/pod/cart-5c6b7d8f9-abcde"},
				labels:    map[string]string{"alertname": "KubePodCrashLooping", "pod": "cart-5c6b7d8f9-abcde"},
			},
		}},
		{"alertmanager_details_resolved.json", []want{
			{app: AppAlertmanager, status: engine.AlertResolved, resources: []string{"k8s/prod-eu/shop/pod/checkout-7d9f8b6c5-x2x9z"}},
			{app: AppAlertmanager, status: engine.AlertResolved, resources: []string{"k8s/prod-eu/shop/pod/cart-5c6b7d8f9-abcde"}},
		}},
		{"alertmanager_plain_bullets.json", []want{{
			app: AppAlertmanager, title: "p99 latency above 1s on api-gw-2", severity: engine.SeverityWarning, status: engine.AlertFiring,
			resources: []string{"host/api-gw-2:9090"}, service: "api-gateway",
			labels: map[string]string{"alertname": "HighLatency", "job": "api-gateway"},
			links:  []string{"http://prometheus.example.com:9090/graph?g0.expr=histogram_quantile%280.99%2C+rate%28http_request_duration_seconds_bucket%5B5m%5D%29%29+%3E+1&g0.tab=1"},
		}}},
		{"grafana_unified_firing.json", []want{{
			app: AppGrafana, title: "CPU above 90% on web-01", severity: engine.SeverityCritical, status: engine.AlertFiring,
			resources: []string{"host/web-01:9100"},
			labels:    map[string]string{"alertname": "HighCPU", "grafana_folder": "Infra", "env": "prod"},
			links: []string{"https://grafana.example.com/alerting/grafana/cpu-rule-uid/view?orgId=1",
				"https://grafana.example.com/d/node-exporter?orgId=1&viewPanel=3", "https://runbooks.example.com/high-cpu"},
		}}},
		{"grafana_unified_resolved.json", []want{{
			app: AppGrafana, title: "CPU above 90% on web-01", status: engine.AlertResolved, resources: []string{"host/web-01:9100"},
		}}},
		{"grafana_unified_mixed.json", []want{
			{app: AppGrafana, title: "CPU above 90% on web-02", status: engine.AlertFiring, resources: []string{"host/web-02:9100"}},
			{app: AppGrafana, title: "CPU above 90% on web-01", status: engine.AlertResolved, resources: []string{"host/web-01:9100"}},
		}},
		{"grafana_unified_minimal.json", []want{{
			app: AppGrafana, title: "QueueBacklog", severity: engine.SeverityUnknown, status: engine.AlertFiring,
			labels: map[string]string{"alertname": "QueueBacklog", "queue": "queue-7"},
		}}},
		{"grafana_legacy_alerting.json", []want{{
			app: AppGrafana, title: "API 5xx rate", status: engine.AlertFiring,
			labels: map[string]string{"grafana_state": "Alerting", "panel": "4"},
			links:  []string{"https://grafana.example.com/d/api-overview/api-overview?tab=alert&viewPanel=4&orgId=1"},
		}}},
		{"grafana_legacy_ok.json", []want{{
			app: AppGrafana, title: "API 5xx rate", status: engine.AlertResolved, labels: map[string]string{"grafana_state": "OK"},
		}}},
		{"aws_chatbot_alarm.json", []want{{
			app: AppAWSChatbot, title: "orders-db-high-cpu", severity: engine.SeverityError, status: engine.AlertFiring,
			resources: []string{"aws/rds/orders-db"}, region: "eu-west-1", account: "111122223333",
			labels: map[string]string{"alarm_name": "orders-db-high-cpu", "alarm_state": "ALARM", "namespace": "AWS/RDS",
				"metric_name": "CPUUtilization", "dim_DBInstanceIdentifier": "orders-db"},
			links: []string{"https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/orders-db-high-cpu"},
		}}},
		{"aws_chatbot_ok.json", []want{{
			app: AppAWSChatbot, title: "orders-db-high-cpu", severity: engine.SeverityInfo, status: engine.AlertResolved,
			region: "eu-west-1", account: "111122223333", labels: map[string]string{"alarm_state": "OK"},
		}}},
		{"aws_amazonq_blocks_alarm.json", []want{{
			app: AppAWSChatbot, title: "sqs-orders-backlog", severity: engine.SeverityError, status: engine.AlertFiring,
			resources: []string{"aws/sqs/orders-events"}, region: "us-east-1", account: "444455556666",
			links: []string{"https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/sqs-orders-backlog"},
		}}},
		{"aws_sns_email_alarm.json", []want{{
			app: AppAWSChatbot, title: "checkout-api-Errors", severity: engine.SeverityError, status: engine.AlertFiring,
			resources: []string{"aws/lambda/checkout-api"}, region: "eu-central-1", account: "123456789012",
			labels: map[string]string{"namespace": "AWS/Lambda", "metric_name": "Errors", "dim_FunctionName": "checkout-api"},
			links:  []string{"https://eu-central-1.console.aws.amazon.com/cloudwatch/deeplink.js?region=eu-central-1#alarmsV2:alarm/checkout-api-Errors"},
		}}},
		{"aws_sns_email_ok.json", []want{{
			app: AppAWSChatbot, title: "checkout-api-Errors", status: engine.AlertResolved,
			resources: []string{"aws/lambda/checkout-api"}, region: "eu-central-1", account: "123456789012",
		}}},
		{"datadog_triggered.json", []want{{
			app: AppDatadog, title: "High CPU on host:web-01", severity: engine.SeverityCritical, status: engine.AlertFiring,
			resources: []string{"host/web-01"}, service: "checkout",
			labels: map[string]string{"monitor_id": "123456", "priority": "P1", "env": "prod", "host": "web-01", "transition": "Triggered"},
			links:  []string{"https://app.datadoghq.com/monitors/123456?group=host%3Aweb-01", "https://app.datadoghq.com/monitors/123456/edit"},
		}}},
		{"datadog_recovered.json", []want{{
			app: AppDatadog, title: "High CPU on host:web-01", status: engine.AlertResolved, resources: []string{"host/web-01"},
			labels: map[string]string{"transition": "Recovered"},
		}}},
		{"datadog_warn_k8s.json", []want{{
			app: AppDatadog, severity: engine.SeverityWarning, status: engine.AlertFiring,
			resources: []string{"k8s/prod-eu/shop/deployment/checkout"},
			labels:    map[string]string{"monitor_id": "987654", "kube_deployment": "checkout", "namespace": "shop"},
		}}},
		{"datadog_event_relay.json", []want{{
			app: AppDatadog, title: "Host Cluster Alert", severity: engine.SeverityError, status: engine.AlertFiring,
			labels: map[string]string{"monitor_id": "18692904", "test": "true"},
			links:  []string{"https://app.datadoghq.com/monitors#18692904?"},
		}}},
		{"pagerduty_triggered.json", []want{{
			app: AppPagerDuty, title: "Checkout API error rate above 5%", severity: engine.SeverityError, status: engine.AlertFiring,
			service: "Checkout API",
			labels:  map[string]string{"incident_id": "Q0RIJJZL24RC6W", "incident_number": "1234", "urgency": "High", "priority": "P2", "assigned": "Jane Doe"},
			links:   []string{"https://acme.pagerduty.com/incidents/Q0RIJJZL24RC6W"},
		}}},
		{"pagerduty_resolved.json", []want{{
			app: AppPagerDuty, title: "Checkout API error rate above 5%", status: engine.AlertResolved, service: "Checkout API",
			labels: map[string]string{"incident_id": "Q0RIJJZL24RC6W", "pd_status": "resolved"},
		}}},
		{"generic_zabbix_problem.json", []want{{
			app: AppGeneric, title: "Problem: /var: Disk space is critically low (used > 90%)",
			severity: engine.SeverityError, status: engine.AlertFiring, resources: []string{"host/db-7.prod"},
		}}},
		{"generic_zabbix_resolved.json", []want{{
			app: AppGeneric, status: engine.AlertResolved, resources: []string{"host/db-7.prod"},
		}}},
		{"generic_nagios_critical.json", []want{{
			app: AppGeneric, title: "PROBLEM Service Alert: web-01/HTTP is CRITICAL", severity: engine.SeverityCritical,
			status: engine.AlertFiring, resources: []string{"host/web-01"},
		}}},
		{"generic_arn_alarm.json", []want{{
			app: AppGeneric, status: engine.AlertFiring, resources: []string{"arn:aws:sqs:eu-west-1:111122223333:orders-events"},
			region: "eu-west-1", account: "111122223333",
		}}},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			m := readMessage(t, tc.file)
			alerts, err := Parse(m)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if len(alerts) != len(tc.want) {
				t.Fatalf("Parse() = %d alerts, want %d", len(alerts), len(tc.want))
			}
			for i, w := range tc.want {
				checkAlert(t, m, i, len(alerts), &alerts[i], w)
			}
		})
	}
}

func checkAlert(t *testing.T, m Message, i, n int, a *engine.Alert, w want) {
	t.Helper()
	wantDelivery := m.Platform + ":" + m.Channel + ":" + m.ID
	if n > 1 {
		wantDelivery += ":" + string(rune('0'+i))
	}
	checks := []struct {
		what      string
		got, want string
	}{
		{"Source", a.Source, engine.SourceChat},
		{"DeliveryID", a.DeliveryID, wantDelivery},
		{"chat_app", a.Labels["chat_app"], w.app},
		{"Title", a.Title, w.title},
		{"Severity", string(a.Severity), string(w.severity)},
		{"Status", string(a.Status), string(w.status)},
		{"Service", a.Service, w.service},
		{"Region", a.Region, w.region},
		{"Account", a.Account, w.account},
	}
	for _, c := range checks {
		if c.want != "" && c.got != c.want {
			t.Errorf("alert %d: %s = %q, want %q", i, c.what, c.got, c.want)
		}
	}
	if !strings.HasPrefix(a.Fingerprint, engine.SourceChat+":"+w.app+":") {
		t.Errorf("alert %d: Fingerprint = %q, want prefix chat:%s:", i, a.Fingerprint, w.app)
	}
	if !a.StartsAt.Equal(m.At) {
		t.Errorf("alert %d: StartsAt = %v, want %v", i, a.StartsAt, m.At)
	}
	if a.Status == engine.AlertResolved && !a.EndsAt.Equal(m.At) {
		t.Errorf("alert %d: EndsAt = %v, want %v", i, a.EndsAt, m.At)
	}
	if w.resources != nil {
		if diff := cmp.Diff(a.Resources, w.resources); diff != "" {
			t.Errorf("alert %d: Resources mismatch (-got +want):\n%s", i, diff)
		}
	}
	for k, v := range w.labels {
		if a.Labels[k] != v {
			t.Errorf("alert %d: Labels[%q] = %q, want %q (labels %v)", i, k, a.Labels[k], v, a.Labels)
		}
	}
	for _, u := range w.links {
		if !slices.ContainsFunc(a.Links, func(l engine.Link) bool { return l.URL == u }) {
			t.Errorf("alert %d: no link %s in %v", i, u, a.Links)
		}
	}
	var raw Message
	if err := json.Unmarshal(a.Raw, &raw); err != nil || raw.ID != m.ID || raw.Channel != m.Channel {
		t.Errorf("alert %d: Raw = %s (%v), want the message", i, a.Raw, err)
	}
}

// A FIRING message and its later RESOLVED one are about the same condition:
// they must share a fingerprint, as that is how Intake resolves it.
func TestFiringAndResolvedShareFingerprints(t *testing.T) {
	pairs := []struct{ firing, resolved string }{
		{"alertmanager_default_firing.json", "alertmanager_default_resolved.json"},
		{"alertmanager_details_firing.json", "alertmanager_details_resolved.json"},
		{"grafana_unified_firing.json", "grafana_unified_resolved.json"},
		{"grafana_legacy_alerting.json", "grafana_legacy_ok.json"},
		{"aws_chatbot_alarm.json", "aws_chatbot_ok.json"},
		{"aws_sns_email_alarm.json", "aws_sns_email_ok.json"},
		{"datadog_triggered.json", "datadog_recovered.json"},
		{"pagerduty_triggered.json", "pagerduty_resolved.json"},
		{"generic_zabbix_problem.json", "generic_zabbix_resolved.json"},
	}
	for _, p := range pairs {
		t.Run(strings.TrimSuffix(p.firing, ".json"), func(t *testing.T) {
			f, r := parseFile(t, p.firing), parseFile(t, p.resolved)
			if len(f) != len(r) {
				t.Fatalf("%d firing alerts, %d resolved", len(f), len(r))
			}
			for i := range f {
				if f[i].Status != engine.AlertFiring || r[i].Status != engine.AlertResolved {
					t.Errorf("alert %d: statuses %s, %s", i, f[i].Status, r[i].Status)
				}
				if f[i].Fingerprint != r[i].Fingerprint {
					t.Errorf("alert %d: fingerprints differ: %s, %s", i, f[i].Fingerprint, r[i].Fingerprint)
				}
				if f[i].DeliveryID == r[i].DeliveryID {
					t.Errorf("alert %d: same delivery id %s for two messages", i, f[i].DeliveryID)
				}
			}
		})
	}

	// Grafana's mixed group resolves web-01 with the same fingerprint as
	// web-01's own firing message.
	mixed := parseFile(t, "grafana_unified_mixed.json")
	firing := parseFile(t, "grafana_unified_firing.json")
	if mixed[1].Fingerprint != firing[0].Fingerprint {
		t.Errorf("mixed group's resolved web-01 = %s, firing web-01 = %s", mixed[1].Fingerprint, firing[0].Fingerprint)
	}
}

// Alerts from one rule about different targets are different conditions.
func TestDifferentTargetsDiffer(t *testing.T) {
	fps := func(name string) []string {
		var out []string
		for _, a := range parseFile(t, name) {
			out = append(out, a.Fingerprint)
		}
		return out
	}
	differ := func(what, a, b string) {
		t.Helper()
		if a == b {
			t.Errorf("%s: same fingerprint %s", what, a)
		}
	}
	am := fps("alertmanager_details_firing.json")
	differ("alertmanager: two pods in one group", am[0], am[1])
	mixed := fps("grafana_unified_mixed.json")
	differ("grafana: web-02 and web-01", mixed[0], mixed[1])
	differ("datadog: web-01 and web-02", fps("datadog_triggered.json")[0], fps("datadog_triggered_other_host.json")[0])
	differ("aws: two alarms", fps("aws_chatbot_alarm.json")[0], fps("aws_amazonq_blocks_alarm.json")[0])

	z := readMessage(t, "generic_zabbix_problem.json")
	z.Text = strings.ReplaceAll(z.Text, "db-7.prod", "db-8.prod")
	other, err := Parse(z)
	if err != nil {
		t.Fatal(err)
	}
	differ("generic: db-7 and db-8", fps("generic_zabbix_problem.json")[0], other[0].Fingerprint)

	// The same alarm in another account is another alarm.
	acct := readMessage(t, "aws_chatbot_alarm.json")
	acct.Attachments[0].Title = strings.ReplaceAll(acct.Attachments[0].Title, "111122223333", "999988887777")
	moved, err := Parse(acct)
	if err != nil {
		t.Fatal(err)
	}
	differ("aws: same alarm name, other account", fps("aws_chatbot_alarm.json")[0], moved[0].Fingerprint)

	// Free text is not identity: a reworded description keeps the fingerprint.
	g := readMessage(t, "grafana_unified_firing.json")
	g.Attachments[0].Text = strings.ReplaceAll(g.Attachments[0].Text, "CPU usage on web-01 is 96.4%", "CPU is very high")
	reworded, err := Parse(g)
	if err != nil {
		t.Fatal(err)
	}
	if reworded[0].Fingerprint != fps("grafana_unified_firing.json")[0] {
		t.Error("grafana: a reworded description changed the fingerprint")
	}
}

func TestNotAlerts(t *testing.T) {
	files, err := filepath.Glob("testdata/not_*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no not_*.json fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			alerts, err := Parse(readMessage(t, filepath.Base(f)))
			if !errors.Is(err, ErrNotAlert) || alerts != nil {
				t.Errorf("Parse() = %d alerts, %v; want ErrNotAlert", len(alerts), err)
			}
		})
	}

	bot := func(author, text string) Message {
		return Message{Platform: PlatformSlack, Channel: "C1", ID: "1.2", Author: author, BotID: "B1", Text: text}
	}
	for _, tc := range []struct {
		name string
		m    Message
	}{
		{"empty", Message{}},
		{"empty bot message", bot("Datadog", "")},
		{"person, no app", Message{Platform: PlatformSlack, Channel: "C1", ID: "1", Author: "jane", Text: "did anyone see the deploy?"}},
		{"person pastes an alert", Message{Author: "jane", Text: "[FIRING:1] HighCPU (web-01)"}},
		{"bot thanks", bot("standup-bot", "Thanks, noted for web-01")},
		{"bot question about an alarm", bot("ops", "ALARM on web-01 again?")},
		{"status word without a target", bot("ops", "CRITICAL: something happened")},
		{"target without a status word", bot("ops", "Disk usage on db-7.prod is 40%")},
		{"datadog digest", bot("Datadog", "Your weekly digest: 12 monitors, 3 triggered last week")},
		{"pagerduty on-call change", bot("PagerDuty", "Jane Doe is now on call for Checkout API")},
		{"grafana pending", Message{Author: "Grafana", BotID: "B", Attachments: []Attachment{{Title: "[Pending] API 5xx rate", Footer: "Grafana v7.5.17"}}}},
		{"aws chatbot without an alarm", bot("AWS Chatbot", "AWS Health Event | us-east-1 | Account: 111122223333\nScheduled maintenance for EC2 instance i-0abc")},
		{"own finding", bot("ops-helper", "🔎 *Finding* (log on `db`): too many clients")},
		{"own finding as rendered for Slack", bot("ops-helper", "🔎 Finding (log on db): too many <clients>")},
		{"own report header", Message{BotID: "B", Blocks: "Root cause and mitigation plan\nFIRING pods on web-01"}},
		{"own status line", bot("ops-helper", "✅ *Done* — Root cause and plan posted below")},
		{"own author", bot("Nightshift", "ALARM on web-01")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alerts, err := Parse(tc.m)
			if !errors.Is(err, ErrNotAlert) || alerts != nil {
				t.Errorf("Parse() = %+v, %v; want ErrNotAlert", alerts, err)
			}
		})
	}
}

func TestMessageFields(t *testing.T) {
	m := readMessage(t, "datadog_triggered.json")

	t.Run("teams platform", func(t *testing.T) {
		tm := m
		tm.Platform, tm.Channel, tm.ID = PlatformTeams, "19:abc@thread.tacv2", "1712000000000"
		a, err := Parse(tm)
		if err != nil {
			t.Fatal(err)
		}
		if a[0].DeliveryID != "teams:19:abc@thread.tacv2:1712000000000" || a[0].Labels["chat_platform"] != "teams" {
			t.Errorf("DeliveryID = %q, labels %v", a[0].DeliveryID, a[0].Labels)
		}
		slack := parseFile(t, "datadog_triggered.json")
		if a[0].Fingerprint != slack[0].Fingerprint {
			t.Error("the platform changed the fingerprint")
		}
	})

	t.Run("no message id: Intake derives the delivery id", func(t *testing.T) {
		nm := m
		nm.ID = ""
		a, err := Parse(nm)
		if err != nil || a[0].DeliveryID != "" {
			t.Errorf("Parse() = %q, %v; want no delivery id", a[0].DeliveryID, err)
		}
	})

	t.Run("zero time", func(t *testing.T) {
		zm := m
		zm.At = time.Time{}
		a, err := Parse(zm)
		if err != nil || !a[0].StartsAt.IsZero() {
			t.Errorf("StartsAt = %v, %v; want zero for Intake to fill", a[0].StartsAt, err)
		}
	})

	t.Run("raw is small", func(t *testing.T) {
		big := m
		big.Text = strings.Repeat("CPU usage is above 90% on web-01. ", 20000)
		big.Blocks = big.Text
		a, err := Parse(big)
		if err != nil {
			t.Fatal(err)
		}
		if len(a[0].Raw) > 4*maxRawText+4096 {
			t.Errorf("Raw is %d bytes", len(a[0].Raw))
		}
		if !json.Valid(a[0].Raw) {
			t.Error("Raw is not JSON")
		}
	})

	t.Run("parse does not modify the message", func(t *testing.T) {
		orig := readMessage(t, "grafana_unified_mixed.json")
		cp := readMessage(t, "grafana_unified_mixed.json")
		if _, err := Parse(cp); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(orig, cp); diff != "" {
			t.Errorf("message changed:\n%s", diff)
		}
	})
}

// The author decides which recogniser is tried first: an Alertmanager-style
// title posted by Grafana is Grafana's.
func TestAuthorPreference(t *testing.T) {
	m := Message{Platform: PlatformSlack, Channel: "C", ID: "1", BotID: "B", Author: "Grafana",
		Attachments: []Attachment{{Title: "[FIRING:1] DiskFull (db-7)"}}}
	a, err := Parse(m)
	if err != nil || a[0].Labels["chat_app"] != AppGrafana {
		t.Fatalf("Parse() = %v, %v; want grafana", a, err)
	}
	m.Author = "alertmanager"
	a, err = Parse(m)
	if err != nil || a[0].Labels["chat_app"] != AppAlertmanager {
		t.Fatalf("Parse() = %v, %v; want alertmanager", a, err)
	}
	// No author: the default template title is Alertmanager's.
	m.Author = ""
	a, err = Parse(m)
	if err != nil || a[0].Labels["chat_app"] != AppAlertmanager {
		t.Fatalf("Parse() = %v, %v; want alertmanager", a, err)
	}
}

func TestCleanSlackMarkup(t *testing.T) {
	p := clean("*Resolved* <https://x.example/i/1?a=1&amp;b=2|#12 DB &amp; cache> <@U123> <!here> <#C1|ops> [doc](https://d.example/x) https://plain.example/p.")
	text, urls := splitMarkers(p.text)
	if want := "*Resolved* #12 DB & cache   ops doc https://plain.example/p."; text != want {
		t.Errorf("text = %q, want %q", text, want)
	}
	wantURLs := []string{"https://x.example/i/1?a=1&b=2", "https://d.example/x", "https://plain.example/p"}
	if diff := cmp.Diff(urls, wantURLs); diff != "" {
		t.Errorf("urls mismatch (-got +want):\n%s", diff)
	}
}

// A huge message costs bounded work and yields at most maxAlerts alerts.
func TestLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("**Firing**\n")
	for i := range 3000 {
		b.WriteString("Value: A=1\nLabels:\n - alertname = Flood\n - instance = host-")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString("\n")
	}
	m := Message{Platform: PlatformSlack, Channel: "C", ID: "1", Author: "Grafana", BotID: "B",
		Attachments: []Attachment{{Title: "[FIRING:3000] Flood", Text: b.String(), Footer: "Grafana v11.2.0"}}}
	alerts, err := Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) == 0 || len(alerts) > maxAlerts {
		t.Errorf("Parse() = %d alerts, want 1..%d", len(alerts), maxAlerts)
	}
	if d := newDoc(&m); len(d.lines) > maxLines {
		t.Errorf("doc kept %d lines", len(d.lines))
	}
}

// Shapes the fixtures do not cover, one message each.
func TestInlineShapes(t *testing.T) {
	msg := func(author, text string, atts ...Attachment) Message {
		return Message{Platform: PlatformSlack, Channel: "C", ID: "1.0", Author: author, BotID: "B",
			Text: text, Attachments: atts, At: time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC)}
	}
	tests := []struct {
		name string
		m    Message
		want want
	}{
		{"chatbot headline only, red", msg("AWS Chatbot", "🚨 CloudWatch Alarm | api-5xx | us-east-2 | Account: 111122223333"),
			want{app: AppAWSChatbot, title: "api-5xx", status: engine.AlertFiring, severity: engine.SeverityError, region: "us-east-2", account: "111122223333"}},
		{"chatbot headline only, green", msg("AWS Chatbot", ":white_check_mark: CloudWatch Alarm | api-5xx | us-east-2 | Account: 111122223333"),
			want{app: AppAWSChatbot, status: engine.AlertResolved, severity: engine.SeverityInfo}},
		{"sns subject, region by display name", msg("AWS Notifications", `ALARM: "disk-full" in US East (N. Virginia)`),
			want{app: AppAWSChatbot, title: "disk-full", status: engine.AlertFiring, region: "us-east-1",
				links: []string{"https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/disk-full"}}},
		{"insufficient data is a warning", msg("AWS Chatbot", "The alarm queue-age changed state to INSUFFICIENT_DATA\n<https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/queue-age|View>"),
			want{app: AppAWSChatbot, title: "queue-age", status: engine.AlertFiring, severity: engine.SeverityWarning, region: "eu-west-1"}},
		{"stated severity beats ALARM's default", msg("AWS Chatbot", "CloudWatch Alarm | CRITICAL-db-down | eu-west-1 | Account: 111122223333\nThe alarm CRITICAL-db-down changed state to ALARM"),
			want{app: AppAWSChatbot, severity: engine.SeverityCritical}},
		{"grafana legacy no data", msg("Grafana", "", Attachment{Title: "[No Data] Queue depth", TitleLink: "https://g.example/d/q?tab=alert&viewPanel=2", Footer: "Grafana v7.5.17"}),
			want{app: AppGrafana, title: "Queue depth", status: engine.AlertFiring, severity: engine.SeverityWarning}},
		{"grafana title only", msg("Grafana", "", Attachment{Title: "[FIRING:3] Infra DiskFull", Footer: "Grafana v11.2.0"}),
			want{app: AppGrafana, title: "Infra DiskFull", status: engine.AlertFiring}},
		{"datadog event form with scope", msg("Datadog", "[Triggered on {host:web-03,env:prod}] Disk almost full\n[[Monitor Status](https://app.datadoghq.com/monitors#555?group=host%3Aweb-03%2Cenv%3Aprod)]"),
			want{app: AppDatadog, title: "Disk almost full", status: engine.AlertFiring, severity: engine.SeverityError,
				resources: []string{"host/web-03"}, labels: map[string]string{"monitor_id": "555", "env": "prod"}}},
		{"datadog no data", msg("Datadog", "No Data: [P3] Heartbeat missing on host:batch-1\n<https://app.datadoghq.com/monitors/77|Monitor Status>"),
			want{app: AppDatadog, status: engine.AlertFiring, severity: engine.SeverityWarning, resources: []string{"host/batch-1"}}},
		{"datadog by link only", msg("", "Recovered: Latency high on service:checkout\n<https://app.datadoghq.eu/monitors/88|Monitor Status>"),
			want{app: AppDatadog, status: engine.AlertResolved, service: "checkout"}},
		{"pagerduty acknowledged is still firing", msg("PagerDuty", "Acknowledged by Sam: <https://acme.pagerduty.com/incidents/PABC123|#99 Queue stuck>"),
			want{app: AppPagerDuty, title: "Queue stuck", status: engine.AlertFiring, labels: map[string]string{"incident_id": "PABC123", "pd_status": "acknowledged"}}},
		{"alertmanager blocks under a custom title", msg("alertmanager", "🔥 Alert: DiskFull\n*Alert:* Disk almost full on db-7\n*Details:*\n • *alertname:* `DiskFull`\n • *instance:* `db-7:9100`"),
			want{app: AppAlertmanager, title: "Disk almost full on db-7", status: engine.AlertFiring, resources: []string{"host/db-7:9100"}}},
		{"generic bracketed resolved", msg("uptime-bot", "[RESOLVED] api-gw-2 is UP again"),
			want{app: AppGeneric, status: engine.AlertResolved, resources: []string{"host/api-gw-2"}}},
		{"generic k8s path and label", msg("kube-watch", "FIRING: OOMKilled in k8s/prod-eu/shop/deployment/checkout (namespace=shop)"),
			want{app: AppGeneric, status: engine.AlertFiring, resources: []string{"k8s/prod-eu/shop/deployment/checkout"}}},
		{"teams connector card", Message{Platform: PlatformTeams, Channel: "19:x@thread.tacv2", ID: "1712", AppID: "28:connector",
			Author: "Prometheus", Attachments: []Attachment{{Title: "[FIRING:1] TargetDown (node-exporter)", Text: "*Alert:* Target down - `warning`\n*Details:*\n • job: node-exporter\n • instance: 10.0.3.7:9100"}}},
			want{app: AppAlertmanager, title: "Target down", severity: engine.SeverityWarning, resources: []string{"host/10.0.3.7:9100"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alerts, err := Parse(tc.m)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if len(alerts) != 1 {
				t.Fatalf("Parse() = %d alerts, want 1", len(alerts))
			}
			checkAlert(t, tc.m, 0, 1, &alerts[0], tc.want)
		})
	}
}
