package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nightshift-ops/nightshift/engine"
)

const testToken = "am-token-7d41c0"

var received = time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC)

func newWebhook(t testing.TB) *Webhook {
	t.Helper()
	w, err := NewWebhook(Config{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func delivery(body []byte, authorization string) engine.Delivery {
	h := http.Header{}
	if authorization != "" {
		h.Set("Authorization", authorization)
	}
	return engine.Delivery{Space: "payments", Header: h, Body: body, Received: received}
}

func authed(body []byte) engine.Delivery { return delivery(body, "Bearer "+testToken) }

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseAuth(t *testing.T) {
	body := readFile(t, "zulip_alert.json")
	tests := []struct {
		name          string
		authorization string
		want          string // "" for success
	}{
		{"valid", "Bearer " + testToken, ""},
		{"scheme is case-insensitive", "bearer " + testToken, ""},
		{"missing", "", "missing Authorization header"},
		{"wrong token", "Bearer not-the-token", "bad bearer token"},
		{"token prefix only", "Bearer " + testToken[:5], "bad bearer token"},
		{"basic auth", "Basic dXNlcjpwYXNz", "Authorization header is not a Bearer token"},
		{"no scheme", testToken, "Authorization header is not a Bearer token"},
		{"empty bearer", "Bearer ", "bad bearer token"},
	}
	w := newWebhook(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alerts, err := w.Parse(context.Background(), delivery(body, tc.authorization))
			if tc.want == "" {
				if err != nil || len(alerts) != 2 {
					t.Fatalf("Parse() = %d alerts, %v; want 2 alerts", len(alerts), err)
				}
				return
			}
			var e *engine.Error
			if !errors.As(err, &e) || e.Code != engine.CodeUnauthorized {
				t.Fatalf("Parse() error = %v, want unauthorized", err)
			}
			if e.Public() != tc.want {
				t.Errorf("Parse() error = %q, want %q", e.Public(), tc.want)
			}
		})
	}
}

// TestParseAuthBeforeBody: a request without credentials learns nothing
// about the body, not even that it is malformed.
func TestParseAuthBeforeBody(t *testing.T) {
	_, err := newWebhook(t).Parse(context.Background(), delivery([]byte("{"), ""))
	if engine.ErrorCode(err) != engine.CodeUnauthorized {
		t.Fatalf("Parse() error = %v, want unauthorized", err)
	}
}

func TestParseZulipAlert(t *testing.T) {
	body := readFile(t, "zulip_alert.json")
	got, err := newWebhook(t).Parse(context.Background(), authed(body))
	if err != nil {
		t.Fatal(err)
	}
	generator := "http://cobalt:9090/graph?g0.expr=avg+by%28host%29+%28sensors_temp_input%7Bfeature%3D~%22core_%5B0-9%5D%2B%22%7D%29+%3E+15&g0.tab=1"
	labels := map[string]string{"alertname": "High CPU Temperature", "host": "andromeda", "severity": "critical"}
	links := []engine.Link{{Text: "Source", URL: generator}, {Text: "Alertmanager", URL: "http://ops1:9093"}}
	starts := time.Date(2020, 2, 6, 0, 17, 58, 432911368, time.UTC)
	want := []engine.Alert{
		{
			Source:      engine.SourceAlertmanager,
			Fingerprint: "alertmanager:a1bc48475b20e73d",
			Title:       "High CPU core temperature",
			Description: "CPU core temperature is 34.75C",
			Severity:    engine.SeverityCritical,
			Status:      engine.AlertFiring,
			Resources:   []string{"host/andromeda"},
			Labels:      labels,
			StartsAt:    starts,
			Links:       links,
		},
		{
			Source:      engine.SourceAlertmanager,
			Fingerprint: "alertmanager:c2ea85182f28cbd9",
			Title:       "High CPU core temperature",
			Description: "CPU core temperature is 17.625C",
			Severity:    engine.SeverityCritical,
			Status:      engine.AlertFiring,
			Resources:   []string{"host/andromeda"},
			Labels:      labels,
			StartsAt:    starts,
			Links:       links,
		},
	}
	if diff := cmp.Diff(got, want, cmpopts.IgnoreFields(engine.Alert{}, "Raw")); diff != "" {
		t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
	}
	checkRaw(t, body, got)
}

// brief is the part of an alert every recorded payload is checked on.
type brief struct {
	Title       string
	Description string
	Status      engine.AlertStatus
	Severity    engine.Severity
	Service     string
	Resources   []string
	Fingerprint string
	StartsAt    time.Time
	Links       int
}

func briefOf(a engine.Alert) brief {
	return brief{a.Title, a.Description, a.Status, a.Severity, a.Service, a.Resources, a.Fingerprint, a.StartsAt, len(a.Links)}
}

func TestParseRecordedPayloads(t *testing.T) {
	msteamsStart := time.Date(2018, 3, 7, 6, 33, 21, 873077559, time.FixedZone("", -5*3600))
	// Payloads without per-alert fingerprints (older Alertmanager, hand
	// made) get a structured one: rule plus target, never the text.
	structured := func(rule string, resources []string, labels map[string]string) string {
		return engine.StructuredFingerprint(engine.SourceAlertmanager, rule, resources, labels)
	}
	memLabels := map[string]string{"monitor": "master", "severity": "warning"}
	memory := func(n int) brief {
		name, desc := "high_memory_load", "10.80.40.11 reported high memory usage with 23.28%."
		if n > 1 {
			name, desc = fmt.Sprintf("high_memory_load%d", n), "10.80.40.12 reported high memory usage with 61.54%."
		}
		return brief{
			Title: "Server High Memory usage", Description: desc, Status: engine.AlertFiring,
			Severity: engine.SeverityWarning, Fingerprint: structured(name, nil, memLabels),
			StartsAt: msteamsStart, Links: 1, // externalURL
		}
	}
	instanceAlert := func(links int) brief {
		return brief{
			Title:       "Server High Memory usage",
			Description: "10.80.40.11 reported high memory usage with 23.28%.",
			Status:      engine.AlertFiring, Severity: engine.SeverityWarning,
			Resources: []string{"host/instance-with-hyphen_and_underscore"},
			Fingerprint: structured("high_memory_load", []string{"host/instance-with-hyphen_and_underscore"}, map[string]string{
				"instance": "instance-with-hyphen_and_underscore", "job": "docker_nodes", "monitor": "master", "severity": "warning",
			}),
			StartsAt: msteamsStart, Links: links,
		}
	}
	card := func(fp string) brief {
		return brief{
			Title: "Ratio(Max(Working Set, RSS) / Reservation) [5m Avg] < 40 %",
			Description: "Lorem ipsum dolor sit amet, consetetur sadipscing elitr, sed diam nonumy eirmod tempor invidunt ut " +
				"labore et dolore magna aliquyam erat, sed diam voluptua. At vero eos et accusam et justo duo dolores et ea.\\n",
			Status: engine.AlertFiring, Severity: engine.SeverityInfo,
			Fingerprint: "alertmanager:" + fp,
			StartsAt:    time.Date(2020, 10, 11, 14, 34, 11, 279383004, time.UTC),
			Links:       2, // generatorURL, externalURL
		}
	}
	var twelve []brief
	for n := 1; n <= 12; n++ {
		twelve = append(twelve, memory(n))
	}
	tests := []struct {
		file string
		want []brief
	}{
		{"msteams_prom_post_request.json", []brief{instanceAlert(2)}}, // runbook (common annotation), externalURL
		{"msteams_prom_post_request_without_common_summary.json", []brief{instanceAlert(1)}},
		{"msteams_prom_post_request_2_alerts.json", []brief{memory(1), memory(2)}},
		{"msteams_prom_post_request_12_alerts.json", twelve},
		{"msteams_card-grafana-inspired-payload.json", []brief{card("ff6a7a0f5f1c1309"), card("554664fa753a2b45"), card("911c76f0240f015b")}},
	}
	w := newWebhook(t)
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := readFile(t, tc.file)
			got, err := w.Parse(context.Background(), authed(body))
			if err != nil {
				t.Fatal(err)
			}
			var briefs []brief
			for _, a := range got {
				briefs = append(briefs, briefOf(a))
				if a.Source != engine.SourceAlertmanager || a.DeliveryID != "" || a.ID != "" || a.Space != "" {
					t.Errorf("Source, DeliveryID, ID, Space = %q, %q, %q, %q", a.Source, a.DeliveryID, a.ID, a.Space)
				}
			}
			if diff := cmp.Diff(briefs, tc.want, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
			}
			checkRaw(t, body, got)
		})
	}
}

