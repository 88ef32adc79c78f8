package generic

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nightshift-ops/nightshift/engine"
)

const testSecret = "s3cr3t-d0-n0t-l3ak-8f742231b10e"

// now is the time deliveries arrive in these tests.
var now = date("2026-04-21T18:06:00Z")

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sign is the test's own rendering of the signature, from the AWS
// documentation: base64(HMAC-SHA256(secret, "<timestamp>:<body>")).
func sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + ":"))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func signed(body []byte, ts string) engine.Delivery {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(TimestampHeader, ts)
	h.Set(SignatureHeader, sign(testSecret, ts, body))
	return engine.Delivery{Space: "prod", Header: h, Body: body, Received: now}
}

func newTestWebhook(t testing.TB) *Webhook {
	t.Helper()
	w, err := NewWebhook(Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseTestdata(t *testing.T) {
	tests := []struct {
		file string
		want engine.Alert // Raw is the file
	}{{
		file: "devops_agent_incident_created.json",
		want: engine.Alert{
			Source:      engine.SourceGeneric,
			DeliveryID:  "checkout-latency-20260421-1805:2026-04-21T18:05:10.826Z:incident/created",
			Fingerprint: "generic:checkout-latency-20260421-1805",
			Title:       "Checkout p99 latency above 2s",
			Description: "p99 latency of POST /checkout has been above 2s for 10 minutes.",
			Severity:    engine.SeverityError,
			Status:      engine.AlertFiring,
			Service:     "checkout",
			StartsAt:    date("2026-04-21T18:05:10.826Z"),
		},
	}, {
		file: "incident_with_resources.json",
		want: engine.Alert{
			Source:      engine.SourceGeneric,
			DeliveryID:  "INC-4711:2026-04-21T16:07:00Z:incident/updated",
			Fingerprint: "generic:INC-4711",
			Title:       "Orders queue backing up",
			Description: "ApproximateAgeOfOldestMessage of the orders queue is 45 minutes.",
			Severity:    engine.SeverityCritical,
			Status:      engine.AlertFiring,
			Resources:   []string{"arn:aws:sqs:eu-west-1:111122223333:orders", "k8s/prod-eu/shop/orders-worker"},
			Service:     "orders",
			Component:   "orders-worker",
			Account:     "111122223333",
			Region:      "eu-west-1",
			Labels:      map[string]string{"team": "payments", "env": "prod"},
			StartsAt:    date("2026-04-21T16:07:00Z"),
			Links: []engine.Link{
				{URL: "https://grafana.example.com/d/orders"},
				{Text: "Runbook", URL: "https://wiki.example.com/runbooks/orders-queue"},
			},
		},
	}, {
		file: "incident_closed.json",
		want: engine.Alert{
			Source:      engine.SourceGeneric,
			DeliveryID:  "INC-4711:2026-04-21T16:40:00Z:incident/closed",
			Fingerprint: "generic:INC-4711",
			Title:       "Orders queue backing up",
			Severity:    engine.SeverityInfo,
			Status:      engine.AlertResolved,
			Service:     "orders",
			StartsAt:    date("2026-04-21T16:40:00Z"),
			EndsAt:      date("2026-04-21T16:40:00Z"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFile(t, tt.file)
			got, err := newTestWebhook(t).Parse(t.Context(), signed(body, "2026-04-21T18:05:10.000Z"))
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Raw = body
			if diff := cmp.Diff(got, []engine.Alert{tt.want}); diff != "" {
				t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// failures are deliveries that must be refused, with the reason the sender
// gets back. TestNoSecretInErrors runs them too.
func failures(t *testing.T) []struct {
	name   string
	d      engine.Delivery
	code   engine.Code
	public string
} {
	body := readFile(t, "devops_agent_incident_created.json")
	ts := "2026-04-21T18:05:10.000Z"
	with := func(edit func(d *engine.Delivery)) engine.Delivery {
		d := signed(body, ts)
		d.Header = d.Header.Clone()
		edit(&d)
		return d
	}
	signedBody := func(b string) engine.Delivery { return signed([]byte(b), ts) }
	type failure = struct {
		name   string
		d      engine.Delivery
		code   engine.Code
		public string
	}
	const unauth, invalid = engine.CodeUnauthorized, engine.CodeInvalid
	return []failure{
		{"missing signature", with(func(d *engine.Delivery) { d.Header.Del(SignatureHeader) }), unauth, "missing signature"},
		{"missing timestamp", with(func(d *engine.Delivery) { d.Header.Del(TimestampHeader) }), unauth, "missing timestamp"},
		{"wrong secret", with(func(d *engine.Delivery) {
			d.Header.Set(SignatureHeader, sign("another-secret-of-some-length", ts, body))
		}), unauth, "bad signature"},
		{"tampered body", with(func(d *engine.Delivery) {
			d.Body = bytes.Replace(body, []byte(`"HIGH"`), []byte(`"LOW"`), 1)
		}), unauth, "bad signature"},
		{"timestamp header changed", with(func(d *engine.Delivery) {
			d.Header.Set(TimestampHeader, "2026-04-21T18:05:11.000Z")
		}), unauth, "bad signature"},
		{"signature over the body alone", with(func(d *engine.Delivery) {
			m := hmac.New(sha256.New, []byte(testSecret))
			m.Write(body)
			d.Header.Set(SignatureHeader, base64.StdEncoding.EncodeToString(m.Sum(nil)))
		}), unauth, "bad signature"},
		{"hex signature", with(func(d *engine.Delivery) {
			raw, _ := base64.StdEncoding.DecodeString(sign(testSecret, ts, body))
			d.Header.Set(SignatureHeader, hex.EncodeToString(raw))
		}), unauth, "bad signature"},
		{"signature not base64", with(func(d *engine.Delivery) { d.Header.Set(SignatureHeader, "!!not base64!!") }), unauth, "bad signature"},
		{"stale timestamp", with(func(d *engine.Delivery) { d.Received = date(ts).Add(5*time.Minute + time.Millisecond) }), unauth, "stale timestamp"},
		{"timestamp in the future", with(func(d *engine.Delivery) { d.Received = date(ts).Add(-5*time.Minute - time.Millisecond) }), unauth, "stale timestamp"},
		{"stale epoch timestamp", func() engine.Delivery {
			d := signed(body, "1776794410")
			return d
		}(), unauth, "stale timestamp"},
		{"unreadable timestamp", func() engine.Delivery {
			d := signed(body, "Tue, 21 Apr 2026 18:05:10 GMT")
			return d
		}(), unauth, "bad timestamp"},

		{"empty body", signedBody(""), invalid, "body: empty"},
		{"not JSON", signedBody(`{"incidentId": "x",`), invalid, "body: invalid JSON at byte 19"},
		{"JSON array", signedBody(`[{"incidentId": "x"}]`), invalid, "body: expected a JSON object"},
		{"no incidentId", signedBody(`{"title": "t"}`), invalid, "incidentId: required"},
		{"blank incidentId", signedBody(`{"incidentId": " ", "title": "t"}`), invalid, "incidentId: required"},
		{"incidentId an object", signedBody(`{"incidentId": {"id": 1}, "title": "t"}`), invalid, "incidentId: expected a string or a number"},
		{"no title", signedBody(`{"incidentId": "x"}`), invalid, "title: required"},
		{"title a number", signedBody(`{"incidentId": "x", "title": 5}`), invalid, "title: expected string, got JSON number"},
		{"bad timestamp field", signedBody(`{"incidentId": "x", "title": "t", "timestamp": "last tuesday"}`), invalid, "timestamp: not an ISO-8601 time or a Unix time"},
		{"data a string", signedBody(`{"incidentId": "x", "title": "t", "data": "db"}`), invalid, "data: expected a JSON object"},
		{"resources a string", signedBody(`{"incidentId": "x", "title": "t", "data": {"resources": "db"}}`), invalid, "data.resources: expected []string, got JSON string"},
		{"label not a string", signedBody(`{"incidentId": "x", "title": "t", "data": {"labels": {"tier": 1}}}`), invalid, "data.labels: expected string, got JSON number"},
		{"links not a list", signedBody(`{"incidentId": "x", "title": "t", "data": {"links": "https://ok.example"}}`), invalid, `data.links: expected a list of URLs or {"text", "url"} objects`},
	}
}

func TestParseFailures(t *testing.T) {
	for _, tt := range failures(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newTestWebhook(t).Parse(t.Context(), tt.d)
			if got != nil {
				t.Errorf("Parse() alerts = %v, want none", got)
			}
			var e *engine.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() error = %v, want *engine.Error", err)
			}
			if e.Code != tt.code || e.Public() != tt.public {
				t.Errorf("Parse() error = %s %q, want %s %q", e.Code, e.Public(), tt.code, tt.public)
			}
		})
	}
}

// TestNoSecretInErrors checks that neither the secret nor a signature
// computed with it reaches an error, a log line or a printed Config.
func TestNoSecretInErrors(t *testing.T) {
	var seen []string
	for _, tt := range failures(t) {
		_, err := newTestWebhook(t).Parse(t.Context(), tt.d)
		var e *engine.Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: error = %v", tt.name, err)
		}
		seen = append(seen, err.Error(), e.Public(), fmt.Sprintf("%+v %#v", err, err))
		if tt.d.Body != nil {
			for _, ts := range []string{tt.d.Header.Get(TimestampHeader), "2026-04-21T18:05:10.000Z"} {
				// What a careless error might echo: the expected signature.
				if strings.Contains(err.Error(), sign(testSecret, ts, tt.d.Body)) {
					t.Errorf("%s: error contains the expected signature", tt.name)
				}
			}
		}
	}

	cfg := Config{Secret: testSecret}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg)
	seen = append(seen, fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), logs.String())
	for _, c := range []Config{{}, {Secret: " " + testSecret + "\n"}, {Secret: testSecret[:8]}} {
		_, err := NewWebhook(c)
		seen = append(seen, fmt.Sprint(c.Validate()), fmt.Sprint(err))
	}

	for _, s := range seen {
		if strings.Contains(s, testSecret) || strings.Contains(s, testSecret[:8]) {
			t.Errorf("secret leaked: %q", s)
		}
	}
	if !strings.Contains(fmt.Sprint(cfg), "<secret>") {
		t.Errorf("Config prints as %q, want <secret> in place of the secret", fmt.Sprint(cfg))
	}
}

func TestParseTimestampHeaders(t *testing.T) {
	body := readFile(t, "devops_agent_incident_created.json")
	tests := []struct {
		name string
		ts   string
	}{
		{"ISO-8601 UTC with milliseconds (AWS docs)", "2026-04-21T18:05:10.000Z"},
		{"ISO-8601 without fraction", "2026-04-21T18:05:10Z"},
		{"ISO-8601 with offset", "2026-04-21T20:05:10+02:00"},
		{"ISO-8601 with colon-less offset", "2026-04-21T20:05:10.5+0200"},
		{"Python isoformat with microseconds", "2026-04-21T18:05:10.123456+00:00"},
		{"Python utcnow isoformat, no zone", "2026-04-21T18:05:10.123456"},
		{"Unix seconds", "1776794710"},
		{"Unix seconds with fraction", "1776794710.25"},
		{"Unix milliseconds", "1776794710250"},
		{"exactly at the edge of the window", "2026-04-21T18:01:00Z"},
		{"exactly at the future edge of the window", "2026-04-21T18:11:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newTestWebhook(t).Parse(t.Context(), signed(body, tt.ts))
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("Parse() = %d alerts, want 1", len(got))
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-04-21T18:05:10.826Z", date("2026-04-21T18:05:10.826Z")},
		{"2026-04-21T20:05:10+02:00", date("2026-04-21T18:05:10Z")},
		{"2026-04-21T20:05:10.5+0200", date("2026-04-21T18:05:10.5Z")},
		{"2026-04-21T18:05:10.123456", date("2026-04-21T18:05:10.123456Z")},
		{"1776794710", date("2026-04-21T18:05:10Z")},
		{" 1776794710.25 ", date("2026-04-21T18:05:10.25Z")},
		{"1776794710250", date("2026-04-21T18:05:10.25Z")},
		{"1776794710250.5", date("2026-04-21T18:05:10.2505Z")},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "now", "1e9", "-1", "1776794710.", ".5", "2026-04-21", "12345678901234567890"} {
		if got, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseMapping(t *testing.T) {
	ts := "2026-04-21T18:05:00Z"
	type summary struct {
		DeliveryID  string
		Fingerprint string
		Severity    engine.Severity
		Status      engine.AlertStatus
		StartsAt    time.Time
		EndsAt      time.Time
		Resources   []string
	}
	tests := []struct {
		name string
		body string
		want summary
	}{
		{"created", `{"eventType":"incident","action":"created","priority":"CRITICAL","incidentId":"i-1","title":"t","timestamp":"` + ts + `"}`,
			summary{"i-1:" + ts + ":incident/created", "generic:i-1", engine.SeverityCritical, engine.AlertFiring, date(ts), time.Time{}, nil}},
		{"resolved action", `{"action":"RESOLVED","priority":"high","incidentId":"i-1","title":"t","timestamp":"` + ts + `"}`,
			summary{"i-1:" + ts + ":RESOLVED", "generic:i-1", engine.SeverityError, engine.AlertResolved, date(ts), date(ts), nil}},
		{"closed event type", `{"eventType":"closed","priority":"MEDIUM","incidentId":"i-1","title":"t","timestamp":"` + ts + `"}`,
			summary{"i-1:" + ts + ":closed", "generic:i-1", engine.SeverityWarning, engine.AlertResolved, date(ts), date(ts), nil}},
		{"low", `{"priority":"LOW","incidentId":"i-1","title":"t","timestamp":"` + ts + `"}`,
			summary{"i-1:" + ts, "generic:i-1", engine.SeverityInfo, engine.AlertFiring, date(ts), time.Time{}, nil}},
		{"minimal", `{"priority":"minimal","incidentId":"i-1","title":"t","timestamp":"` + ts + `"}`,
			summary{"i-1:" + ts, "generic:i-1", engine.SeverityInfo, engine.AlertFiring, date(ts), time.Time{}, nil}},
		{"no priority", `{"incidentId":"i-1","title":"t","timestamp":"` + ts + `"}`,
			summary{"i-1:" + ts, "generic:i-1", engine.SeverityUnknown, engine.AlertFiring, date(ts), time.Time{}, nil}},
		{"same event time written differently", `{"incidentId":"i-1","title":"t","timestamp":"2026-04-21T20:05:00.000+02:00"}`,
			summary{"i-1:" + ts, "generic:i-1", engine.SeverityUnknown, engine.AlertFiring, date(ts), time.Time{}, nil}},
		{"no timestamp: arrival time, id from the event kind", `{"eventType":"incident","action":"updated","incidentId":"i-1","title":"t"}`,
			summary{"i-1:incident/updated", "generic:i-1", engine.SeverityUnknown, engine.AlertFiring, now, time.Time{}, nil}},
		{"no timestamp, no kind", `{"incidentId":"i-1","title":"t"}`,
			summary{"i-1:event", "generic:i-1", engine.SeverityUnknown, engine.AlertFiring, now, time.Time{}, nil}},
		{"numeric incidentId", `{"incidentId":4711,"title":"t","timestamp":"` + ts + `"}`,
			summary{"4711:" + ts, "generic:4711", engine.SeverityUnknown, engine.AlertFiring, date(ts), time.Time{}, nil}},
		{"resources: resource first, duplicates and blanks dropped", `{"incidentId":"i-1","title":"t","timestamp":"` + ts + `","data":{"resource":"a","resources":["b"," ","a","c"]}}`,
			summary{"i-1:" + ts, "generic:i-1", engine.SeverityUnknown, engine.AlertFiring, date(ts), time.Time{}, []string{"a", "b", "c"}}},
		{"resources only", `{"incidentId":"i-1","title":"t","timestamp":"` + ts + `","data":{"resources":["b"]}}`,
			summary{"i-1:" + ts, "generic:i-1", engine.SeverityUnknown, engine.AlertFiring, date(ts), time.Time{}, []string{"b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newTestWebhook(t).Parse(t.Context(), signed([]byte(tt.body), ts))
			if err != nil {
				t.Fatal(err)
			}
			a := got[0]
			if diff := cmp.Diff(summary{a.DeliveryID, a.Fingerprint, a.Severity, a.Status, a.StartsAt, a.EndsAt, a.Resources}, tt.want); diff != "" {
				t.Errorf("mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// TestParseData covers what data may add: explicit resources win, labels
// fill in by the conventions all sources share, unusable links are dropped.
func TestParseData(t *testing.T) {
	type summary struct {
		Resources                           []string
		Service, Component, Region, Account string
		Links                               []engine.Link
	}
	tests := []struct {
		name string
		top  string // extra top-level fields
		data string
		want summary
	}{
		{"labels name a workload", ``, `{"labels": {"cluster": "prod", "namespace": "shop", "deployment": "cart", "app": "cart", "region": "eu-west-1"}}`,
			summary{Resources: []string{"k8s/prod/shop/deployment/cart"}, Service: "cart", Region: "eu-west-1"}},
		{"explicit resource beats labels; service field beats labels", `"service": "checkout",`, `{"resource": "host/web-1", "labels": {"namespace": "shop", "pod": "cart-1", "app": "cart", "component": "api"}}`,
			summary{Resources: []string{"host/web-1"}, Service: "checkout", Component: "api"}},
		{"region and account from an ARN resource", ``, `{"resources": ["arn:aws:rds:eu-central-1:111122223333:db:orders"]}`,
			summary{Resources: []string{"arn:aws:rds:eu-central-1:111122223333:db:orders"}, Region: "eu-central-1", Account: "111122223333"}},
		{"explicit region and account win over the ARN", ``, `{"resource": "arn:aws:rds:eu-central-1:111122223333:db:orders", "region": "us-east-1", "account": "999999999999"}`,
			summary{Resources: []string{"arn:aws:rds:eu-central-1:111122223333:db:orders"}, Region: "us-east-1", Account: "999999999999"}},
		{"unusable links dropped", ``, `{"links": ["https://ok.example/a", "javascript:alert(1)", 7, {"url": "/relative"}, {"text": " Runbook ", "url": "http://wiki.example/r"}, "https://ok.example/a", null]}`,
			summary{Links: []engine.Link{{URL: "https://ok.example/a"}, {Text: "Runbook", URL: "http://wiki.example/r"}}}},
		{"null data", ``, `null`, summary{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"incidentId": "i-1", "title": "t", ` + tt.top + ` "data": ` + tt.data + `}`
			got, err := newTestWebhook(t).Parse(t.Context(), signed([]byte(body), "2026-04-21T18:05:00Z"))
			if err != nil {
				t.Fatal(err)
			}
			a := got[0]
			if diff := cmp.Diff(summary{a.Resources, a.Service, a.Component, a.Region, a.Account, a.Links}, tt.want); diff != "" {
				t.Errorf("mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// TestDeliveryIDs checks what makes two deliveries the same: a retry
// (re-signed later, timestamp re-serialised) is; an incident's closing event
// stamped with its opening time is not.
func TestDeliveryIDs(t *testing.T) {
	opened := `{"eventType":"incident","action":"created","incidentId":"i-1","title":"t","timestamp":"2026-04-21T18:00:00Z"}`
	retried := `{"eventType":"incident","action":"created","incidentId":"i-1","title":"t","timestamp":"2026-04-21T20:00:00.000+02:00"}`
	closed := `{"eventType":"incident","action":"closed","incidentId":"i-1","title":"t","timestamp":"2026-04-21T18:00:00Z"}`
	w := newTestWebhook(t)
	parse := func(body, ts string) engine.Alert {
		t.Helper()
		got, err := w.Parse(t.Context(), signed([]byte(body), ts))
		if err != nil {
			t.Fatal(err)
		}
		return got[0]
	}
	a, b, c := parse(opened, "2026-04-21T18:01:00Z"), parse(retried, "2026-04-21T18:04:00Z"), parse(closed, "2026-04-21T18:05:00Z")
	if a.DeliveryID != b.DeliveryID {
		t.Errorf("retry has delivery id %q, want %q", b.DeliveryID, a.DeliveryID)
	}
	if a.DeliveryID == c.DeliveryID {
		t.Errorf("closing event has the opening event's delivery id %q", c.DeliveryID)
	}
	if a.Fingerprint != c.Fingerprint {
		t.Errorf("fingerprints %q and %q differ across one incident", a.Fingerprint, c.Fingerprint)
	}
}

func TestParseUnpaddedSignature(t *testing.T) {
	body := readFile(t, "incident_closed.json")
	d := signed(body, "2026-04-21T18:05:00Z")
	d.Header.Set(SignatureHeader, strings.TrimRight(d.Header.Get(SignatureHeader), "="))
	if _, err := newTestWebhook(t).Parse(t.Context(), d); err != nil {
		t.Fatal(err)
	}
}

func TestWithTolerance(t *testing.T) {
	w, err := NewWebhook(Config{Secret: testSecret}, WithTolerance(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d := signed(readFile(t, "incident_closed.json"), "2026-04-21T17:10:00Z")
	if _, err := w.Parse(t.Context(), d); err != nil {
		t.Fatalf("56 minutes late within a one-hour tolerance: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"valid", Config{Secret: testSecret}, ""},
		{"missing", Config{}, "secret: required"},
		{"trailing newline", Config{Secret: testSecret + "\n"}, "secret: has leading or trailing white space"},
		{"short", Config{Secret: "hunter2"}, "secret: shorter than 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseConcurrent(t *testing.T) {
	w := newTestWebhook(t)
	d := signed(readFile(t, "incident_with_resources.json"), "2026-04-21T18:05:00Z")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := w.Parse(t.Context(), d); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".json" {
			f.Add(readFile(f, e.Name()), "2026-04-21T18:05:10.000Z")
		}
	}
	f.Add([]byte(`{"incidentId":1e400,"title":"t","data":{"links":[{"url":"http://[::1"}]}}`), "1776794710250")
	w := newTestWebhook(f)
	f.Fuzz(func(t *testing.T, body []byte, ts string) {
		for _, d := range []engine.Delivery{signed(body, ts), {Header: http.Header{}, Body: body, Received: now}} {
			alerts, err := w.Parse(context.Background(), d)
			if err != nil {
				if engine.ErrorCode(err) == "" {
					t.Fatalf("untyped error %v", err)
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Fatalf("error %q contains the secret", err)
				}
				continue
			}
			if len(alerts) != 1 {
				t.Fatalf("%d alerts", len(alerts))
			}
			a := alerts[0]
			if a.Title == "" || !strings.HasPrefix(a.Fingerprint, "generic:") || len(a.Fingerprint) == len("generic:") ||
				!strings.HasPrefix(a.DeliveryID, strings.TrimPrefix(a.Fingerprint, "generic:")+":") || a.StartsAt.IsZero() {
				t.Fatalf("incomplete alert %+v", a)
			}
			if _, err := json.Marshal(a); err != nil {
				t.Fatalf("alert does not marshal: %v", err)
			}
		}
	})
}
