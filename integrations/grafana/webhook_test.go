package grafana

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v3"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

const (
	testToken  = "grafana-token-5be2"
	testSecret = "grafana-hmac-secret"
	tsHeader   = "X-Grafana-Alerting-Signature-Timestamp"
)

var received = time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC)

func newWebhook(t testing.TB, cfg Config) *Webhook {
	t.Helper()
	w, err := NewWebhook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(secret string, msg []byte) string {
	return hex.EncodeToString(hook.HMACSHA256([]byte(secret), msg))
}

// headers builds canonicalised request headers from name/value pairs.
func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// TestSignatureKnownAnswer pins the signed string to values computed
// outside Go (Python's hmac module), so that a mistake shared by the
// verifier and the test's own signer cannot pass unnoticed.
func TestSignatureKnownAnswer(t *testing.T) {
	body := readFile(t, "zulip_alert_values_v11.json")
	const (
		bodyOnly = "8a64b04ce6b999f9d63c7efdefe84451a9fd5bac94fc3e13ba36d26092140e14"
		withTS   = "33e30311f8ec19e82395fe7d0da8cfa974378997e14b7acb572de23085c845ac" // "1709258940:" + body
	)
	at := time.Unix(1709258940, 0).Add(30 * time.Second)
	tests := []struct {
		name string
		cfg  Config
		h    http.Header
	}{
		{"body only", Config{Secret: testSecret}, headers(DefaultSignatureHeader, bodyOnly)},
		{"upper-case hex", Config{Secret: testSecret}, headers(DefaultSignatureHeader, strings.ToUpper(bodyOnly))},
		{"timestamp", Config{Secret: testSecret, TimestampHeader: tsHeader}, headers(DefaultSignatureHeader, withTS, tsHeader, "1709258940")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newWebhook(t, tc.cfg).Parse(context.Background(), engine.Delivery{Header: tc.h, Body: body, Received: at})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseAuth(t *testing.T) {
	body := readFile(t, "zulip_alert_values_v11.json")
	good := sign(testSecret, body)
	now := strconv.FormatInt(received.Unix(), 10)
	goodTS := sign(testSecret, []byte(now+":"+string(body)))
	old := strconv.FormatInt(received.Add(-6*time.Minute).Unix(), 10)
	oldTS := sign(testSecret, []byte(old+":"+string(body)))
	future := strconv.FormatInt(received.Add(6*time.Minute).Unix(), 10)
	futureTS := sign(testSecret, []byte(future+":"+string(body)))
	bearer := "Bearer " + testToken

	tokenOnly := Config{Token: testToken}
	secretOnly := Config{Secret: testSecret}
	both := Config{Token: testToken, Secret: testSecret}
	custom := Config{Secret: testSecret, SignatureHeader: "X-Hub-Sig"}
	stamped := Config{Secret: testSecret, TimestampHeader: tsHeader}

	tests := []struct {
		name string
		cfg  Config
		h    http.Header
		body []byte
		want string // "" for success
	}{
		{"token: valid", tokenOnly, headers("Authorization", bearer), body, ""},
		{"token: missing", tokenOnly, headers(), body, "missing Authorization header"},
		{"token: wrong", tokenOnly, headers("Authorization", "Bearer nope"), body, "bad bearer token"},
		{"token: basic auth", tokenOnly, headers("Authorization", "Basic Zm9vOmJhcg=="), body, "Authorization header is not a Bearer token"},
		{"token: a signature is not a token", tokenOnly, headers(DefaultSignatureHeader, good), body, "missing Authorization header"},

		{"secret: valid", secretOnly, headers(DefaultSignatureHeader, good), body, ""},
		{"secret: valid under the legacy header name", secretOnly, headers(legacySignatureHeader, good), body, ""},
		{"secret: missing", secretOnly, headers(), body, "missing X-Grafana-Alerting-Signature header"},
		{"secret: token is not a signature", secretOnly, headers("Authorization", bearer), body, "missing X-Grafana-Alerting-Signature header"},
		{"secret: not hex", secretOnly, headers(DefaultSignatureHeader, "sha256="+good), body, "malformed X-Grafana-Alerting-Signature header"},
		{"secret: short", secretOnly, headers(DefaultSignatureHeader, good[:40]), body, "malformed X-Grafana-Alerting-Signature header"},
		{"secret: wrong secret", secretOnly, headers(DefaultSignatureHeader, sign("other", body)), body, "bad signature"},
		{"secret: body altered", secretOnly, headers(DefaultSignatureHeader, good), bytes.Replace(body, []byte("firing"), []byte("resolved"), 1), "bad signature"},

		{"custom header: valid", custom, headers("X-Hub-Sig", good), body, ""},
		{"custom header: default name not accepted", custom, headers(DefaultSignatureHeader, good), body, "missing X-Hub-Sig header"},

		{"timestamp: valid", stamped, headers(DefaultSignatureHeader, goodTS, tsHeader, now), body, ""},
		{"timestamp: missing", stamped, headers(DefaultSignatureHeader, goodTS), body, "missing " + tsHeader + " header"},
		{"timestamp: not a number", stamped, headers(DefaultSignatureHeader, goodTS, tsHeader, "2026-04-01T03:00:00Z"), body, "malformed " + tsHeader + " header"},
		{"timestamp: too old", stamped, headers(DefaultSignatureHeader, oldTS, tsHeader, old), body, "stale " + tsHeader + " header"},
		{"timestamp: too far ahead", stamped, headers(DefaultSignatureHeader, futureTS, tsHeader, future), body, "stale " + tsHeader + " header"},
		{"timestamp: replayed with a fresh timestamp", stamped, headers(DefaultSignatureHeader, oldTS, tsHeader, now), body, "bad signature"},
		{"timestamp: signature of the body alone", stamped, headers(DefaultSignatureHeader, good, tsHeader, now), body, "bad signature"},

		{"both: valid", both, headers("Authorization", bearer, DefaultSignatureHeader, good), body, ""},
		{"both: token only", both, headers("Authorization", bearer), body, "missing X-Grafana-Alerting-Signature header"},
		{"both: signature only", both, headers(DefaultSignatureHeader, good), body, "missing Authorization header"},
		{"both: bad token, good signature", both, headers("Authorization", "Bearer x", DefaultSignatureHeader, good), body, "bad bearer token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alerts, err := newWebhook(t, tc.cfg).Parse(context.Background(), engine.Delivery{Header: tc.h, Body: tc.body, Received: received})
			if tc.want == "" {
				if err != nil || len(alerts) != 1 {
					t.Fatalf("Parse() = %d alerts, %v; want 1 alert", len(alerts), err)
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

func authed(body []byte) engine.Delivery {
	return engine.Delivery{Header: headers("Authorization", "Bearer "+testToken), Body: body, Received: received}
}

func TestParseRecordedPayloads(t *testing.T) {
	tests := []struct {
		file string
		want []engine.Alert
	}{
		{
			file: "zulip_alert_values_v11.json",
			want: []engine.Alert{{
				Source:      engine.SourceGrafana,
				Fingerprint: "grafana:e6349a25f5ef0e9e",
				Title:       "High memory usage",
				Description: "Value: [ var='A' labels={instance=node_exporter:9100, job=node} value=2.473545728e+09 ], " +
					"[ var='B' labels={instance=node_exporter:9100, job=node} value=0 ], [ var='C' labels={} value=1 ], [ var='minute' labels={} value=9 ]",
				Severity: engine.SeverityUnknown,
				Status:   engine.AlertFiring,
				Labels:   map[string]string{"alertname": "Memory (copy)", "debug": "true", "grafana_folder": "device"},
				StartsAt: time.Date(2024, 3, 1, 2, 9, 0, 0, time.UTC),
				Links: []engine.Link{
					{Text: "Alert rule", URL: "https://play.grafana.org/alerting/grafana/dd2f0260-3cfc-4c65-a4c4-f3f632c551f4/view?orgId=1"},
					{Text: "Dashboard", URL: "https://play.grafana.org/d/ece9fb32-7f71-4be9-bd94-2f23608ae5b9?orgId=1"},
					{Text: "Panel", URL: "https://play.grafana.org/d/ece9fb32-7f71-4be9-bd94-2f23608ae5b9?orgId=1&viewPanel=2"},
					{Text: "Silence", URL: "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DMemory+%28copy%29&matcher=debug%3Dtrue&matcher=grafana_folder%3Ddevice&orgId=1"},
					{Text: "Image", URL: "https://grafana.com/assets/img/blog/mixed_styles.png"},
				},
			}},
		},
		{
			file: "zulip_alert-9-resolved.json",
			want: []engine.Alert{{
				Source:      engine.SourceGrafana,
				Fingerprint: "grafana:d8a21484c9c25a60",
				Title:       "This is a summary field, failure on <no value>",
				Description: "This is a description\n\nValue: [ var='B0' metric='Value' labels={__name__=rabbitmq_queues, deploy=prod, instance=otherhost.example.com, job=rabbitmq} value=24 ]",
				Severity:    engine.SeverityUnknown,
				Status:      engine.AlertResolved,
				Labels:      map[string]string{"alertname": "Test alert", "test": "true"},
				StartsAt:    time.Date(2022, 6, 17, 0, 41, 0, 782137894, time.UTC),
				EndsAt:      time.Date(2022, 6, 17, 0, 51, 24, 67337833, time.UTC),
				Links: []engine.Link{
					{Text: "Alert rule", URL: "https://grafana.example.com/alerting/grafana/zTjxv_C7k/view"},
					{Text: "Runbook", URL: "https://example.com/"},
					{Text: "Silence", URL: "https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DTest+alert&matcher=test%3Dtrue"},
				},
			}},
		},
	}
	w := newWebhook(t, Config{Token: testToken})
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := readFile(t, tc.file)
			got, err := w.Parse(context.Background(), authed(body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want, cmpopts.IgnoreFields(engine.Alert{}, "Raw"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
			}
			checkRaw(t, body, got)
		})
	}
}

func checkRaw(t *testing.T, body []byte, got []engine.Alert) {
	t.Helper()
	var p struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	for i, a := range got {
		if !bytes.Equal(a.Raw, p.Alerts[i]) {
			t.Errorf("alert %d: Raw is not its element of the payload", i)
		}
	}
}

// TestParseMappings covers the mapping rules on small hand-made payloads in
// the documented Grafana shape (several alerts, legacy state, no status).
func TestParseMappings(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []engine.Alert
	}{
		{
			name: "two rules, kubernetes and host",
			body: `{"receiver":"nightshift","status":"firing","orgId":1,"state":"alerting","title":"[FIRING:2]","alerts":[
				{"status":"firing","labels":{"alertname":"High memory","namespace":"shop","statefulset":"redis","severity":"critical","service":"cache","topology_kubernetes_io_region":"eu-central-1"},
				 "annotations":{"summary":"Redis memory above 90%","runbook_url":"https://runbooks.example/redis"},"startsAt":"2026-03-31T23:50:00+02:00","endsAt":"0001-01-01T00:00:00Z","fingerprint":"aa11","values":{"B":91.2}},
				{"status":"firing","labels":{"alertname":"High CPU","instance":"node-3:9100","severity":"warning"},"annotations":{},"startsAt":"2026-03-31T21:55:00Z","values":null}]}`,
			want: []engine.Alert{
				{
					Source: engine.SourceGrafana, Fingerprint: "grafana:aa11",
					Title: "Redis memory above 90%", Severity: engine.SeverityCritical, Status: engine.AlertFiring,
					Resources: []string{"k8s/shop/statefulset/redis"}, Service: "cache", Region: "eu-central-1",
					Labels: map[string]string{
						"alertname": "High memory", "namespace": "shop", "statefulset": "redis", "severity": "critical",
						"service": "cache", "topology_kubernetes_io_region": "eu-central-1",
					},
					StartsAt: time.Date(2026, 3, 31, 21, 50, 0, 0, time.UTC),
					Links:    []engine.Link{{Text: "Runbook", URL: "https://runbooks.example/redis"}},
				},
				{
					Source: engine.SourceGrafana,
					Fingerprint: engine.StructuredFingerprint(engine.SourceGrafana, "High CPU", []string{"host/node-3:9100"},
						map[string]string{"instance": "node-3:9100", "severity": "warning"}),
					Title: "High CPU on host/node-3:9100", Severity: engine.SeverityWarning, Status: engine.AlertFiring,
					Resources: []string{"host/node-3:9100"},
					Labels:    map[string]string{"alertname": "High CPU", "instance": "node-3:9100", "severity": "warning"},
					StartsAt:  time.Date(2026, 3, 31, 21, 55, 0, 0, time.UTC),
				},
			},
		},
		{
			name: "legacy state ok, no status: resolved at arrival",
			body: `{"state":"ok","title":"[RESOLVED] Disk","alerts":[{"labels":{},"annotations":{}}]}`,
			want: []engine.Alert{{
				Source:      engine.SourceGrafana,
				Fingerprint: engine.StructuredFingerprint(engine.SourceGrafana, "", nil, nil),
				Title:       "[RESOLVED] Disk", Severity: engine.SeverityUnknown, Status: engine.AlertResolved,
				StartsAt: received, EndsAt: received,
			}},
		},
	}
	w := newWebhook(t, Config{Token: testToken})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.Parse(context.Background(), authed([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want, cmpopts.IgnoreFields(engine.Alert{}, "Raw"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantField string
	}{
		{"empty", " ", "body"},
		{"not JSON", `{"alerts":`, "body"},
		{"not an object", `"firing"`, "body"},
		{"no alerts", `{"status":"firing","state":"alerting"}`, "alerts"},
		{"empty alerts", `{"alerts":[]}`, "alerts"},
		{"alert not an object", `{"alerts":[1]}`, "alerts[0]"},
		{"bad startsAt", `{"alerts":[{},{},{"startsAt":"2024-03-01 02:09:00"}]}`, "alerts[2].startsAt"},
		{"bad endsAt", `{"alerts":[{"endsAt":"never"}]}`, "alerts[0].endsAt"},
		{"annotation not a string", `{"alerts":[{"annotations":{"summary":["x"]}}]}`, "alerts[0].annotations"},
		{"dashboardURL not a string", `{"alerts":[{"dashboardURL":1}]}`, "alerts[0].dashboardURL"},
		{"unknown alert status", `{"alerts":[{"status":"alerting"}]}`, "alerts[0].status"},
		{"title not a string", `{"title":1,"alerts":[{}]}`, "title"},
	}
	w := newWebhook(t, Config{Token: testToken})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.Parse(context.Background(), authed([]byte(tc.body)))
			var e *engine.Error
			if !errors.As(err, &e) || e.Code != engine.CodeInvalid {
				t.Fatalf("Parse() error = %v, want an invalid error", err)
			}
			if e.Field != tc.wantField {
				t.Errorf("Field = %q, want %q (error %v)", e.Field, tc.wantField, err)
			}
		})
	}
}

func TestNoCredentialInErrors(t *testing.T) {
	body := []byte(`{"alerts":[{"startsAt":"` + testSecret + testToken + `"}]}`)
	w := newWebhook(t, Config{Token: testToken, Secret: testSecret, TimestampHeader: tsHeader})
	now := strconv.FormatInt(received.Unix(), 10)
	good := sign(testSecret, []byte(now+":"+string(body)))
	deliveries := []http.Header{
		headers(),
		headers("Authorization", "Bearer "+testToken+testSecret),
		headers("Authorization", "Bearer "+testToken),
		headers("Authorization", "Bearer "+testToken, DefaultSignatureHeader, testSecret),
		headers("Authorization", "Bearer "+testToken, DefaultSignatureHeader, sign(testToken, body), tsHeader, now),
		headers("Authorization", "Bearer "+testToken, DefaultSignatureHeader, good, tsHeader, testSecret),
		headers("Authorization", "Bearer "+testToken, DefaultSignatureHeader, good, tsHeader, now), // reaches the body
	}
	for i, h := range deliveries {
		_, err := w.Parse(context.Background(), engine.Delivery{Header: h, Body: body, Received: received})
		var e *engine.Error
		if !errors.As(err, &e) {
			t.Fatalf("delivery %d: error %v is not an *engine.Error", i, err)
		}
		for _, s := range []string{err.Error(), e.Public()} {
			if strings.Contains(s, testSecret) || strings.Contains(s, testToken) {
				t.Errorf("delivery %d: error %q contains a credential", i, s)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"token", Config{Token: "t"}, nil},
		{"secret with headers", Config{Secret: "s", SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", MaxSkew: time.Minute}, nil},
		{"nothing", Config{}, []string{"token, secret: at least one is required"}},
		{"everything wrong", Config{Token: " t", SignatureHeader: "X Sig", TimestampHeader: "X-Ts:", MaxSkew: -time.Second}, []string{
			"token: has leading or trailing white space",
			"signature_header: set without secret",
			`signature_header: "X Sig" is not a valid header name`,
			"timestamp_header: set without secret",
			`timestamp_header: "X-Ts:" is not a valid header name`,
			"max_skew: must not be negative",
		}},
		{"secret white space, skew without timestamp", Config{Secret: "s\n", MaxSkew: time.Minute}, []string{
			"secret: has leading or trailing white space",
			"max_skew: set without timestamp_header",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			if err := tc.cfg.Validate(); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("Validate() mismatch (-got +want):\n%s", diff)
			}
			if _, err := NewWebhook(tc.cfg); (err == nil) != (tc.want == nil) {
				t.Errorf("NewWebhook() error = %v", err)
			}
		})
	}
}

func TestConfigRedactsCredentials(t *testing.T) {
	cfg := Config{Token: "token-do-not-print", Secret: "secret-do-not-print", TimestampHeader: tsHeader}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "grafana", cfg)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), logged.String()} {
		if strings.Contains(s, "do-not-print") || !strings.Contains(s, "<secret>") || !strings.Contains(s, tsHeader) {
			t.Errorf("%q: credential shown, or settings hidden", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"zulip_alert_values_v11.json", "zulip_alert-9-resolved.json"} {
		f.Add(readFile(f, name))
	}
	f.Add([]byte(`{"state":"ok","alerts":[{"labels":{"resource":"x"},"values":{"A":1e400}}]}`))
	w := newWebhook(f, Config{Secret: testSecret})
	f.Fuzz(func(t *testing.T, body []byte) {
		d := engine.Delivery{Header: headers(DefaultSignatureHeader, sign(testSecret, body)), Body: body, Received: received}
		alerts, err := w.Parse(context.Background(), d)
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

// TestConfigYAML: the field names operators write, decoded strictly as the
// composed configuration file is.
func TestConfigYAML(t *testing.T) {
	const doc = "token: t\nsecret: s\nsignature_header: X-Sig\ntimestamp_header: X-Ts\nmax_skew: 2m\n"
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	var got Config
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := Config{Token: "t", Secret: "s", SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", MaxSkew: 2 * time.Minute}
	if got != want {
		t.Errorf("decoded %#v, want %#v", got, want)
	}
}
