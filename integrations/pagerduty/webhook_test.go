package pagerduty

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PagerDuty/go-pagerduty/webhookv3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/integrations/internal/hook"
)

// testSecret signs every payload test; the go-pagerduty vector brings its own.
const testSecret = "whsec-test-3f9c2a7e"

var received = time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC)

func newWebhook(t testing.TB, secret string) *Webhook {
	t.Helper()
	w, err := NewWebhook(Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func sign(secret string, body []byte) string {
	return "v1=" + hex.EncodeToString(hook.HMACSHA256([]byte(secret), body))
}

func signed(body []byte) engine.Delivery {
	return delivery(body, sign(testSecret, body))
}

func delivery(body []byte, sig string) engine.Delivery {
	h := http.Header{}
	if sig != "" {
		h.Set(SignatureHeader, sig)
	}
	return engine.Delivery{Space: "payments", Header: h, Body: body, Received: received}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vector is testdata/signature_vector_go-pagerduty.json.
type vector struct {
	Secret   string `json:"secret"`
	BodyFile string `json:"body_file"`
	Cases    []struct {
		Name   string  `json:"name"`
		Header string  `json:"header"`
		Body   *string `json:"body"`
		Expect string  `json:"expect"`
	} `json:"cases"`
}

func TestSignatureVectors(t *testing.T) {
	var v vector
	if err := json.Unmarshal(readFile(t, "signature_vector_go-pagerduty.json"), &v); err != nil {
		t.Fatal(err)
	}
	w := newWebhook(t, v.Secret)
	// go-pagerduty's outcomes, in the words Parse gives the sender. Its
	// "malformed body" case (an empty body under the signature of a real
	// one) is, for us, a signature that does not match the body.
	want := map[string]string{
		"valid":                "",
		"ErrNoValidSignatures": "bad signature",
		"ErrMalformedHeader":   "missing X-PagerDuty-Signature header",
		"ErrMalformedBody":     "bad signature",
	}
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			body := readFile(t, v.BodyFile)
			if c.Body != nil {
				body = []byte(*c.Body)
			}
			_, err := w.Parse(context.Background(), delivery(body, c.Header))
			got := ""
			if err != nil {
				if engine.ErrorCode(err) != engine.CodeUnauthorized {
					t.Fatalf("Parse() error = %v, want an unauthorized error or none", err)
				}
				got = publicMessage(err)
			}
			if got != want[c.Expect] {
				t.Errorf("Parse() error = %q, want %q", got, want[c.Expect])
			}
		})
	}
}

