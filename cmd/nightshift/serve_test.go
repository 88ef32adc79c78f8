package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-ops/nightshift/engine/journal"
	"github.com/nightshift-ops/nightshift/store"
)

// testRedisURL is the real Redis the end-to-end tests use, or "" (embedded)
// when none answers outside CI.
func testRedisURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("NIGHTSHIFT_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/15"
	}
	st, err := store.Open(store.Config{URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("real Redis at %s: %v", url, err)
		}
		t.Logf("no real Redis (%v); using the embedded store", err)
		return ""
	}
	return url
}

const testConfig = `
listen: 127.0.0.1:0
redis: {url: "%s", prefix: "%s"}
api: {token: api-secret}
spaces:
  - name: payments
    sources:
      pagerduty: {secret: pd-secret}
      alertmanager: {token: am-token}
      grafana: {token: grafana-token}
      datadog: {token: dd-token}
      generic: {secret: generic-secret-0123456789}
      cloudwatch: {topic_arns: ["arn:aws:sns:us-east-1:111122223333:alarms"]}
`

// newTestServer builds the real server from a config file, backed by real
// Redis under a fresh prefix (or the embedded store).
func newTestServer(t *testing.T, redisURL string) (*httptest.Server, *app) {
	t.Helper()
	store.SetLogger(slog.New(slog.DiscardHandler))
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "e2e:" + hex.EncodeToString(b[:]) + ":"
	cfg, err := ParseConfig("test.yaml", []byte(fmt.Sprintf(testConfig, redisURL, prefix)), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := build(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a.server)
	t.Cleanup(func() {
		ts.Close()
		if redisURL != "" {
			cleanup(context.Background(), a.store.Client(), prefix)
		}
		a.store.Close()
	})
	return ts, a
}

type hookReply struct {
	Alerts []struct {
		ID, Investigation, Decision string
		Score                       float64
		Reasons                     string
	} `json:"alerts"`
	Error string `json:"error"`
}

func post(t *testing.T, url string, body []byte, hdr map[string]string) (int, hookReply, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r hookReply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("reply %d is not JSON: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, r, resp.Header
}

func pdSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func pdPayload(id, incident string) []byte {
	return []byte(fmt.Sprintf(`{"event":{"id":%q,"event_type":"incident.triggered","resource_type":"incident",
"occurred_at":"2026-11-01T02:00:00Z","agent":null,"client":null,"data":{"id":%q,"type":"incident",
"self":"https://api.pagerduty.com/incidents/%[2]s","html_url":"https://acme.pagerduty.com/incidents/%[2]s","number":7,
"status":"triggered","title":"Checkout error rate above 5%%","service":{"id":"PSVC","summary":"checkout","type":"service_reference"},
"assignees":[],"teams":[],"priority":null,"urgency":"high","conference_bridge":null,"resolve_reason":null}}}`, id, incident))
}

func amPayloadFor(service, region, status, fp string) []byte {
	return []byte(fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"HighErrorRate\"}","status":%q,"receiver":"nightshift",
"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","alerts":[{"status":%[1]q,
"labels":{"alertname":"HighErrorRate","service":%q,"region":%q,"namespace":"shop","deployment":"checkout","severity":"critical"},
"annotations":{"summary":"checkout 5xx above 5%%"},"startsAt":"2026-11-01T02:01:00Z","endsAt":"0001-01-01T00:00:00Z",
"generatorURL":"http://prom:9090/graph","fingerprint":%q}]}`, status, service, region, fp))
}

func grafanaPayload() []byte {
	return []byte(`{"receiver":"nightshift","status":"firing","orgId":1,"alerts":[{"status":"firing",
"labels":{"alertname":"CheckoutLatency","service":"checkout","region":"us-east-1","grafana_folder":"shop"},
"annotations":{"summary":"checkout p99 above 2s"},"startsAt":"2026-11-01T02:02:00Z","endsAt":"0001-01-01T00:00:00Z",
"generatorURL":"http://grafana/alerting/1/edit","fingerprint":"a1b2c3d4e5f60708","silenceURL":"http://grafana/silence",
"dashboardURL":"","panelURL":"","values":{"B":2.4}}],"groupLabels":{"alertname":"CheckoutLatency"},"commonLabels":{},
"commonAnnotations":{},"externalURL":"http://grafana/","version":"1","groupKey":"{}:{alertname=\"CheckoutLatency\"}",
"truncatedAlerts":0,"title":"[FIRING:1] CheckoutLatency","state":"alerting","message":"checkout p99 above 2s"}`)
}

func datadogPayload() []byte {
	return []byte(`{"id":"7012345678901234567","title":"[Triggered] checkout error budget burn","body":"error budget burning",
"last_updated":"1793584980000","event_type":"query_alert_monitor","alert_id":"1234567","alert_transition":"Triggered",
"alert_scope":"service:checkout,region:us-east-1","tags":"service:checkout,region:us-east-1,env:prod","priority":"P1",
"link":"https://app.datadoghq.com/event/event?id=7012345678901234567","org":{"id":"1","name":"acme"},"date":"1793584980000"}`)
}

// Four alerts about one outage from four senders make one investigation.
func TestServeFourSendersOneInvestigation(t *testing.T) {
	ts, a := newTestServer(t, testRedisURL(t))
	hooks := ts.URL + "/hooks/payments/"
	pd := pdPayload("01EVT", "PINC1")
	steps := []struct {
		source string
		body   []byte
		hdr    map[string]string
	}{
		{"pagerduty", pd, map[string]string{"X-PagerDuty-Signature": pdSign("pd-secret", pd)}},
		{"alertmanager", amPayloadFor("checkout", "us-east-1", "firing", "0123456789abcdef"), map[string]string{"Authorization": "Bearer am-token"}},
		{"grafana", grafanaPayload(), map[string]string{"Authorization": "Bearer grafana-token"}},
		{"datadog", datadogPayload(), map[string]string{"Authorization": "Bearer dd-token"}},
	}
	var inv string
	for i, s := range steps {
		code, r, _ := post(t, hooks+s.source, s.body, s.hdr)
		if code != 200 || len(r.Alerts) != 1 {
			t.Fatalf("%s: %d %+v", s.source, code, r)
		}
		got := r.Alerts[0]
		if i == 0 {
			inv = got.Investigation
			if got.Decision != "new" {
				t.Fatalf("first alert: %+v", got)
			}
			continue
		}
		if got.Decision != "linked" || got.Investigation != inv || got.Score < 0.6 || !strings.Contains(got.Reasons, "same service") {
			t.Errorf("%s: %+v, want linked into %s", s.source, got, inv)
		}
	}
	// A redelivery is a duplicate and changes nothing.
	code, r, _ := post(t, hooks+"pagerduty", pd, map[string]string{"X-PagerDuty-Signature": pdSign("pd-secret", pd)})
	if code != 200 || r.Alerts[0].Decision != "duplicate" || r.Alerts[0].Investigation != inv {
		t.Fatalf("redelivery: %d %+v", code, r)
	}
	// The read API shows one active investigation with four alerts and an intact journal.
	var view struct {
		ID         string `json:"id"`
		AlertCount int    `json:"alert_count"`
		Alerts     []struct {
			Decision string  `json:"decision"`
			Score    float64 `json:"score"`
		} `json:"alerts"`
		Journal []journal.Entry `json:"journal"`
	}
	getJSON(t, ts.URL+"/api/v1/spaces/payments/investigations/"+inv, "api-secret", 200, &view)
	if view.AlertCount != 4 || len(view.Alerts) != 4 {
		t.Fatalf("investigation view: %+v", view)
	}
	if err := journal.Verify(view.Journal); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Investigations []struct{ ID string } `json:"investigations"`
	}
	getJSON(t, ts.URL+"/api/v1/spaces/payments/investigations?status=active", "api-secret", 200, &list)
	if len(list.Investigations) != 1 || list.Investigations[0].ID != inv {
		t.Fatalf("active list: %+v", list)
	}
	getJSON(t, ts.URL+"/api/v1/spaces/payments/investigations", "wrong", 401, nil)
	getJSON(t, ts.URL+"/api/v1/spaces/nope/investigations", "api-secret", 404, nil)
	getJSON(t, ts.URL+"/api/v1/spaces/payments/investigations?status=weird", "api-secret", 400, nil)
	getJSON(t, ts.URL+"/api/v1/spaces/payments/investigations/inv_missing", "api-secret", 404, nil)

	// Unlink the Datadog alert into a fresh investigation.
	alertID := view.Alerts[3]
	_ = alertID
	var links struct {
		Alerts []struct {
			AlertID string `json:"alert_id"`
			Source  string `json:"source"`
		} `json:"alerts"`
	}
	getJSON(t, ts.URL+"/api/v1/spaces/payments/investigations/"+inv, "api-secret", 200, &links)
	var ddID string
	for _, l := range links.Alerts {
		if l.Source == "datadog" {
			ddID = l.AlertID
		}
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/spaces/payments/alerts/"+ddID+"/unlink", nil)
	req.Header.Set("Authorization", "Bearer api-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ur hookReply
	json.NewDecoder(resp.Body).Decode(&ur)
	resp.Body.Close()
	if resp.StatusCode != 200 || ur.Alerts[0].Decision != "unlinked" || ur.Alerts[0].Investigation == inv {
		t.Fatalf("unlink: %d %+v", resp.StatusCode, ur)
	}
	getJSON(t, ts.URL+"/api/v1/spaces/payments/investigations?status=active", "api-secret", 200, &list)
	if len(list.Investigations) != 2 {
		t.Fatalf("after unlink: %d active", len(list.Investigations))
	}
	_ = a
}

func getJSON(t *testing.T, url, token string, want int, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, raw, want)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
}

// Bad input gets the documented answer and stores nothing.
func TestServeRejections(t *testing.T) {
	ts, _ := newTestServer(t, testRedisURL(t))
	hooks := ts.URL + "/hooks/payments/"
	pd := pdPayload("01X", "PX")
	now := time.Now().UTC().Format(time.RFC3339)
	genericBody := []byte(`{"eventType":"incident","action":"created","priority":"HIGH","incidentId":"inc-1","title":"t","timestamp":"` + now + `"}`)
	genSig := func(ts string, body []byte) string {
		m := hmac.New(sha256.New, []byte("generic-secret-0123456789"))
		m.Write([]byte(ts + ":"))
		m.Write(body)
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	stale := time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339)
	tests := []struct {
		name   string
		path   string
		body   []byte
		hdr    map[string]string
		status int
		errHas string
	}{
		{"unknown space", ts.URL + "/hooks/nope/pagerduty", pd, nil, 404, "unknown space"},
		{"unknown source", hooks + "zabbix", pd, nil, 404, "not configured"},
		{"missing signature", hooks + "pagerduty", pd, nil, 401, "signature"},
		{"bad signature", hooks + "pagerduty", pd, map[string]string{"X-PagerDuty-Signature": pdSign("other", pd)}, 401, "signature"},
		{"bad bearer", hooks + "alertmanager", amPayloadFor("a", "b", "firing", "1"), map[string]string{"Authorization": "Bearer nope"}, 401, "token"},
		{"malformed body", hooks + "alertmanager", []byte(`{"alerts": 7}`), map[string]string{"Authorization": "Bearer am-token"}, 400, "alerts"},
		{"not JSON", hooks + "alertmanager", []byte(`<xml/>`), map[string]string{"Authorization": "Bearer am-token"}, 400, "JSON"},
		{"oversize", hooks + "alertmanager", bytes.Repeat([]byte("a"), 1<<20+1), map[string]string{"Authorization": "Bearer am-token"}, 413, "bytes"},
		{"stale generic", hooks + "generic", genericBody, map[string]string{"x-amzn-event-timestamp": stale, "x-amzn-event-signature": genSig(stale, genericBody)}, 401, "stale"},
		{"generic missing field", hooks + "generic", []byte(`{"title":"x"}`), map[string]string{"x-amzn-event-timestamp": now, "x-amzn-event-signature": genSig(now, []byte(`{"title":"x"}`))}, 400, "incidentId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, r, _ := post(t, tt.path, tt.body, tt.hdr)
			if code != tt.status || !strings.Contains(strings.ToLower(r.Error), strings.ToLower(tt.errHas)) {
				t.Fatalf("%d %q, want %d containing %q", code, r.Error, tt.status, tt.errHas)
			}
			for _, secret := range []string{"pd-secret", "am-token", "generic-secret-0123456789"} {
				if strings.Contains(r.Error, secret) {
					t.Fatalf("error leaks a secret: %q", r.Error)
				}
			}
		})
	}
	// A good generic delivery passes.
	code, r, _ := post(t, hooks+"generic", genericBody, map[string]string{"x-amzn-event-timestamp": now, "x-amzn-event-signature": genSig(now, genericBody)})
	if code != 200 || r.Alerts[0].Decision != "new" {
		t.Fatalf("generic: %d %+v", code, r)
	}
	// Nothing from the rejected deliveries was stored: only the generic one is active.
	var list struct {
		Investigations []struct{ ID string } `json:"investigations"`
	}
	getJSON(t, ts.URL+"/api/v1/spaces/payments/investigations?status=all", "api-secret", 200, &list)
	if len(list.Investigations) != 1 {
		t.Fatalf("%d investigations after rejections, want 1", len(list.Investigations))
	}
}

// With Redis down, intake answers 503 with Retry-After and /readyz fails;
// once Redis is back the sender's retry is stored.
func TestServeStoreOutage(t *testing.T) {
	// A Redis URL where nothing listens stands for a stopped Redis.
	ts, _ := newTestServer(t, "redis://127.0.0.1:1/0")
	body := amPayloadFor("checkout", "us-east-1", "firing", "ffff")
	code, r, hdr := post(t, ts.URL+"/hooks/payments/alertmanager", body, map[string]string{"Authorization": "Bearer am-token"})
	if code != 503 || hdr.Get("Retry-After") == "" || !strings.Contains(r.Error, "unavailable") {
		t.Fatalf("store down: %d %+v retry-after %q", code, r, hdr.Get("Retry-After"))
	}
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("/readyz with store down: %d", resp.StatusCode)
	}
	resp, _ = http.Get(ts.URL + "/healthz")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
}

func TestServeMetrics(t *testing.T) {
	ts, _ := newTestServer(t, testRedisURL(t))
	post(t, ts.URL+"/hooks/payments/alertmanager", amPayloadFor("checkout", "us-east-1", "firing", "abab"), map[string]string{"Authorization": "Bearer am-token"})
	post(t, ts.URL+"/hooks/payments/alertmanager", amPayloadFor("checkout", "us-east-1", "firing", "abab"), map[string]string{"Authorization": "Bearer nope"})
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`nightshift_alerts_total{decision="new",source="alertmanager"} 1`,
		`nightshift_requests_rejected_total{source="alertmanager",status="401"} 1`,
		`nightshift_intake_duration_seconds_count{source="alertmanager"} 1`,
		`nightshift_active_investigations{space="payments"} 1`,
		`nightshift_store_errors_total 0`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