// TestParseLargeGroup: 19 alerts of one rule about different servers stay
// 19 distinct alerts, each with its own service and fingerprint.
func TestParseLargeGroup(t *testing.T) {
	body := readFile(t, "msteams_large_prom_post_request.json")
	var in struct {
		Alerts []struct {
			Labels   map[string]string `json:"labels"`
			StartsAt time.Time         `json:"startsAt"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatal(err)
	}
	got, err := newWebhook(t).Parse(context.Background(), authed(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 19 || len(in.Alerts) != 19 {
		t.Fatalf("Parse() = %d alerts, want 19", len(got))
	}
	seen := map[string]bool{}
	for i, a := range got {
		l := in.Alerts[i].Labels
		want := brief{
			Title:       fmt.Sprintf("Server is down. `%s` - `%s`", l["alias"], l["env"]),
			Description: fmt.Sprintf("Server `%s` in `%s`, Service/Job=`data_collector` is down for more than 5 minute.", l["alias"], l["env"]),
			Status:      engine.AlertFiring,
			Severity:    engine.SeverityCritical, // severity "page"
			Service:     l["service"],
			Fingerprint: a.Fingerprint,
			StartsAt:    in.Alerts[i].StartsAt,
			Links:       1,
		}
		if diff := cmp.Diff(briefOf(a), want, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("alert %d mismatch (-got +want):\n%s", i, diff)
		}
		if !strings.HasPrefix(a.Fingerprint, "alertmanager:") || seen[a.Fingerprint] {
			t.Errorf("alert %d: fingerprint %q empty or repeated", i, a.Fingerprint)
		}
		seen[a.Fingerprint] = true
	}
	checkRaw(t, body, got)
}

// checkRaw: each alert's Raw is its own element of the payload, as sent.
func checkRaw(t *testing.T, body []byte, got []engine.Alert) {
	t.Helper()
	var p struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	for i, a := range got {
		if !bytes.Equal(a.Raw, p.Alerts[i]) || !bytes.Contains(body, a.Raw) {
			t.Errorf("alert %d: Raw is not its element of the payload", i)
		}
	}
}

// TestParseMappings covers the mapping rules on small hand-made payloads.
func TestParseMappings(t *testing.T) {
	tests := []struct {
		name string
		body string
		want engine.Alert
	}{
		{
			name: "resolved kubernetes workload",
			body: `{"version":"4","status":"resolved","externalURL":"https://am.example","alerts":[{"status":"resolved",
				"labels":{"alertname":"KubePodCrashLooping","namespace":"shop","deployment":"checkout","pod":"checkout-7d9f-x2","cluster":"prod-eu","severity":"warning","app_kubernetes_io_name":"checkout","component":"api","region":"eu-west-1","aws_account_id":"123456789012"},
				"annotations":{"message":"Pod is crash looping.","runbook_url":"https://runbooks.example/KubePodCrashLooping"},
				"startsAt":"2026-03-31T22:00:00Z","endsAt":"2026-03-31T22:30:00Z","generatorURL":"https://prom.example/graph","fingerprint":"0a1b2c3d4e5f6a7b"}]}`,
			want: engine.Alert{
				Source: engine.SourceAlertmanager, Fingerprint: "alertmanager:0a1b2c3d4e5f6a7b",
				Title:       "KubePodCrashLooping on k8s/prod-eu/shop/deployment/checkout",
				Description: "Pod is crash looping.",
				Severity:    engine.SeverityWarning, Status: engine.AlertResolved,
				Resources: []string{"k8s/prod-eu/shop/deployment/checkout", "k8s/prod-eu/shop/pod/checkout-7d9f-x2"},
				Service:   "checkout", Component: "api", Account: "123456789012", Region: "eu-west-1",
				Labels: map[string]string{
					"alertname": "KubePodCrashLooping", "namespace": "shop", "deployment": "checkout", "pod": "checkout-7d9f-x2",
					"cluster": "prod-eu", "severity": "warning", "app_kubernetes_io_name": "checkout", "component": "api",
					"region": "eu-west-1", "aws_account_id": "123456789012",
				},
				StartsAt: time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC),
				EndsAt:   time.Date(2026, 3, 31, 22, 30, 0, 0, time.UTC),
				Links: []engine.Link{
					{Text: "Source", URL: "https://prom.example/graph"},
					{Text: "Runbook", URL: "https://runbooks.example/KubePodCrashLooping"},
					{Text: "Alertmanager", URL: "https://am.example"},
				},
			},
		},
		{
			name: "explicit resource label wins; no start time",
			body: `{"alerts":[{"status":"firing","labels":{"alertname":"RDSCPU","resource":"arn:aws:rds:us-east-1:111122223333:db:orders","instance":"10.0.0.5:9100","app":"orders"},"annotations":{"dashboard_url":"javascript:alert(1)"}}]}`,
			want: engine.Alert{
				Source: engine.SourceAlertmanager,
				Fingerprint: engine.StructuredFingerprint(engine.SourceAlertmanager, "RDSCPU",
					[]string{"arn:aws:rds:us-east-1:111122223333:db:orders"},
					map[string]string{"resource": "arn:aws:rds:us-east-1:111122223333:db:orders", "instance": "10.0.0.5:9100", "app": "orders"}),
				Title:     "RDSCPU on arn:aws:rds:us-east-1:111122223333:db:orders",
				Severity:  engine.SeverityUnknown,
				Status:    engine.AlertFiring,
				Resources: []string{"arn:aws:rds:us-east-1:111122223333:db:orders"},
				Service:   "orders", Account: "111122223333", Region: "us-east-1",
				Labels:   map[string]string{"alertname": "RDSCPU", "resource": "arn:aws:rds:us-east-1:111122223333:db:orders", "instance": "10.0.0.5:9100", "app": "orders"},
				StartsAt: received, // none given
			},
		},
		{
			name: "no status anywhere, ended: resolved",
			body: `{"alerts":[{"labels":{"alertname":"Disk"},"startsAt":"2026-03-31T20:00:00Z","endsAt":"2026-03-31T21:00:00Z"}]}`,
			want: engine.Alert{
				Source:      engine.SourceAlertmanager,
				Fingerprint: engine.StructuredFingerprint(engine.SourceAlertmanager, "Disk", nil, map[string]string{}),
				Title:       "Disk", Severity: engine.SeverityUnknown, Status: engine.AlertResolved,
				Labels:   map[string]string{"alertname": "Disk"},
				StartsAt: time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC),
				EndsAt:   time.Date(2026, 3, 31, 21, 0, 0, 0, time.UTC),
			},
		},
		{
			name: "nothing to name it by",
			body: `{"alerts":[{"status":"firing"}]}`,
			want: engine.Alert{
				Source:      engine.SourceAlertmanager,
				Fingerprint: engine.StructuredFingerprint(engine.SourceAlertmanager, "", nil, nil),
				Title:       "Alertmanager alert", Severity: engine.SeverityUnknown, Status: engine.AlertFiring,
				StartsAt: received,
			},
		},
	}
	w := newWebhook(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.Parse(context.Background(), authed([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, []engine.Alert{tc.want}, cmpopts.IgnoreFields(engine.Alert{}, "Raw"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// TestFingerprintStableAcrossResolve: firing and resolved notifications of
// one alert share a fingerprint even when the sender gives none.
func TestFingerprintStableAcrossResolve(t *testing.T) {
	firing := `{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","instance":"h1:9100"},"annotations":{"summary":"CPU at 91%"},"startsAt":"2026-03-31T20:00:00Z"}]}`
	resolved := `{"status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"A","instance":"h1:9100"},"annotations":{"summary":"CPU at 42%"},"startsAt":"2026-03-31T20:00:00Z","endsAt":"2026-03-31T20:10:00Z"}]}`
	other := `{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","instance":"h2:9100"},"annotations":{"summary":"CPU at 91%"}}]}`
	w := newWebhook(t)
	fp := func(body string) string {
		got, err := w.Parse(context.Background(), authed([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		return got[0].Fingerprint
	}
	if fp(firing) != fp(resolved) {
		t.Error("firing and resolved fingerprints differ")
	}
	if fp(firing) == fp(other) {
		t.Error("alerts about different instances share a fingerprint")
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantField string
	}{
		{"empty", "", "body"},
		{"not JSON", `{"alerts":[`, "body"},
		{"not an object", `[{"status":"firing"}]`, "body"},
		{"no alerts", `{"status":"firing"}`, "alerts"},
		{"empty alerts", `{"alerts":[]}`, "alerts"},
		{"null alerts", `{"alerts":null}`, "alerts"},
		{"alerts not a list", `{"alerts":{"status":"firing"}}`, "alerts"},
		{"alert not an object", `{"alerts":[{"status":"firing"},"x"]}`, "alerts[1]"},
		{"null alert", `{"alerts":[null]}`, "alerts[0]"},
		{"bad startsAt", `{"alerts":[{"status":"firing"},{"startsAt":"yesterday"}]}`, "alerts[1].startsAt"},
		{"startsAt a number", `{"alerts":[{"startsAt":1700000000}]}`, "alerts[0].startsAt"},
		{"bad endsAt", `{"alerts":[{"endsAt":"2026-02-30T00:00:00Z"}]}`, "alerts[0].endsAt"},
		{"label not a string", `{"alerts":[{"labels":{"severity":1}}]}`, "alerts[0].labels"},
		{"labels not an object", `{"alerts":[{"labels":["a"]}]}`, "alerts[0].labels"},
		{"unknown alert status", `{"alerts":[{"status":"pending"}]}`, "alerts[0].status"},
		{"unknown group status", `{"status":"ok","alerts":[{"status":"firing"}]}`, "status"},
		{"commonLabels not an object", `{"commonLabels":"x","alerts":[{}]}`, "commonLabels"},
		{"truncatedAlerts not a number", `{"truncatedAlerts":"3","alerts":[{}]}`, "truncatedAlerts"},
	}
	w := newWebhook(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.Parse(context.Background(), authed([]byte(tc.body)))
			var e *engine.Error
			if !errors.As(err, &e) || e.Code != engine.CodeInvalid {
				t.Fatalf("Parse() = %d alerts, %v; want an invalid error", len(got), err)
			}
			if e.Field != tc.wantField {
				t.Errorf("Field = %q, want %q (error %v)", e.Field, tc.wantField, err)
			}
		})
	}
}

func TestNoTokenInErrors(t *testing.T) {
	w := newWebhook(t)
	deliveries := []engine.Delivery{
		delivery([]byte(`{}`), ""),
		delivery([]byte(`{}`), "Bearer "+testToken+"x"),
		delivery([]byte(`{}`), "Bearer "+strings.ToUpper(testToken)),
		delivery([]byte(`{}`), "Token "+testToken),
		authed([]byte(`{"alerts":[{"startsAt":"` + testToken + `"}]}`)),
		authed([]byte(`{"alerts":[{"status":"` + testToken + `"}]}`)),
		authed([]byte(`{"` + testToken + `":`)),
	}
	for i, d := range deliveries {
		_, err := w.Parse(context.Background(), d)
		var e *engine.Error
		if !errors.As(err, &e) {
			t.Fatalf("delivery %d: error %v is not an *engine.Error", i, err)
		}
		for _, s := range []string{err.Error(), e.Public()} {
			if strings.Contains(s, testToken) {
				t.Errorf("delivery %d: error %q contains the token", i, s)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Token: "t0k3n"}, ""},
		{Config{}, "token: required"},
		{Config{Token: "t0k3n\n"}, "token: has leading or trailing white space"},
	}
	for _, tc := range tests {
		got := ""
		if err := tc.cfg.Validate(); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Validate(%v) = %q, want %q", tc.cfg, got, tc.want)
		}
		if _, err := NewWebhook(tc.cfg); (err == nil) != (tc.want == "") {
			t.Errorf("NewWebhook(%v) error = %v", tc.cfg, err)
		}
	}
}

func TestConfigRedactsToken(t *testing.T) {
	cfg := Config{Token: "do-not-print-me"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "alertmanager", cfg)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), logged.String()} {
		if strings.Contains(s, cfg.Token) || !strings.Contains(s, "<secret>") {
			t.Errorf("%q: token shown, or not said to be set", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			f.Add(readFile(f, e.Name()))
		}
	}
	f.Add([]byte(`{"alerts":[{"labels":{"namespace":"a","pod":"b","resource":""},"startsAt":"0001-01-01T00:00:00Z"}]}`))
	w := newWebhook(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := w.Parse(context.Background(), authed(body))
		if err != nil {
			if engine.ErrorCode(err) != engine.CodeInvalid || alerts != nil {
				t.Fatalf("Parse() = %v, %v; want no alerts and an invalid error", alerts, err)
			}
			return
		}
		if len(alerts) == 0 {
			t.Fatal("no alerts and no error")
		}
		for _, a := range alerts {
			if a.Fingerprint == "" || a.Title == "" || a.StartsAt.IsZero() || len(a.Raw) == 0 {
				t.Fatalf("incomplete alert: %+v", a)
			}
			if a.Status != engine.AlertFiring && a.Status != engine.AlertResolved {
				t.Fatalf("status %q", a.Status)
			}
		}
	})
}