// TestVerifyAgreesWithGoPagerDuty checks our verification against the
// reference implementation PagerDuty publishes, on headers where both have
// an opinion (go-pagerduty lumps "missing" and "malformed" together).
func TestVerifyAgreesWithGoPagerDuty(t *testing.T) {
	body := readFile(t, "signature_vector_go-pagerduty_body.json")
	good := sign(testSecret, body)
	other := sign("another-secret", body)
	headers := []string{
		good,
		other,
		other + "," + good,
		good + "," + other,
		"v0=abc," + good,
		strings.ToUpper(good[:3]) + good[3:], // V1= is not v1=
		good[:len(good)-2],
		"v1=" + strings.Repeat("0", 64),
	}
	w := newWebhook(t, testSecret)
	for _, h := range headers {
		req, err := http.NewRequest(http.MethodPost, "https://nightshift.example/hooks/payments/pagerduty", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(SignatureHeader, h)
		theirs := webhookv3.VerifySignature(req, testSecret)
		if _, err := io.ReadAll(req.Body); err != nil {
			t.Fatal(err)
		}
		ours := w.verify(delivery(body, h))
		if (theirs == nil) != (ours == nil) {
			t.Errorf("header %q: go-pagerduty says %v, we say %v", h, theirs, ours)
		}
	}
}

func TestParseAuthFailures(t *testing.T) {
	body := readFile(t, "zulip_triggered_v3.json")
	good := sign(testSecret, body)
	hdr := func(k, v string) http.Header {
		h := http.Header{}
		h.Set(k, v)
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   string
	}{
		{"no header", http.Header{}, body, "missing X-PagerDuty-Signature header"},
		{"nil header map", nil, body, "missing X-PagerDuty-Signature header"},
		{"blank header", hdr(SignatureHeader, "  "), body, "missing X-PagerDuty-Signature header"},
		{"no v1 prefix", hdr(SignatureHeader, strings.TrimPrefix(good, "v1=")), body, "malformed X-PagerDuty-Signature header"},
		{"unknown version only", hdr(SignatureHeader, "v2="+strings.TrimPrefix(good, "v1=")), body, "malformed X-PagerDuty-Signature header"},
		{"not hex", hdr(SignatureHeader, "v1=zzzz"), body, "malformed X-PagerDuty-Signature header"},
		{"truncated", hdr(SignatureHeader, good[:20]), body, "malformed X-PagerDuty-Signature header"},
		{"wrong secret", hdr(SignatureHeader, sign("not-the-secret", body)), body, "bad signature"},
		{"body altered", hdr(SignatureHeader, good), append(bytes.Clone(body), ' '), "bad signature"},
		{"rotation, neither matches", hdr(SignatureHeader, sign("old", body)+","+sign("new", body)), body, "bad signature"},
		{"signature of another header name", hdr("X-Pagerduty-Signature-V2", good), body, "missing X-PagerDuty-Signature header"},
	}
	w := newWebhook(t, testSecret)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alerts, err := w.Parse(context.Background(), engine.Delivery{Header: tc.header, Body: tc.body, Received: received})
			if engine.ErrorCode(err) != engine.CodeUnauthorized {
				t.Fatalf("Parse() = %v, %v; want an unauthorized error", alerts, err)
			}
			if got := publicMessage(err); got != tc.want {
				t.Errorf("Parse() error = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseSecretRotation(t *testing.T) {
	body := readFile(t, "zulip_triggered_v3.json")
	old, cur := sign("old-secret", body), sign(testSecret, body)
	w := newWebhook(t, testSecret)
	for _, h := range []string{old + "," + cur, cur + "," + old, old + ", " + cur, "v0=00," + cur} {
		alerts, err := w.Parse(context.Background(), delivery(body, h))
		if err != nil || len(alerts) != 1 {
			t.Errorf("header %q: Parse() = %d alerts, %v; want 1 alert", h, len(alerts), err)
		}
	}
}

// TestParsePayloads runs every recorded V3 payload through Parse.
func TestParsePayloads(t *testing.T) {
	pig208 := func(extra map[string]string) map[string]string {
		l := map[string]string{
			"urgency": "high", "service_id": "PA2P440", "service_name": "pig208",
			"escalation_policy": "Default",
		}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	tests := []struct {
		file string
		want []engine.Alert
	}{
		{
			file: "zulip_triggered_v3.json",
			want: []engine.Alert{{
				Source:      engine.SourcePagerDuty,
				DeliveryID:  "01BZYIL05THJDFF2Y08X9SVMTU",
				Fingerprint: "pagerduty:PFQZPSY",
				Title:       "Test Incident 3",
				Description: "PagerDuty incident #9 on pig208: status triggered, urgency high, assigned to PIG 208.",
				Severity:    engine.SeverityError, // no priority; urgency high
				Status:      engine.AlertFiring,
				Service:     "pig208",
				Labels: pig208(map[string]string{
					"event_type": "incident.triggered", "incident_id": "PFQZPSY", "incident_number": "9",
					"incident_status": "triggered", "assignees": "PIG 208",
				}),
				StartsAt: time.Date(2021, 6, 4, 13, 35, 29, 781e6, time.UTC),
				Links:    []engine.Link{{Text: "PagerDuty incident", URL: "https://pig208.pagerduty.com/incidents/PFQZPSY"}},
			}},
		},
		{
			file: "zulip_acknowledged_v3.json",
			want: []engine.Alert{{
				Source:      engine.SourcePagerDuty,
				DeliveryID:  "01BZYK8N47N5JG55J1EEEHPEJI",
				Fingerprint: "pagerduty:PQ1K5C8",
				Title:       "Test Incident",
				Description: "PagerDuty incident #10 on pig208: status acknowledged, urgency high, assigned to PIG 208.",
				Severity:    engine.SeverityError,
				Status:      engine.AlertFiring, // acknowledged is still firing
				Service:     "pig208",
				Labels: pig208(map[string]string{
					"event_type": "incident.acknowledged", "incident_id": "PQ1K5C8", "incident_number": "10",
					"incident_status": "acknowledged", "assignees": "PIG 208",
				}),
				StartsAt: time.Date(2021, 6, 4, 13, 55, 30, 394e6, time.UTC),
				Links:    []engine.Link{{Text: "PagerDuty incident", URL: "https://pig208.pagerduty.com/incidents/PQ1K5C8"}},
			}},
		},
		{
			file: "zulip_resolved_v3.json",
			want: []engine.Alert{{
				Source:      engine.SourcePagerDuty,
				DeliveryID:  "01BZYH1JJY09P9LEIST8HG2PMN",
				Fingerprint: "pagerduty:PCPZE64",
				Title:       "Test Incident",
				Description: "PagerDuty incident #6 on pig208: status resolved, urgency high.",
				Severity:    engine.SeverityError,
				Status:      engine.AlertResolved,
				Service:     "pig208",
				Labels: pig208(map[string]string{
					"event_type": "incident.resolved", "incident_id": "PCPZE64", "incident_number": "6",
					"incident_status": "resolved",
				}),
				StartsAt: time.Date(2021, 6, 4, 13, 16, 53, 816e6, time.UTC),
				EndsAt:   time.Date(2021, 6, 4, 13, 16, 53, 816e6, time.UTC),
				Links:    []engine.Link{{Text: "PagerDuty incident", URL: "https://pig208.pagerduty.com/incidents/PCPZE64"}},
			}},
		},
		{
			file: "zulip_escalate_v3.json",
			want: []engine.Alert{{
				Source:      engine.SourcePagerDuty,
				DeliveryID:  "01GI0JWUU28G8XE5M6IIT4BZ39",
				Fingerprint: "pagerduty:Q3B15VLMF3ASBD",
				Title:       "Critical: Checkout API High Latency",
				Description: "PagerDuty incident #5 on Default Service: status triggered, urgency high, priority P1, assigned to Harsh Santwani.",
				Severity:    engine.SeverityCritical, // priority P1 wins over urgency
				Status:      engine.AlertFiring,
				Service:     "default-service",
				Labels: map[string]string{
					"event_type": "incident.escalated", "incident_id": "Q3B15VLMF3ASBD", "incident_number": "5",
					"incident_key": "d387d7bd2e0a4294a5307339dfe1669a", "incident_status": "triggered",
					"urgency": "high", "priority": "P1", "service_id": "PLVTM9H", "service_name": "Default Service",
					"escalation_policy": "Default", "incident_type": "major_default", "assignees": "Harsh Santwani",
				},
				StartsAt: time.Date(2026, 4, 1, 2, 7, 30, 0, time.UTC), // created_at, not the escalation
				Links:    []engine.Link{{Text: "PagerDuty incident", URL: "https://harsh0303.pagerduty.com/incidents/Q3B15VLMF3ASBD"}},
			}},
		},
		{
			file: "signature_vector_go-pagerduty_body.json",
			want: []engine.Alert{{
				Source:      engine.SourcePagerDuty,
				DeliveryID:  "01BWDWL3NYY7LUFPZCC28QUCMK",
				Fingerprint: "pagerduty:PGR0VU2",
				Title:       "A little bump in the road",
				Description: "PagerDuty incident #2 on API Service: status triggered, urgency high, priority P1, assigned to User 123.",
				Severity:    engine.SeverityCritical,
				Status:      engine.AlertFiring,
				Service:     "api-service",
				Labels: map[string]string{
					"event_type": "incident.priority_updated", "incident_id": "PGR0VU2", "incident_number": "2",
					"incident_status": "triggered", "urgency": "high", "priority": "P1", "service_id": "PF9KMXH",
					"service_name": "API Service", "escalation_policy": "Default", "teams": "Engineering",
					"assignees": "User 123",
				},
				StartsAt: time.Date(2021, 4, 26, 17, 36, 27, 458e6, time.UTC),
				Links: []engine.Link{
					{Text: "PagerDuty incident", URL: "https://acme.pagerduty.com/incidents/PGR0VU2"},
					{Text: "Conference bridge", URL: "https://example.com"},
				},
			}},
		},
		// A note on an incident is not a lifecycle change: no alert, no error.
		{file: "zulip_annotated_v3.json", want: nil},
	}
	w := newWebhook(t, testSecret)
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := readFile(t, tc.file)
			got, err := w.Parse(context.Background(), signed(body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want, cmpopts.IgnoreFields(engine.Alert{}, "Raw"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
			}
			for _, a := range got {
				if !bytes.Equal(a.Raw, body) {
					t.Errorf("Raw is not the delivery's body")
				}
			}
		})
	}
}

func TestParseLegacyV2(t *testing.T) {
	w := newWebhook(t, testSecret)
	_, err := w.Parse(context.Background(), signed(readFile(t, "v2_incident.trigger_go-pagerduty.json")))
	var e *engine.Error
	if !errors.As(err, &e) || e.Code != engine.CodeInvalid || e.Field != "event" || !strings.Contains(e.Message, "V3 webhook subscription") {
		t.Fatalf("Parse(V2 payload) error = %v, want invalid naming event and pointing at V3", err)
	}
}

// TestParseEventTypes covers mapping decisions on payloads derived from the
// recorded ones: which event types are alerts, and what status they carry.
func TestParseEventTypes(t *testing.T) {
	base := readFile(t, "zulip_triggered_v3.json")
	tests := []struct {
		name       string
		edit       func(ev map[string]any)
		wantAlerts int
		wantStatus engine.AlertStatus
	}{
		{"reopened", func(ev map[string]any) { ev["event_type"] = "incident.reopened" }, 1, engine.AlertFiring},
		{"unacknowledged", func(ev map[string]any) { ev["event_type"] = "incident.unacknowledged" }, 1, engine.AlertFiring},
		{"resolved by event type alone", func(ev map[string]any) { ev["event_type"] = "incident.resolved" }, 1, engine.AlertResolved},
		{"service change of a resolved incident", func(ev map[string]any) {
			ev["event_type"] = "incident.service_updated"
			ev["data"].(map[string]any)["status"] = "resolved"
		}, 1, engine.AlertResolved},
		{"data.type left out", func(ev map[string]any) { delete(ev["data"].(map[string]any), "type") }, 1, engine.AlertFiring},
		{"data.type left out, unknown event", func(ev map[string]any) {
			ev["event_type"] = "incident.something_new"
			delete(ev["data"].(map[string]any), "type")
		}, 0, ""},
		{"responder added", func(ev map[string]any) {
			ev["event_type"] = "incident.responder.added"
			ev["data"] = map[string]any{"type": "incident_responder", "incident": map[string]any{"id": "PFQZPSY"}}
		}, 0, ""},
		{"service updated", func(ev map[string]any) {
			ev["event_type"] = "service.updated"
			ev["resource_type"] = "service"
			ev["data"] = map[string]any{"id": "PF9KMXH", "type": "service"}
		}, 0, ""},
		{"non-incident event, data not looked at", func(ev map[string]any) {
			ev["event_type"] = "service.deleted"
			ev["data"] = "whatever"
		}, 0, ""},
	}
	w := newWebhook(t, testSecret)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := editEvent(t, base, tc.edit)
			got, err := w.Parse(context.Background(), signed(body))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.wantAlerts {
				t.Fatalf("Parse() = %d alerts, want %d", len(got), tc.wantAlerts)
			}
			if tc.wantAlerts == 1 && got[0].Status != tc.wantStatus {
				t.Errorf("Status = %q, want %q", got[0].Status, tc.wantStatus)
			}
		})
	}
}

