package datadog

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
	"go.yaml.in/yaml/v3"

	"github.com/nightshift-ops/nightshift/engine"
)

const testToken = "dd-token-91f0e3"

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

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func authed(body []byte) engine.Delivery {
	return engine.Delivery{Header: headers("Authorization", "Bearer "+testToken), Body: body, Received: received}
}

func parse(t *testing.T, body string) engine.Alert {
	t.Helper()
	got, err := newWebhook(t, Config{Token: testToken}).Parse(context.Background(), authed([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("Parse() = %d alerts, want 1", len(got))
	}
	return got[0]
}

func TestParseAuth(t *testing.T) {
	body := readFile(t, "relay_event-fired_raw_default_payload.json")
	bearer := Config{Token: testToken}
	custom := Config{Token: testToken, Header: "X-Nightshift-Token"}
	tests := []struct {
		name string
		cfg  Config
		h    http.Header
		want string // "" for success
	}{
		{"bearer: valid", bearer, headers("Authorization", "Bearer "+testToken), ""},
		{"bearer: missing", bearer, headers(), "missing Authorization header"},
		{"bearer: wrong", bearer, headers("Authorization", "Bearer "+testToken+"0"), "bad bearer token"},
		{"bearer: raw token", bearer, headers("Authorization", testToken), "Authorization header is not a Bearer token"},
		{"bearer: in another header", bearer, headers("X-Nightshift-Token", testToken), "missing Authorization header"},
		{"header named Authorization means bearer", Config{Token: testToken, Header: "authorization"}, headers("Authorization", "Bearer "+testToken), ""},
		{"custom: valid", custom, headers("X-Nightshift-Token", testToken), ""},
		{"custom: missing", custom, headers(), "missing X-Nightshift-Token header"},
		{"custom: wrong", custom, headers("X-Nightshift-Token", "nope"), "bad X-Nightshift-Token header"},
		{"custom: bearer form is not the raw token", custom, headers("X-Nightshift-Token", "Bearer "+testToken), "bad X-Nightshift-Token header"},
		{"custom: Authorization not accepted instead", custom, headers("Authorization", "Bearer "+testToken), "missing X-Nightshift-Token header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alerts, err := newWebhook(t, tc.cfg).Parse(context.Background(), engine.Delivery{Header: tc.h, Body: body, Received: received})
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

func TestParseRecordedPayloads(t *testing.T) {
	tests := []struct {
		file string
		want engine.Alert
	}{
		{
			// A real rendered default payload: a test notification, which
			// is still an alert. It carries no $ALERT_ID; the monitor link
			// in its text is its identity.
			file: "relay_event-fired_raw_default_payload.json",
			want: engine.Alert{
				Source:      engine.SourceDatadog,
				DeliveryID:  "5485379890863845239",
				Fingerprint: engine.StructuredFingerprint(engine.SourceDatadog, "monitor/18692904", nil, map[string]string{}),
				Title:       "[Triggered] [TEST] Host Cluster Alert",
				Description: "@webhook-relay-test\n@webhook-relay-prod-demo\n@webhook-relay\n\nTest notification triggered by kenaz@puppet.com.\n\n\n\n" +
					"The monitor was last triggered at Wed Jun 03 2020 20:43:04 UTC.\n\n- - -\n\n" +
					"[[Monitor Status](https://app.datadoghq.com/monitors#18692904?)] · [[Edit Monitor](https://app.datadoghq.com/monitors#18692904/edit)]",
				Severity: engine.SeverityError, // [Triggered]
				Status:   engine.AlertFiring,
				Labels:   map[string]string{"monitor_id": "18692904", "event_type": "service_check"},
				StartsAt: time.Date(2020, 6, 3, 20, 43, 5, 0, time.UTC),
				Links:    []engine.Link{{Text: "Monitor", URL: "https://app.datadoghq.com/monitors#18692904?"}},
			},
		},
		{
			// Datadog's default template as written, every variable
			// unrendered: nothing identifies it, so the fingerprint is
			// left to Intake (a body digest) rather than shared by every
			// such alert.
			file: "default_payload_template.json",
			want: engine.Alert{
				Source: engine.SourceDatadog, Title: "Datadog alert",
				Severity: engine.SeverityUnknown, Status: engine.AlertFiring, StartsAt: received,
			},
		},
		{
			file: "extended_payload_template_servicenow_docs.json",
			want: engine.Alert{
				Source: engine.SourceDatadog, Title: "Datadog alert",
				Severity: engine.SeverityUnknown, Status: engine.AlertFiring, StartsAt: received,
			},
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
			if diff := cmp.Diff(got, []engine.Alert{tc.want}, cmpopts.IgnoreFields(engine.Alert{}, "Raw"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
			}
			if !bytes.Equal(got[0].Raw, body) {
				t.Error("Raw is not the body")
			}
		})
	}
}

// extended is a rendered extended template (the variables of
// extended_payload_template_servicenow_docs.json) for a Kubernetes
// deployment on AWS.
const extended = `{
	"id": "7351349786823212345",
	"title": "[Triggered on {kube_deployment:checkout,kube_namespace:shop}] Checkout 5xx rate",
	"body": "%%%\n5xx above 5% on checkout\n%%%",
	"event_type": "query_alert_monitor",
	"date": 1774998000000,
	"last_updated": "1774998001000",
	"org": {"id": 415600, "name": "Acme"},
	"alert_id": 1234567,
	"alert_metric": "trace.http.request.errors",
	"alert_priority": "P2",
	"alert_transition": "Triggered",
	"alert_status": "trace.http.request.errors over kube_namespace:shop was > 5",
	"alert_title": "Checkout 5xx rate",
	"alert_type": "error",
	"host_name": "",
	"priority": "normal",
	"tags": "env:prod, service:checkout, kube_cluster_name:prod-eu, kube_namespace:shop, kube_deployment:checkout, region:eu-west-1, aws_account:123456789012, monitor",
	"alert_scope": "kube_deployment:checkout,kube_namespace:shop",
	"link": "https://app.datadoghq.eu/event/event?id=7351349786823212345"
}`

func TestParseExtendedTemplate(t *testing.T) {
	labels := map[string]string{
		"env": "prod", "service": "checkout", "kube_cluster_name": "prod-eu", "kube_namespace": "shop",
		"kube_deployment": "checkout", "region": "eu-west-1", "aws_account": "123456789012", "monitor": "",
		"monitor_id": "1234567", "alert_metric": "trace.http.request.errors", "event_type": "query_alert_monitor",
	}
	want := engine.Alert{
		Source:     engine.SourceDatadog,
		DeliveryID: "7351349786823212345",
		Fingerprint: engine.StructuredFingerprint(engine.SourceDatadog, "monitor/1234567", nil,
			map[string]string{"kube_deployment": "checkout", "kube_namespace": "shop"}),
		Title:       "[Triggered on {kube_deployment:checkout,kube_namespace:shop}] Checkout 5xx rate",
		Description: "5xx above 5% on checkout",
		Severity:    engine.SeverityError, // P2
		Status:      engine.AlertFiring,
		Resources:   []string{"k8s/prod-eu/shop/deployment/checkout"},
		Service:     "checkout",
		Account:     "123456789012",
		Region:      "eu-west-1",
		Labels:      labels,
		StartsAt:    time.UnixMilli(1774998000000).UTC(),
		Links:       []engine.Link{{Text: "Datadog event", URL: "https://app.datadoghq.eu/event/event?id=7351349786823212345"}},
	}
	got := parse(t, extended)
	if diff := cmp.Diff(got, want, cmpopts.IgnoreFields(engine.Alert{}, "Raw")); diff != "" {
		t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
	}

	// The recovery of the same monitor and scope (scope written another
	// way) is the same condition: same fingerprint, resolved.
	recovered := strings.NewReplacer(
		`"alert_transition": "Triggered"`, `"alert_transition": "Recovered"`,
		`"alert_type": "error"`, `"alert_type": "success"`,
		`"kube_deployment:checkout,kube_namespace:shop"`, `"kube_namespace:shop, kube_deployment:checkout"`,
		`"date": 1774998000000`, `"date": "1774998600000"`,
		`"id": "7351349786823212345"`, `"id": 7351349786823299999`,
	).Replace(extended)
	r := parse(t, recovered)
	if r.Fingerprint != got.Fingerprint {
		t.Errorf("recovery fingerprint %q, trigger %q", r.Fingerprint, got.Fingerprint)
	}
	end := time.UnixMilli(1774998600000).UTC()
	if r.Status != engine.AlertResolved || !r.EndsAt.Equal(end) || r.DeliveryID != "7351349786823299999" {
		t.Errorf("recovery: Status %q, EndsAt %v, DeliveryID %q", r.Status, r.EndsAt, r.DeliveryID)
	}

	// Another scope of the same monitor is another condition.
	other := parse(t, strings.ReplaceAll(extended, "kube_deployment:checkout,kube_namespace:shop", "kube_deployment:cart,kube_namespace:shop"))
	if other.Fingerprint == got.Fingerprint {
		t.Error("two scopes of one monitor share a fingerprint")
	}
}

// TestFingerprintWithoutScope: a template with $ALERT_ID but no
// $ALERT_SCOPE still keeps the groups of a multi-alert monitor apart, by the
// resources its tags name, and still ignores the free text.
func TestFingerprintWithoutScope(t *testing.T) {
	a := parse(t, `{"alert_id":"77","tags":"host:web-1,env:prod","title":"[Triggered on {host:web-1}] CPU high"}`)
	b := parse(t, `{"alert_id":"77","tags":"host:web-2,env:prod","title":"[Triggered on {host:web-2}] CPU high"}`)
	a2 := parse(t, `{"alert_id":"77","tags":"host:web-1,env:prod","title":"[Recovered on {host:web-1}] CPU back to normal"}`)
	if a.Fingerprint == b.Fingerprint {
		t.Error("two hosts of one monitor share a fingerprint")
	}
	if a.Fingerprint != a2.Fingerprint {
		t.Error("trigger and recovery of one host differ")
	}
	if a2.Status != engine.AlertResolved {
		t.Errorf("recovery Status = %q", a2.Status)
	}
}

// TestParseMappings covers the lenient reading of hand-written templates.
func TestParseMappings(t *testing.T) {
	tests := []struct {
		name string
		body string
		want engine.Alert
	}{
		{
			// The shape of a 2015 custom template seen in the wild: tags in
			// event_tags, the group only in the monitor link of the text.
			name: "default-style payload identified by its monitor link",
			body: `{"title":"[Recovered on {host:i-3b93aafb}] Dock is almost out of memory","date":"1448435477000","event_type":"metric_alert_monitor",
				"body":"%%%\nrecovered\n[[Monitor Status](https://app.datadoghq.com/monitors#309811?group=host%3Ai-3b93aafb)]\n%%%",
				"event_tags":"availability-zone:us-west-1a,host:i-3b93aafb,region:us-west-1,role:dock,security-group:sg-59a3503c,security-group:sg-cb8e7dae"}`,
			want: engine.Alert{
				Source:      engine.SourceDatadog,
				Fingerprint: engine.StructuredFingerprint(engine.SourceDatadog, "monitor/309811", nil, map[string]string{"host": "i-3b93aafb"}),
				Title:       "[Recovered on {host:i-3b93aafb}] Dock is almost out of memory",
				Description: "recovered\n[[Monitor Status](https://app.datadoghq.com/monitors#309811?group=host%3Ai-3b93aafb)]",
				Severity:    engine.SeverityUnknown,
				Status:      engine.AlertResolved,
				Resources:   []string{"host/i-3b93aafb"},
				Region:      "us-west-1",
				Labels: map[string]string{
					"availability-zone": "us-west-1a", "host": "i-3b93aafb", "region": "us-west-1", "role": "dock",
					"security-group": "sg-59a3503c,sg-cb8e7dae", "monitor_id": "309811", "event_type": "metric_alert_monitor",
				},
				StartsAt: time.UnixMilli(1448435477000).UTC(),
				EndsAt:   time.UnixMilli(1448435477000).UTC(),
				Links:    []engine.Link{{Text: "Monitor", URL: "https://app.datadoghq.com/monitors#309811?group=host%3Ai-3b93aafb"}},
			},
		},
		{
			name: "tags as an array, explicit resource, warn, cycle key, epoch seconds",
			body: `{"alert_title":"Queue depth","alert_transition":"Warn","alert_cycle_key":"8fd1c2","date":1774998000,
				"tags":["resource:arn:aws:sqs:us-east-1:111122223333:orders","service:orders",42]}`,
			want: engine.Alert{
				Source:      engine.SourceDatadog,
				Fingerprint: engine.StructuredFingerprint(engine.SourceDatadog, "cycle/8fd1c2", nil, nil),
				Title:       "Queue depth",
				Severity:    engine.SeverityWarning,
				Status:      engine.AlertFiring,
				Resources:   []string{"arn:aws:sqs:us-east-1:111122223333:orders"},
				Service:     "orders",
				Account:     "111122223333",
				Region:      "us-east-1",
				Labels:      map[string]string{"resource": "arn:aws:sqs:us-east-1:111122223333:orders", "service": "orders", "42": ""},
				StartsAt:    time.Unix(1774998000, 0).UTC(),
			},
		},
		{
			name: "host name only, priority holding a severity, RFC 3339 date",
			body: `{"title":"[P1] [Re-Triggered] Disk full","hostname":"db-7","priority":"P1","date":"2026-03-31T23:00:00Z","alert_type":"warning"}`,
			want: engine.Alert{
				Source:      engine.SourceDatadog,
				Fingerprint: engine.StructuredFingerprint(engine.SourceDatadog, "", []string{"host/db-7"}, map[string]string{"host": "db-7"}),
				Title:       "[P1] [Re-Triggered] Disk full",
				Severity:    engine.SeverityCritical,
				Status:      engine.AlertFiring,
				Resources:   []string{"host/db-7"},
				Labels:      map[string]string{"host": "db-7"},
				StartsAt:    time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC),
			},
		},
		{
			name: "unrendered variables, bools and nulls are absent",
			body: `{"id":null,"title":"$EVENT_TITLE","alert_id":"$ALERT_ID","tags":"$TAGS[env]","priority":"low","alert_scope":"$ALERT_SCOPE","link":"$LINK","aggreg_key":true}`,
			want: engine.Alert{
				Source:      engine.SourceDatadog,
				Fingerprint: engine.StructuredFingerprint(engine.SourceDatadog, "aggregate/true", nil, nil),
				Title:       "Datadog alert",
				Severity:    engine.SeverityUnknown, // "low" is an event priority, not a severity
				Status:      engine.AlertFiring,
				StartsAt:    received,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parse(t, tc.body)
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
		{"empty", "", "body"},
		{"form encoded", "title=Disk+full", "body"},
		{"not an object", `["title"]`, "body"},
		{"truncated", `{"title":"x"`, "body"},
		{"title an object", `{"title":{"text":"x"}}`, "title"},
		{"id an array", `{"id":[1]}`, "id"},
		{"alert_id an object", `{"alert_id":{}}`, "alert_id"},
		{"date not a time", `{"date":"yesterday"}`, "date"},
		{"date negative", `{"date":-5}`, "date"},
		{"last_updated not a time", `{"last_updated":"soon"}`, "last_updated"},
		{"tags an object", `{"tags":{"env":"prod"}}`, "tags"},
		{"tag an object", `{"tags":["env:prod",{"k":"v"}]}`, "tags[1]"},
		{"event_tags a list of lists", `{"event_tags":[["a"]]}`, "event_tags[0]"},
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

func TestNoTokenInErrors(t *testing.T) {
	cfgs := []Config{{Token: testToken}, {Token: testToken, Header: "X-Nightshift-Token"}}
	hs := []http.Header{
		headers(),
		headers("Authorization", "Bearer "+testToken+"1"),
		headers("Authorization", testToken),
		headers("X-Nightshift-Token", testToken+"1"),
		headers("X-Nightshift-Token", "Bearer "+testToken),
	}
	body := []byte(`{"date":"` + testToken + `","title":{"` + testToken + `":1}}`)
	for _, cfg := range cfgs {
		w := newWebhook(t, cfg)
		okHeader := headers("Authorization", "Bearer "+testToken)
		if cfg.Header != "" {
			okHeader = headers(cfg.Header, testToken)
		}
		for i, h := range append(hs, okHeader) {
			_, err := w.Parse(context.Background(), engine.Delivery{Header: h, Body: body, Received: received})
			var e *engine.Error
			if !errors.As(err, &e) {
				t.Fatalf("%v, headers %d: error %v is not an *engine.Error", cfg, i, err)
			}
			for _, s := range []string{err.Error(), e.Public()} {
				if strings.Contains(s, testToken) {
					t.Errorf("%v, headers %d: error %q contains the token", cfg, i, s)
				}
			}
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		cfg  Config
		want []string
	}{
		{Config{Token: "t"}, nil},
		{Config{Token: "t", Header: "X-Nightshift-Token"}, nil},
		{Config{}, []string{"token: required"}},
		{Config{Token: "t\n", Header: "X Token"}, []string{
			"token: has leading or trailing white space",
			`header: "X Token" is not a valid header name`,
		}},
	}
	for _, tc := range tests {
		var got []string
		if err := tc.cfg.Validate(); err != nil {
			got = strings.Split(err.Error(), "\n")
		}
		if diff := cmp.Diff(got, tc.want); diff != "" {
			t.Errorf("Validate(%v) mismatch (-got +want):\n%s", tc.cfg, diff)
		}
		if _, err := NewWebhook(tc.cfg); (err == nil) != (tc.want == nil) {
			t.Errorf("NewWebhook(%v) error = %v", tc.cfg, err)
		}
	}
}

func TestConfigRedactsToken(t *testing.T) {
	cfg := Config{Token: "do-not-print-me", Header: "X-Nightshift-Token"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "datadog", cfg)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), logged.String()} {
		if strings.Contains(s, cfg.Token) || !strings.Contains(s, "<secret>") || !strings.Contains(s, cfg.Header) {
			t.Errorf("%q: token shown, or header hidden", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{
		"relay_event-fired_raw_default_payload.json", "default_payload_template.json",
		"extended_payload_template_servicenow_docs.json",
	} {
		f.Add(readFile(f, name))
	}
	f.Add([]byte(extended))
	f.Add([]byte(`{"tags":["a:b",1,null,true],"date":9223372036854775807,"body":"https://x/monitors#1?group=%zz"}`))
	w := newWebhook(f, Config{Token: testToken})
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := w.Parse(context.Background(), authed(body))
		if err != nil {
			if engine.ErrorCode(err) != engine.CodeInvalid || alerts != nil {
				t.Fatalf("Parse() = %v, %v; want no alerts and an invalid error", alerts, err)
			}
			return
		}
		if len(alerts) != 1 {
			t.Fatalf("Parse() = %d alerts, want 1", len(alerts))
		}
		a := alerts[0]
		if a.Title == "" || a.StartsAt.IsZero() || !json.Valid(a.Raw) {
			t.Fatalf("incomplete alert: %+v", a)
		}
		if a.Status != engine.AlertFiring && a.Status != engine.AlertResolved {
			t.Fatalf("status %q", a.Status)
		}
	})
}

// TestConfigYAML: the field names operators write, decoded strictly as the
// composed configuration file is.
func TestConfigYAML(t *testing.T) {
	dec := yaml.NewDecoder(strings.NewReader("token: t\nheader: X-Nightshift-Token\n"))
	dec.KnownFields(true)
	var got Config
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if want := (Config{Token: "t", Header: "X-Nightshift-Token"}); got != want {
		t.Errorf("decoded %#v, want %#v", got, want)
	}
}