// TestParseCustomDetails: an incident that carries its alerts' bodies (REST
// shape, custom incident actions) names its resource through custom details.
func TestParseCustomDetails(t *testing.T) {
	base := readFile(t, "zulip_triggered_v3.json")
	tests := []struct {
		name    string
		alerts  any
		body    any
		want    []string
		service string
		region  string
	}{
		{
			name:   "explicit resource wins",
			alerts: []any{map[string]any{"body": map[string]any{"details": map[string]any{"resource": "arn:aws:rds:eu-west-1:123456789012:db:orders", "namespace": "shop", "deployment": "api"}}}},
			want:   []string{"arn:aws:rds:eu-west-1:123456789012:db:orders"},
			region: "eu-west-1", service: "pig208",
		},
		{
			name:    "kubernetes labels in cef details",
			alerts:  []any{map[string]any{"body": map[string]any{"cef_details": map[string]any{"details": map[string]any{"namespace": "shop", "deployment": "api", "cluster": "prod-1"}}}}},
			want:    []string{"k8s/prod-1/shop/deployment/api"},
			service: "pig208",
		},
		{
			name:    "incident body custom_details",
			body:    map[string]any{"custom_details": map[string]any{"host": "db-7", "replicas": 3}},
			want:    []string{"host/db-7"},
			service: "pig208",
		},
		{
			name:    "odd shapes are skipped, not rejected",
			alerts:  "not a list",
			body:    []any{1, 2},
			service: "pig208",
		},
	}
	w := newWebhook(t, testSecret)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := editEvent(t, base, func(ev map[string]any) {
				data := ev["data"].(map[string]any)
				if tc.alerts != nil {
					data["alerts"] = tc.alerts
				}
				if tc.body != nil {
					data["body"] = tc.body
				}
			})
			got, err := w.Parse(context.Background(), signed(body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got[0].Resources, tc.want, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Resources mismatch (-got +want):\n%s", diff)
			}
			if got[0].Service != tc.service || got[0].Region != tc.region {
				t.Errorf("Service, Region = %q, %q; want %q, %q", got[0].Service, got[0].Region, tc.service, tc.region)
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
		{"not JSON", "{", "body"},
		{"array", "[]", "body"},
		{"no event", `{}`, "event"},
		{"null event", `{"event":null}`, "event"},
		{"event not an object", `{"event":"incident.triggered"}`, "event"},
		{"event_type not a string", `{"event":{"event_type":7}}`, "event.event_type"},
		{"bad occurred_at", `{"event":{"event_type":"incident.triggered","occurred_at":"yesterday"}}`, "event.occurred_at"},
		{"no data", `{"event":{"event_type":"incident.triggered"}}`, "event.data"},
		{"data not an object", `{"event":{"event_type":"incident.triggered","data":[1]}}`, "event.data"},
		{"no incident id", `{"event":{"event_type":"incident.triggered","data":{"type":"incident","title":"x"}}}`, "event.data.id"},
		{"title not a string", `{"event":{"event_type":"incident.triggered","data":{"type":"incident","id":"P1","title":{}}}}`, "event.data.title"},
		{"priority not an object", `{"event":{"event_type":"incident.triggered","data":{"type":"incident","id":"P1","priority":"P1"}}}`, "event.data.priority"},
		{"bad created_at", `{"event":{"event_type":"incident.triggered","data":{"type":"incident","id":"P1","created_at":"2021-13-01"}}}`, "event.data.created_at"},
	}
	w := newWebhook(t, testSecret)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.Parse(context.Background(), signed([]byte(tc.body)))
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

// TestNoSecretInErrors: whatever goes wrong, the secret is in no error text
// (the sender sees Public(), the log sees Error()).
func TestNoSecretInErrors(t *testing.T) {
	body := readFile(t, "zulip_triggered_v3.json")
	w := newWebhook(t, testSecret)
	deliveries := []engine.Delivery{
		delivery(body, ""),
		delivery(body, "v1=nothex"),
		delivery(body, sign("x", body)),
		delivery(body, "v1="+hex.EncodeToString([]byte(testSecret))),
		signed([]byte(`{"event":{"event_type":"incident.triggered","data":{"id":"` + testSecret + `","created_at":"` + testSecret + `"}}}`)),
		signed([]byte(`{"messages":[]}`)),
		signed([]byte(`{`)),
	}
	for i, d := range deliveries {
		_, err := w.Parse(context.Background(), d)
		if err == nil {
			t.Fatalf("delivery %d: no error", i)
		}
		var e *engine.Error
		if !errors.As(err, &e) {
			t.Fatalf("delivery %d: %T is not an *engine.Error", i, err)
		}
		for _, s := range []string{err.Error(), e.Public()} {
			if strings.Contains(s, testSecret) {
				t.Errorf("delivery %d: error %q contains the secret", i, s)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", Config{Secret: "s3cr3t"}, ""},
		{"missing", Config{}, "secret: required"},
		{"white space", Config{Secret: "s3cr3t\n"}, "secret: has leading or trailing white space"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := tc.cfg.Validate(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
			if _, err := NewWebhook(tc.cfg); (err == nil) != (tc.want == "") {
				t.Errorf("NewWebhook() error = %v", err)
			}
		})
	}
}

func TestConfigRedactsSecret(t *testing.T) {
	const secret = "do-not-print-me"
	cfg := Config{Secret: secret}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "pagerduty", cfg)
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), logged.String(),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("%q shows the secret", s)
		}
		if !strings.Contains(s, "<secret>") {
			t.Errorf("%q does not say a secret is set", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{
		"zulip_triggered_v3.json", "zulip_acknowledged_v3.json", "zulip_resolved_v3.json",
		"zulip_escalate_v3.json", "zulip_annotated_v3.json", "signature_vector_go-pagerduty_body.json",
		"v2_incident.trigger_go-pagerduty.json",
	} {
		f.Add(readFile(f, name), true)
	}
	f.Add([]byte(`{"event":{"event_type":"incident.triggered","data":{"id":"P","alerts":[{"body":{"details":{"resource":1}}}]}}}`), true)
	f.Add([]byte(`{"event":{}}`), false)
	w := newWebhook(f, testSecret)
	f.Fuzz(func(t *testing.T, body []byte, sign bool) {
		d := delivery(body, "v1=00")
		if sign {
			d = signed(body)
		}
		alerts, err := w.Parse(context.Background(), d)
		if err != nil {
			if engine.ErrorCode(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			if len(alerts) != 0 {
				t.Fatalf("alerts returned with an error")
			}
			return
		}
		for _, a := range alerts {
			if a.Source != engine.SourcePagerDuty || a.Fingerprint == "" || a.Title == "" || a.StartsAt.IsZero() {
				t.Fatalf("incomplete alert: %+v", a)
			}
			if a.Status != engine.AlertFiring && a.Status != engine.AlertResolved {
				t.Fatalf("status %q", a.Status)
			}
		}
	})
}

func editEvent(t *testing.T, body []byte, edit func(ev map[string]any)) []byte {
	t.Helper()
	var doc map[string]map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc["event"])
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func publicMessage(err error) string {
	var e *engine.Error
	if errors.As(err, &e) {
		return e.Public()
	}
	return err.Error()
}
