package cloudwatch

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nightshift-ops/nightshift/engine"
)

// Topics of the recorded payloads.
const (
	topicCloudforet = "arn:aws:sns:ap-northeast-2:257706363616:spaceone-notification"
	topicLita       = "arn:aws:sns:ap-northeast-1:863886017929:developers"
	topicExample    = "arn:aws:sns:EXAMPLE"
	topicFuzz       = "arn:aws:sns:us-east-1:123456789012:fuzz"

	// testCertURL is where the fake fetcher serves the local test certificate
	// to messages whose own URL is a placeholder.
	testCertURL    = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-local-test.pem"
	expiredCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-expired.pem"
	missingCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-missing.pem"
	garbageCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-garbage.pem"
	fuzzCertURL    = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-fuzz.pem"
	awsCertURL     = "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
)

var awsSignedTopics = []string{
	"arn:aws:sns:us-east-2:295079676684:publish-and-verify-892f85fe-4836-424d-8188-ab85bef0f362",
	"arn:aws:sns:us-east-2:295079676684:publish-and-verify-62674b1d-4295-426b-88e7-5fb75652a04e",
	"arn:aws:sns:us-east-2:295079676684:publish-and-verify-6e11fed2-fcdf-4c52-9dc4-36ef43f37f84",
	"arn:aws:sns:us-east-2:295079676684:publish-and-verify-530b26da-0687-4fe4-9f71-780bad3181e2",
}

// testPKI is a locally generated signing key with a self-signed certificate
// valid over every recorded payload's date, plus an expired one for the
// same key. Generated once: RSA key generation is slow under -race.
type testPKI struct {
	key        *rsa.PrivateKey
	certPEM    []byte
	expiredPEM []byte
	otherKey   *rsa.PrivateKey // signs nothing the fetcher vouches for

	// fuzzKey and fuzzPEM are a smaller key and its certificate, for the
	// fuzzer's sake: it signs on every run.
	fuzzKey *rsa.PrivateKey
	fuzzPEM []byte
}

var pki = sync.OnceValue(func() *testPKI {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	fuzzKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return &testPKI{
		key:        key,
		otherKey:   other,
		fuzzKey:    fuzzKey,
		fuzzPEM:    selfSigned(fuzzKey, date("2010-01-01T00:00:00Z"), date("2040-01-01T00:00:00Z")),
		certPEM:    selfSigned(key, date("2010-01-01T00:00:00Z"), date("2040-01-01T00:00:00Z")),
		expiredPEM: selfSigned(key, date("2010-01-01T00:00:00Z"), date("2012-01-01T00:00:00Z")),
	}
})

func selfSigned(key *rsa.PrivateKey, notBefore, notAfter time.Time) []byte {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fakeFetcher serves certificates from memory: certs[url] when present (nil
// meaning not found), else fallback.
type fakeFetcher struct {
	certs    map[string][]byte
	fallback []byte

	mu      sync.Mutex
	fetched []string
}

func (f *fakeFetcher) Fetch(_ context.Context, url string) ([]byte, error) {
	f.mu.Lock()
	f.fetched = append(f.fetched, url)
	f.mu.Unlock()
	data, ok := f.certs[url]
	if !ok {
		data = f.fallback
	}
	if data == nil {
		return nil, errors.New("404 Not Found")
	}
	return data, nil
}

func newFetcher(t testing.TB) *fakeFetcher {
	t.Helper()
	awsPEM, err := os.ReadFile("testdata/sns_signature/sns_signing_cert_us-east-2_2021.pem")
	if err != nil {
		t.Fatal(err)
	}
	return &fakeFetcher{
		certs: map[string][]byte{
			awsCertURL:     awsPEM,
			expiredCertURL: pki().expiredPEM,
			missingCertURL: nil,
			garbageCertURL: []byte("<html>not a certificate</html>"),
			fuzzCertURL:    pki().fuzzPEM,
		},
		fallback: pki().certPEM,
	}
}

// fakeDoer records requests and answers with status.
type fakeDoer struct {
	status int

	mu   sync.Mutex
	reqs []string
}

func (d *fakeDoer) Do(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.reqs = append(d.reqs, r.Method+" "+r.URL.String())
	d.mu.Unlock()
	return &http.Response{StatusCode: d.status, Status: http.StatusText(d.status), Body: io.NopCloser(strings.NewReader("<ConfirmSubscriptionResponse/>"))}, nil
}

func (d *fakeDoer) requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.reqs...)
}

func newTestWebhook(t testing.TB, cfg Config, opts ...Option) *Webhook {
	t.Helper()
	if cfg.TopicARNs == nil {
		cfg.TopicARNs = append([]string{topicCloudforet, topicLita, topicExample, topicFuzz}, awsSignedTopics...)
	}
	opts = append([]Option{WithCertFetcher(newFetcher(t)), WithDoer(&fakeDoer{status: 200})}, opts...)
	w, err := NewWebhook(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// stringToSign is the test's own rendering of the SNS canonical form,
// written from the AWS documentation apart from the code under test.
func stringToSign(m map[string]any) (string, bool) {
	keys := []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	if m["Type"] != "Notification" {
		keys = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	}
	var b strings.Builder
	for _, k := range keys {
		v, ok := m[k]
		if k == "Subject" && (!ok || v == nil) {
			continue
		}
		if v == nil {
			v = ""
		}
		s, ok := v.(string)
		if !ok {
			return "", false
		}
		fmt.Fprintf(&b, "%s\n%s\n", k, s)
	}
	return b.String(), true
}

// signWith signs an SNS message map in place with SignatureVersion version.
func signWith(m map[string]any, key *rsa.PrivateKey, version string) bool {
	sts, ok := stringToSign(m)
	if !ok {
		return false
	}
	h := crypto.SHA1
	if version == "2" {
		h = crypto.SHA256
	}
	d := h.New()
	d.Write([]byte(sts))
	sig, err := rsa.SignPKCS1v15(nil, key, h, d.Sum(nil))
	if err != nil {
		panic(err)
	}
	m["SignatureVersion"] = version
	m["Signature"] = base64.StdEncoding.EncodeToString(sig)
	return true
}

func decodeMap(t testing.TB, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// resign re-signs every SNS message in body (the message itself, or each
// Records[].Sns) after applying edit, and returns the new body.
func resign(t testing.TB, body []byte, version string, edit func(map[string]any)) []byte {
	t.Helper()
	doc := decodeMap(t, body)
	msgs := []map[string]any{doc}
	if recs, ok := doc["Records"].([]any); ok {
		msgs = nil
		for _, r := range recs {
			msgs = append(msgs, r.(map[string]any)["Sns"].(map[string]any))
		}
	}
	for _, m := range msgs {
		for _, k := range []string{"SigningCertURL", "SigningCertUrl"} {
			if u, ok := m[k].(string); ok && !strings.HasPrefix(u, "https://") {
				m[k] = testCertURL
			}
		}
		if edit != nil {
			edit(m)
		}
		if !signWith(m, pki().key, version) {
			t.Fatal("message has non-string signed fields")
		}
	}
	return encode(t, doc)
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// receivedAfter is a minute after the message's own timestamp.
func receivedAfter(t testing.TB, body []byte) time.Time {
	t.Helper()
	doc := decodeMap(t, body)
	if recs, ok := doc["Records"].([]any); ok {
		doc = recs[0].(map[string]any)["Sns"].(map[string]any)
	}
	return date(doc["Timestamp"].(string)).Add(time.Minute)
}

func delivery(body []byte, received time.Time) engine.Delivery {
	return engine.Delivery{Space: "prod", Header: http.Header{"Content-Type": {"text/plain; charset=UTF-8"}}, Body: body, Received: received}
}

func TestParseRecordedAlarms(t *testing.T) {
	const (
		ec2Reason = "Threshold Crossed: 1 out of the last 1 datapoints [17.2564528039004 (23/06/21 08:31:00)] was greater than the threshold (15.0) (minimum 1 datapoint for OK -> ALARM transition)."
		okReason  = "Thresholds Crossed: 1 out of the last 1 datapoints [0.46522264287069004 (27/06/21 13:52:00)] was not less than the lower thresholds [0.4129373661576242] or not greater than the upper thresholds [0.4700330400585261] (minimum 1 datapoint for ALARM -> OK transition)."
		exReason  = "Threshold Crossed: 1 out of the last 1 datapoints [1234.0 (06/03/15 17:43:27)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition)."
	)
	tests := []struct {
		file      string
		want      []engine.Alert // Raw is filled in with the body sent
		wantField string         // for payloads that are refused
	}{{
		file: "cloudforet_http_alarm_ALARM_ec2_cpu.json",
		want: []engine.Alert{{
			Source:      engine.SourceCloudWatch,
			DeliveryID:  "e7c82e01-7cd8-5569-9ac1-774d893afc01",
			Fingerprint: "cloudwatch:arn:aws:cloudwatch:ap-northeast-2:257706363616:alarm:EC2-CPU",
			Title:       "EC2-CPU",
			Description: ec2Reason,
			Severity:    engine.SeverityCritical,
			Status:      engine.AlertFiring,
			Resources:   []string{"aws/ec2/i-0f672ea50a80cda4b"},
			Account:     "257706363616",
			Region:      "ap-northeast-2",
			Labels:      map[string]string{"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "dim_InstanceId": "i-0f672ea50a80cda4b"},
			StartsAt:    date("2021-06-23T08:41:06.622Z"),
			Links:       []engine.Link{{Text: "CloudWatch alarm", URL: "https://ap-northeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-2#alarmsV2:alarm/EC2-CPU"}},
		}},
	}, {
		file: "cloudforet_http_alarm_OK_containerinsights.json",
		want: []engine.Alert{{
			Source:      engine.SourceCloudWatch,
			DeliveryID:  "448b4055-f4e5-5887-a547-190771c6686b",
			Fingerprint: "cloudwatch:arn:aws:cloudwatch:ap-northeast-2:257706363616:alarm:ContainerInsight-pod_cpu_utilization",
			Title:       "ContainerInsight-pod_cpu_utilization",
			Description: okReason,
			Severity:    engine.SeverityInfo,
			Status:      engine.AlertResolved,
			Resources:   []string{"k8s/cloudone-dev-v1-eks-cluster"},
			Account:     "257706363616",
			Region:      "ap-northeast-2",
			Labels:      map[string]string{"namespace": "ContainerInsights", "metric_name": "pod_cpu_utilization", "dim_ClusterName": "cloudone-dev-v1-eks-cluster"},
			StartsAt:    date("2021-06-27T13:53:39.351Z"),
			EndsAt:      date("2021-06-27T13:53:39.351Z"),
			Links:       []engine.Link{{Text: "CloudWatch alarm", URL: "https://ap-northeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-2#alarmsV2:alarm/ContainerInsight-pod_cpu_utilization"}},
		}},
	}, {
		// No AlarmArn and an old display name for the region ("APAC - Tokyo"):
		// region from the topic, fingerprint from account, region and name.
		file: "lita_http_cloudwatch_alarm_notification.json",
		want: []engine.Alert{{
			Source:      engine.SourceCloudWatch,
			DeliveryID:  "f1cd789a-df69-5dc4-bd54-36419e0f72c4",
			Fingerprint: "cloudwatch:863886017929/ap-northeast-1/api-1 - Network In",
			Title:       "api-1 - Network In",
			Description: "Threshold Crossed: 1 datapoint (2024818.75) was greater than or equal to the threshold (2000000.0).",
			Severity:    engine.SeverityCritical,
			Status:      engine.AlertFiring,
			Resources:   []string{"aws/ec2/i-bc8dcaa5"},
			Account:     "863886017929",
			Region:      "ap-northeast-1",
			Labels:      map[string]string{"namespace": "AWS/EC2", "metric_name": "NetworkIn", "dim_InstanceId": "i-bc8dcaa5"},
			StartsAt:    date("2015-12-04T07:22:14.394Z"),
			Links:       []engine.Link{{Text: "CloudWatch alarm", URL: "https://ap-northeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-1#alarmsV2:alarm/api-1%20-%20Network%20In"}},
		}},
	}, {
		// Placeholder ARNs: no region code anywhere, so no region and no link.
		file: "aws-lambda-go_cloudwatch-alarm-sns-payload-single-metric.json",
		want: []engine.Alert{{
			Source:      engine.SourceCloudWatch,
			DeliveryID:  "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
			Fingerprint: "cloudwatch:arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE",
			Title:       "EXAMPLE",
			Description: "EXAMPLE\n\n" + exReason,
			Severity:    engine.SeverityCritical,
			Status:      engine.AlertFiring,
			Resources:   []string{"aws/ec2/TestInstance"},
			Account:     "123456789012",
			Labels:      map[string]string{"namespace": "AWS/EC2", "metric_name": "NetworkOut", "dim_InstanceId": "TestInstance"},
			StartsAt:    date("2015-06-03T17:43:27.123Z"),
		}},
	}, {
		// Metric math: the metric and its dimensions come from Trigger.Metrics.
		file: "aws-lambda-go_cloudwatch-alarm-sns-payload-multiple-metrics.json",
		want: []engine.Alert{{
			Source:      engine.SourceCloudWatch,
			DeliveryID:  "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
			Fingerprint: "cloudwatch:arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE",
			Title:       "EXAMPLE",
			Description: "EXAMPLE\n\n" + exReason,
			Severity:    engine.SeverityCritical,
			Status:      engine.AlertFiring,
			Resources:   []string{"aws/ec2/TestInstance"},
			Account:     "EXAMPLE",
			Labels:      map[string]string{"namespace": "AWS/EC2", "metric_name": "NetworkOut", "dim_InstanceId": "TestInstance"},
			StartsAt:    date("2015-06-03T17:43:27.123Z"),
		}},
	}, {
		file:      "aws-lambda-go_sns-event.json",
		wantField: "Records[0].Sns.Message",
	}}
	for _, tt := range tests {
		for _, version := range []string{"1", "2"} {
			t.Run(tt.file+"/v"+version, func(t *testing.T) {
				body := resign(t, readFile(t, tt.file), version, nil)
				w := newTestWebhook(t, Config{})
				got, err := w.Parse(t.Context(), delivery(body, receivedAfter(t, body)))
				if tt.wantField != "" {
					var e *engine.Error
					if !errors.As(err, &e) || e.Code != engine.CodeInvalid || e.Field != tt.wantField {
						t.Fatalf("Parse() error = %v, want invalid %s", err, tt.wantField)
					}
					return
				}
				if err != nil {
					t.Fatalf("Parse() error = %v", err)
				}
				for i := range tt.want {
					tt.want[i].Raw = body
				}
				if diff := cmp.Diff(got, tt.want); diff != "" {
					t.Errorf("Parse() mismatch (-got +want):\n%s", diff)
				}
			})
		}
	}
}

// TestParseAWSSignedMessages checks the verifier against signatures made by
// AWS itself. The messages are "Hello world", not alarms, so a message that
// passes authentication is then refused as not an alarm (400 on Message);
// anything else means verification went wrong.
func TestParseAWSSignedMessages(t *testing.T) {
	received := date("2022-07-28T23:00:00Z")
	for _, file := range []string{"sns_signature/signed_http_notifications.json", "sns_signature/signed_lambda_style_notifications.json"} {
		var msgs []json.RawMessage
		if err := json.Unmarshal(readFile(t, file), &msgs); err != nil {
			t.Fatal(err)
		}
		for i, msg := range msgs {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(file), i), func(t *testing.T) {
				w := newTestWebhook(t, Config{})
				_, err := w.Parse(t.Context(), delivery(msg, received))
				assertError(t, err, engine.CodeInvalid, "Message: not a CloudWatch alarm")

				// The same bytes with one signed field changed.
				tampered := bytes.Replace(msg, []byte(`"Hello world"`), []byte(`"Hello world!"`), 1)
				_, err = w.Parse(t.Context(), delivery(tampered, received))
				assertError(t, err, engine.CodeUnauthorized, "bad signature")

				// A SubscriptionConfirmation canonical form over the same fields
				// must not verify: the type is part of what is signed.
				doc := decodeMap(t, msg)
				doc["Type"] = "UnsubscribeConfirmation"
				_, err = w.Parse(t.Context(), delivery(encode(t, doc), received))
				assertError(t, err, engine.CodeUnauthorized, "bad signature")

				// Replayed a day later.
				_, err = w.Parse(t.Context(), delivery(msg, received.Add(24*time.Hour)))
				assertError(t, err, engine.CodeUnauthorized, "stale timestamp")
			})
		}
	}
}

func assertError(t *testing.T, err error, code engine.Code, public string) {
	t.Helper()
	var e *engine.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want *engine.Error %s %q", err, code, public)
	}
	if e.Code != code || e.Public() != public {
		t.Fatalf("error = %s %q (%v), want %s %q", e.Code, e.Public(), err, code, public)
	}
}

func TestParseAuthFailures(t *testing.T) {
	base := readFile(t, "cloudforet_http_alarm_ALARM_ec2_cpu.json")
	received := receivedAfter(t, base)
	tests := []struct {
		name     string
		body     func(t *testing.T) []byte
		received time.Time
		code     engine.Code
		public   string
	}{{
		name: "tampered message",
		body: func(t *testing.T) []byte {
			m := decodeMap(t, resign(t, base, "2", nil))
			m["Message"] = strings.Replace(m["Message"].(string), `"ALARM"`, `"OK"`, 1)
			return encode(t, m)
		},
		code: engine.CodeUnauthorized, public: "bad signature",
	}, {
		name: "subject removed after signing",
		body: func(t *testing.T) []byte {
			m := decodeMap(t, resign(t, base, "1", nil))
			delete(m, "Subject")
			return encode(t, m)
		},
		code: engine.CodeUnauthorized, public: "bad signature",
	}, {
		name: "signed as version 1, declared as version 2",
		body: func(t *testing.T) []byte {
			m := decodeMap(t, resign(t, base, "1", nil))
			m["SignatureVersion"] = "2"
			return encode(t, m)
		},
		code: engine.CodeUnauthorized, public: "bad signature",
	}, {
		name: "signed with a key the certificate does not hold",
		body: func(t *testing.T) []byte {
			m := decodeMap(t, base)
			signWith(m, pki().otherKey, "2")
			return encode(t, m)
		},
		code: engine.CodeUnauthorized, public: "bad signature",
	}, {
		name: "signature not base64",
		body: func(t *testing.T) []byte {
			m := decodeMap(t, resign(t, base, "1", nil))
			m["Signature"] = "not base64!"
			return encode(t, m)
		},
		code: engine.CodeUnauthorized, public: "bad signature",
	}, {
		name: "missing signature",
		body: func(t *testing.T) []byte {
			m := decodeMap(t, base)
			delete(m, "Signature")
			return encode(t, m)
		},
		code: engine.CodeUnauthorized, public: "missing signature",
	}, {
		name: "missing signing certificate URL",
		body: func(t *testing.T) []byte {
			m := decodeMap(t, resign(t, base, "1", nil))
			delete(m, "SigningCertURL")
			return encode(t, m)
		},
		code: engine.CodeUnauthorized, public: "missing signing certificate URL",
	}, {
		name: "unsupported signature version",
		body: func(t *testing.T) []byte {
			m := decodeMap(t, resign(t, base, "1", nil))
			m["SignatureVersion"] = "3"
			return encode(t, m)
		},
		code: engine.CodeUnauthorized, public: "unsupported signature version",
	}, {
		name: "certificate over http",
		body: func(t *testing.T) []byte {
			return resign(t, base, "1", func(m map[string]any) {
				m["SigningCertURL"] = "http://sns.ap-northeast-2.amazonaws.com/SimpleNotificationService-010a507c1833636cd94bdb98bd93083a.pem"
			})
		},
		code: engine.CodeUnauthorized, public: "signing certificate URL is not https",
	}, {
		name: "certificate host not allowed",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) {
				m["SigningCertURL"] = "https://sns.ap-northeast-2.amazonaws.com.attacker.example/SimpleNotificationService-x.pem"
			})
		},
		code: engine.CodeUnauthorized, public: "signing certificate host not allowed",
	}, {
		name: "certificate host hidden behind userinfo",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) {
				m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com@attacker.example/x.pem"
			})
		},
		code: engine.CodeUnauthorized, public: "signing certificate host not allowed",
	}, {
		name: "certificate host with a port",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) {
				m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com:8443/x.pem"
			})
		},
		code: engine.CodeUnauthorized, public: "signing certificate host not allowed",
	}, {
		name: "certificate URL not a .pem",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) {
				m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&x=.pem"
			})
		},
		code: engine.CodeUnauthorized, public: "signing certificate URL is not a .pem file",
	}, {
		name: "expired certificate",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) { m["SigningCertURL"] = expiredCertURL })
		},
		code: engine.CodeUnauthorized, public: "signing certificate expired",
	}, {
		name: "certificate not yet valid",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) { m["Timestamp"] = "2009-06-01T00:00:00.000Z" })
		},
		received: date("2009-06-01T00:01:00Z"),
		code:     engine.CodeUnauthorized, public: "signing certificate not yet valid",
	}, {
		name: "certificate cannot be fetched",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) { m["SigningCertURL"] = missingCertURL })
		},
		code: engine.CodeUnavailable, public: "signing certificate unavailable",
	}, {
		name: "certificate not PEM",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) { m["SigningCertURL"] = garbageCertURL })
		},
		code: engine.CodeUnauthorized, public: "bad signing certificate",
	}, {
		name: "topic not allowed",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) {
				m["TopicArn"] = "arn:aws:sns:ap-northeast-2:999999999999:someone-elses-topic"
			})
		},
		code: engine.CodeUnauthorized, public: "topic not allowed",
	}, {
		name:     "stale timestamp",
		body:     func(t *testing.T) []byte { return resign(t, base, "2", nil) },
		received: received.Add(7 * time.Hour),
		code:     engine.CodeUnauthorized, public: "stale timestamp",
	}, {
		name:     "timestamp in the future",
		body:     func(t *testing.T) []byte { return resign(t, base, "2", nil) },
		received: received.Add(-10 * time.Minute),
		code:     engine.CodeUnauthorized, public: "stale timestamp",
	}, {
		name: "missing timestamp",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) { delete(m, "Timestamp") })
		},
		code: engine.CodeUnauthorized, public: "missing timestamp",
	}, {
		name: "bad timestamp",
		body: func(t *testing.T) []byte {
			return resign(t, base, "2", func(m map[string]any) { m["Timestamp"] = "yesterday" })
		},
		code: engine.CodeUnauthorized, public: "bad timestamp",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body(t)
			rcv := received
			if !tt.received.IsZero() {
				rcv = tt.received
			}
			fetcher := newFetcher(t)
			w := newTestWebhook(t, Config{}, WithCertFetcher(fetcher))
			got, err := w.Parse(t.Context(), delivery(body, rcv))
			if got != nil {
				t.Errorf("Parse() alerts = %v, want none", got)
			}
			assertError(t, err, tt.code, tt.public)
			if tt.public == "topic not allowed" && len(fetcher.fetched) > 0 {
				t.Errorf("fetched %v for a topic that is not allowed", fetcher.fetched)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	alarmBody := readFile(t, "cloudforet_http_alarm_ALARM_ec2_cpu.json")
	withMessage := func(msg string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			return resign(t, alarmBody, "2", func(m map[string]any) { m["Message"] = msg })
		}
	}
	withAlarm := func(edit func(a map[string]any)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			return resign(t, alarmBody, "2", func(m map[string]any) {
				a := decodeMap(t, []byte(m["Message"].(string)))
				edit(a)
				m["Message"] = string(encode(t, a))
			})
		}
	}
	lambda := readFile(t, "aws-lambda-go_cloudwatch-alarm-sns-payload-single-metric.json")
	tests := []struct {
		name  string
		body  func(t *testing.T) []byte
		field string
	}{
		{"empty body", func(*testing.T) []byte { return nil }, "body"},
		{"not JSON", func(*testing.T) []byte { return []byte(`{"Type": "Notification",`) }, "body"},
		{"JSON array", func(*testing.T) []byte { return []byte(`[1,2]`) }, "body"},
		{"Type not a string", func(*testing.T) []byte { return []byte(`{"Type": 1}`) }, "Type"},
		{"no Type, no Records", func(*testing.T) []byte { return []byte(`{"Message": "hi"}`) }, "Type"},
		{"unknown Type", func(t *testing.T) []byte {
			return resign(t, alarmBody, "1", func(m map[string]any) { m["Type"] = "Notice" })
		}, "Type"},
		{"empty Records", func(*testing.T) []byte { return []byte(`{"Records": []}`) }, "Records"},
		{"Records with a confirmation", func(t *testing.T) []byte {
			return resign(t, lambda, "1", func(m map[string]any) { m["Type"] = "SubscriptionConfirmation" })
		}, "Records[0].Sns.Type"},
		{"Message not JSON", withMessage("Hello world"), "Message"},
		{"Message another JSON document", withMessage(`{"Records":[{"eventSource":"aws:s3"}]}`), "Message"},
		{"Message a JSON string", withMessage(`"ALARM"`), "Message"},
		{"Message with ill-typed dimensions", withMessage(`{"AlarmName":"x","NewStateValue":"ALARM","Trigger":{"Dimensions":"InstanceId"}}`), "Message.Trigger.Dimensions"},
		{"no AlarmName", withAlarm(func(a map[string]any) { delete(a, "AlarmName") }), "Message.AlarmName"},
		{"no NewStateValue", withAlarm(func(a map[string]any) { delete(a, "NewStateValue") }), "Message.NewStateValue"},
		{"unknown NewStateValue", withAlarm(func(a map[string]any) { a["NewStateValue"] = "SNOOZED" }), "Message.NewStateValue"},
		{"bad StateChangeTime", withAlarm(func(a map[string]any) { a["StateChangeTime"] = "23/06/21 08:41" }), "Message.StateChangeTime"},
		{"no MessageId", func(t *testing.T) []byte {
			return resign(t, alarmBody, "1", func(m map[string]any) { delete(m, "MessageId") })
		}, "MessageId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTestWebhook(t, Config{})
			_, err := w.Parse(t.Context(), delivery(tt.body(t), receivedAfter(t, alarmBody)))
			var e *engine.Error
			if !errors.As(err, &e) || e.Code != engine.CodeInvalid || e.Field != tt.field {
				t.Fatalf("Parse() error = %v, want invalid %s", err, tt.field)
			}
		})
	}
}

// TestParseLambdaRecords checks that every record of a Lambda event is
// authenticated on its own and becomes its own alert.
func TestParseLambdaRecords(t *testing.T) {
	single := readFile(t, "aws-lambda-go_cloudwatch-alarm-sns-payload-single-metric.json")
	doc := decodeMap(t, single)
	rec := doc["Records"].([]any)[0].(map[string]any)
	second := decodeMap(t, encode(t, rec))
	second["Sns"].(map[string]any)["MessageId"] = "second-message"
	doc["Records"] = []any{rec, second}
	two := encode(t, doc)
	received := receivedAfter(t, single)
	w := newTestWebhook(t, Config{})

	body := resign(t, two, "2", nil)
	got, err := w.Parse(t.Context(), delivery(body, received))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.DeliveryID)
	}
	if diff := cmp.Diff(ids, []string{"95df01b4-ee98-5cb9-9903-4c221d41eb5e", "second-message"}); diff != "" {
		t.Errorf("delivery ids (-got +want):\n%s", diff)
	}

	// The second record altered after signing spoils the whole delivery.
	tampered := decodeMap(t, body)
	tampered["Records"].([]any)[1].(map[string]any)["Sns"].(map[string]any)["Subject"] = "ALARM"
	_, err = w.Parse(t.Context(), delivery(encode(t, tampered), received))
	assertError(t, err, engine.CodeUnauthorized, "bad signature")
}

func TestParseStates(t *testing.T) {
	base := readFile(t, "cloudforet_http_alarm_ALARM_ec2_cpu.json")
	changed := date("2021-06-23T08:41:06.622Z")
	tests := []struct {
		state    string
		status   engine.AlertStatus
		severity engine.Severity
		endsAt   time.Time
	}{
		{"ALARM", engine.AlertFiring, engine.SeverityCritical, time.Time{}},
		{"INSUFFICIENT_DATA", engine.AlertFiring, engine.SeverityWarning, time.Time{}},
		{"OK", engine.AlertResolved, engine.SeverityInfo, changed},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			body := resign(t, base, "2", func(m map[string]any) {
				a := decodeMap(t, []byte(m["Message"].(string)))
				a["NewStateValue"] = tt.state
				m["Message"] = string(encode(t, a))
			})
			got, err := newTestWebhook(t, Config{}).Parse(t.Context(), delivery(body, receivedAfter(t, body)))
			if err != nil {
				t.Fatal(err)
			}
			type summary struct {
				Fingerprint      string
				Status           engine.AlertStatus
				Severity         engine.Severity
				StartsAt, EndsAt time.Time
			}
			want := summary{"cloudwatch:arn:aws:cloudwatch:ap-northeast-2:257706363616:alarm:EC2-CPU", tt.status, tt.severity, changed, tt.endsAt}
			if diff := cmp.Diff(summary{got[0].Fingerprint, got[0].Status, got[0].Severity, got[0].StartsAt, got[0].EndsAt}, want); diff != "" {
				t.Errorf("mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestSubscriptionConfirmation(t *testing.T) {
	const subscribeURL = "https://sns.ap-northeast-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:ap-northeast-1:863886017929:developers&Token=2336412f37fb687f5d51e6e241d7700bdc2fd74df0fbef7c6648870dee1c4c87ab59fe66548b509ff18165e81a2a4c6b4b5803444bf84a10365c1104202a9d010019385e91a7c871bf84959b919966358f3e2ced05bd9bc1d08a86ac8bae46a1420da82c2b308a395058cb4cad8ba00cdf5efada5812e150171241d95acd5153"
	recorded := readFile(t, "lita_http_subscription_confirmation.json")
	received := receivedAfter(t, recorded)

	t.Run("recorded confirmation is confirmed", func(t *testing.T) {
		var logs bytes.Buffer
		doer := &fakeDoer{status: 200}
		w := newTestWebhook(t, Config{}, WithDoer(doer), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		got, err := w.Parse(t.Context(), delivery(resign(t, recorded, "1", nil), received))
		if err != nil || got != nil {
			t.Fatalf("Parse() = %v, %v; want no alerts, no error", got, err)
		}
		if diff := cmp.Diff(doer.requests(), []string{"GET " + subscribeURL}); diff != "" {
			t.Errorf("requests (-got +want):\n%s", diff)
		}
		if !strings.Contains(logs.String(), "sns subscription confirmed") || !strings.Contains(logs.String(), topicLita) {
			t.Errorf("log does not record the confirmation:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "2336412f37fb687f") {
			t.Errorf("log contains the subscription token:\n%s", logs.String())
		}
	})

	t.Run("unconfigured topic is refused without a request", func(t *testing.T) {
		doer := &fakeDoer{status: 200}
		w := newTestWebhook(t, Config{TopicARNs: []string{topicCloudforet}}, WithDoer(doer))
		_, err := w.Parse(t.Context(), delivery(resign(t, recorded, "1", nil), received))
		assertError(t, err, engine.CodeUnauthorized, "topic not allowed")
		if reqs := doer.requests(); len(reqs) != 0 {
			t.Errorf("requests = %v, want none", reqs)
		}
	})

	t.Run("forged confirmation is refused without a request", func(t *testing.T) {
		doer := &fakeDoer{status: 200}
		w := newTestWebhook(t, Config{}, WithDoer(doer))
		forged := decodeMap(t, resign(t, recorded, "1", nil))
		forged["SubscribeURL"] = "https://sns.ap-northeast-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:ap-northeast-1:666666666666:other&Token=x"
		_, err := w.Parse(t.Context(), delivery(encode(t, forged), received))
		assertError(t, err, engine.CodeUnauthorized, "bad signature")
		if reqs := doer.requests(); len(reqs) != 0 {
			t.Errorf("requests = %v, want none", reqs)
		}
	})

	t.Run("SubscribeURL on another host is not fetched", func(t *testing.T) {
		doer := &fakeDoer{status: 200}
		w := newTestWebhook(t, Config{}, WithDoer(doer))
		body := resign(t, recorded, "2", func(m map[string]any) {
			m["SubscribeURL"] = "https://attacker.example/?Action=ConfirmSubscription"
		})
		_, err := w.Parse(t.Context(), delivery(body, received))
		assertError(t, err, engine.CodeInvalid, "SubscribeURL: subscribe host not allowed")
		if reqs := doer.requests(); len(reqs) != 0 {
			t.Errorf("requests = %v, want none", reqs)
		}
	})

	// End to end over TLS with a real client: the host pattern is widened
	// to admit the local test server.
	var (
		mu  sync.Mutex
		got []string
	)
	status := http.StatusOK
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Query().Get("Action")+" "+r.URL.Query().Get("Token"))
		mu.Unlock()
		rw.WriteHeader(status)
	}))
	defer srv.Close()
	cfg := Config{CertHostPattern: `^(sns\.[a-z0-9-]+\.amazonaws\.com|127\.0\.0\.1:[0-9]+)$`}
	body := resign(t, recorded, "2", func(m map[string]any) {
		m["SubscribeURL"] = srv.URL + "/?Action=ConfirmSubscription&TopicArn=" + topicLita + "&Token=tok123"
	})

	t.Run("confirmed over https", func(t *testing.T) {
		w := newTestWebhook(t, cfg, WithDoer(srv.Client()))
		alerts, err := w.Parse(t.Context(), delivery(body, received))
		if err != nil || alerts != nil {
			t.Fatalf("Parse() = %v, %v; want no alerts, no error", alerts, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff(got, []string{"GET ConfirmSubscription tok123"}); diff != "" {
			t.Errorf("server saw (-got +want):\n%s", diff)
		}
	})

	t.Run("failed confirmation asks SNS to retry", func(t *testing.T) {
		status = http.StatusInternalServerError
		w := newTestWebhook(t, cfg, WithDoer(srv.Client()))
		_, err := w.Parse(t.Context(), delivery(body, received))
		assertError(t, err, engine.CodeUnavailable, "SNS subscription confirmation unavailable")
	})

	t.Run("unreachable SubscribeURL does not leak the token", func(t *testing.T) {
		unreachable := resign(t, recorded, "2", func(m map[string]any) {
			m["SubscribeURL"] = "https://127.0.0.1:1/?Action=ConfirmSubscription&Token=secret-token"
		})
		w := newTestWebhook(t, cfg, WithDoer(srv.Client()))
		_, err := w.Parse(t.Context(), delivery(unreachable, received))
		assertError(t, err, engine.CodeUnavailable, "SNS subscription confirmation unavailable")
		if strings.Contains(err.Error(), "secret-token") {
			t.Errorf("error %q contains the subscription token", err)
		}
	})
}

func TestUnsubscribeConfirmation(t *testing.T) {
	recorded := readFile(t, "lita_http_subscription_confirmation.json")
	body := resign(t, recorded, "1", func(m map[string]any) {
		m["Type"] = "UnsubscribeConfirmation"
		m["Message"] = "You have chosen to deactivate subscription."
	})
	var logs bytes.Buffer
	doer := &fakeDoer{status: 200}
	w := newTestWebhook(t, Config{}, WithDoer(doer), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	got, err := w.Parse(t.Context(), delivery(body, receivedAfter(t, body)))
	if err != nil || got != nil {
		t.Fatalf("Parse() = %v, %v; want no alerts, no error", got, err)
	}
	if reqs := doer.requests(); len(reqs) != 0 {
		t.Errorf("requests = %v, want none", reqs)
	}
	if !strings.Contains(logs.String(), "sns subscription ended") {
		t.Errorf("log does not record the unsubscription:\n%s", logs.String())
	}
}

func TestResources(t *testing.T) {
	dims := func(kv ...string) []dimension {
		var ds []dimension
		for i := 0; i < len(kv); i += 2 {
			ds = append(ds, dimension{Name: kv[i], Value: kv[i+1]})
		}
		return ds
	}
	tests := []struct {
		name        string
		metrics     []metric
		resources   []string
		service     string
		wantLabels  map[string]string
		checkLabels bool
	}{
		{"ec2 instance", []metric{{Namespace: "AWS/EC2", Dimensions: dims("InstanceId", "i-1")}}, []string{"aws/ec2/i-1"}, "", nil, false},
		{"cloudwatch agent instance", []metric{{Namespace: "CWAgent", Dimensions: dims("InstanceId", "i-1", "path", "/")}}, []string{"aws/ec2/i-1"}, "", nil, false},
		{"auto scaling group", []metric{{Namespace: "AWS/EC2", Dimensions: dims("AutoScalingGroupName", "web-asg")}}, []string{"aws/autoscaling/web-asg"}, "", nil, false},
		{"rds", []metric{{Namespace: "AWS/RDS", Dimensions: dims("DBInstanceIdentifier", "orders-db")}}, []string{"aws/rds/orders-db"}, "", nil, false},
		{"dynamodb", []metric{{Namespace: "AWS/DynamoDB", Dimensions: dims("TableName", "carts")}}, []string{"aws/dynamodb/carts"}, "", nil, false},
		{"lambda", []metric{{Namespace: "AWS/Lambda", Dimensions: dims("FunctionName", "checkout")}}, []string{"aws/lambda/checkout"}, "", nil, false},
		{"sqs", []metric{{Namespace: "AWS/SQS", Dimensions: dims("QueueName", "orders")}}, []string{"aws/sqs/orders"}, "", nil, false},
		{"alb", []metric{{Namespace: "AWS/ApplicationELB", Dimensions: dims("LoadBalancer", "app/web/50dc6c495c0c9188")}}, []string{"aws/elb/app/web/50dc6c495c0c9188"}, "", nil, false},
		{"api gateway", []metric{{Namespace: "AWS/ApiGateway", Dimensions: dims("ApiName", "public")}}, []string{"aws/apigateway/public"}, "", nil, false},
		{"eks cluster", []metric{{Namespace: "ContainerInsights", Dimensions: dims("ClusterName", "prod")}}, []string{"k8s/prod"}, "", nil, false},
		{"eks service", []metric{{Namespace: "ContainerInsights", Dimensions: dims("ClusterName", "prod", "Namespace", "shop", "Service", "cart")}}, []string{"k8s/prod/shop/service/cart"}, "cart", nil, false},
		{"eks pod", []metric{{Namespace: "ContainerInsights", Dimensions: dims("PodName", "cart", "ClusterName", "prod", "Namespace", "shop")}}, []string{"k8s/prod/shop/pod/cart"}, "", nil, false},
		{"eks full pod name", []metric{{Namespace: "ContainerInsights", Dimensions: dims("PodName", "cart", "FullPodName", "cart-7d9f8-x2x4q", "ClusterName", "prod", "Namespace", "shop")}}, []string{"k8s/prod/shop/pod/cart-7d9f8-x2x4q"}, "", nil, false},
		{"eks namespace", []metric{{Namespace: "ContainerInsights", Dimensions: dims("Namespace", "shop", "ClusterName", "prod")}}, []string{"k8s/prod/shop"}, "", nil, false},
		{"ecs service", []metric{{Namespace: "AWS/ECS", Dimensions: dims("ClusterName", "prod", "ServiceName", "cart")}}, []string{"aws/ecs/prod/cart"}, "cart", nil, false},
		{"ecs container insights", []metric{{Namespace: "ECS/ContainerInsights", Dimensions: dims("ServiceName", "cart", "ClusterName", "prod")}}, []string{"aws/ecs/prod/cart"}, "cart", nil, false},
		{"explicit Resource wins", []metric{{Namespace: "AWS/EC2", Dimensions: dims("InstanceId", "i-1", "Resource", "arn:aws:ec2:us-east-1:1:instance/i-1")}}, []string{"arn:aws:ec2:us-east-1:1:instance/i-1"}, "", nil, false},
		{"unknown namespace", []metric{{Namespace: "Custom/App", Dimensions: dims("Service", "search", "Host", "a")}}, nil, "search", nil, false},
		{"metric math across metrics", []metric{
			{Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Dimensions: dims("LoadBalancer", "app/web/1")},
			{Namespace: "AWS/ApplicationELB", MetricName: "RequestCount", Dimensions: dims("LoadBalancer", "app/web/1")},
			{Namespace: "AWS/RDS", MetricName: "CPUUtilization", Dimensions: dims("DBInstanceIdentifier", "db")},
		}, []string{"aws/elb/app/web/1", "aws/rds/db"}, "",
			map[string]string{"namespace": "AWS/ApplicationELB", "metric_name": "HTTPCode_Target_5XX_Count", "dim_LoadBalancer": "app/web/1", "dim_DBInstanceIdentifier": "db"}, true},
		{"no metrics", nil, nil, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(resources(tt.metrics), tt.resources); diff != "" {
				t.Errorf("resources (-got +want):\n%s", diff)
			}
			if got := service(tt.metrics); got != tt.service {
				t.Errorf("service = %q, want %q", got, tt.service)
			}
			if tt.checkLabels {
				if diff := cmp.Diff(labels(tt.metrics), tt.wantLabels); diff != "" {
					t.Errorf("labels (-got +want):\n%s", diff)
				}
			}
		})
	}
}

func TestConsoleURL(t *testing.T) {
	tests := []struct{ region, name, want string }{
		{"us-east-1", "High CPU / web", "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/High%20CPU%20%2F%20web"},
		{"cn-north-1", "x", "https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#alarmsV2:alarm/x"},
		{"us-gov-west-1", "x", "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#alarmsV2:alarm/x"},
	}
	for _, tt := range tests {
		if got := consoleURL(tt.region, tt.name); got != tt.want {
			t.Errorf("consoleURL(%q, %q) = %q, want %q", tt.region, tt.name, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error, in order; none for valid
	}{
		{"valid", Config{TopicARNs: []string{topicCloudforet}}, nil},
		{"valid with pattern", Config{TopicARNs: []string{topicCloudforet}, CertHostPattern: `^sns\.example\.com$`}, nil},
		{"no topics", Config{}, []string{"topic_arns: at least one"}},
		{"every problem at once", Config{
			TopicARNs:       []string{"", "arn:aws:sqs:us-east-1:1:q", " " + topicLita, topicLita, topicLita},
			CertHostPattern: `sns\.amazonaws\.com(`,
		}, []string{"topic_arns[0]: empty", "topic_arns[1]: \"arn:aws:sqs", "topic_arns[2]:", "whitespace", "topic_arns[4]:", "listed twice", "cert_host_pattern: must be anchored", "cert_host_pattern: error parsing regexp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			rest := err.Error()
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("Validate() = %q, missing %q (in order)", err, w)
				}
				rest = rest[i+len(w):]
			}
			if _, err := NewWebhook(tt.cfg); err == nil {
				t.Error("NewWebhook accepted an invalid config")
			}
		})
	}
}

func TestHTTPCertFetcher(t *testing.T) {
	var (
		mu   sync.Mutex
		hits = map[string]int{}
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/cert.pem":
			rw.Write(pki().certPEM)
		case "/redirect.pem":
			http.Redirect(rw, r, "/cert.pem", http.StatusFound)
		case "/huge.pem":
			rw.Write(bytes.Repeat([]byte("A"), maxCertSize+1))
		default:
			http.NotFound(rw, r)
		}
	}))
	defer srv.Close()
	f := NewHTTPCertFetcher(srv.Client())

	for range 3 {
		got, err := f.Fetch(t.Context(), srv.URL+"/cert.pem")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pki().certPEM) {
			t.Fatal("Fetch returned something else than the certificate")
		}
	}
	for _, path := range []string{"/redirect.pem", "/huge.pem", "/missing.pem"} {
		for range 2 {
			if _, err := f.Fetch(t.Context(), srv.URL+path); err == nil {
				t.Errorf("Fetch(%s) succeeded, want an error", path)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"/cert.pem": 1, "/redirect.pem": 2, "/huge.pem": 2, "/missing.pem": 2}
	if diff := cmp.Diff(hits, want); diff != "" {
		t.Errorf("server hits (-got +want); the certificate is cached, failures are not:\n%s", diff)
	}
}

// TestParseConcurrent runs Parse from many goroutines on one Webhook, for
// the race detector.
func TestParseConcurrent(t *testing.T) {
	w := newTestWebhook(t, Config{}, WithCertFetcher(NewHTTPCertFetcher(nil)))
	// Served from a pre-filled cache so no network is needed.
	w.certs.(*HTTPCertFetcher).cache["https://sns.ap-northeast-2.amazonaws.com/SimpleNotificationService-010a507c1833636cd94bdb98bd93083a.pem"] = pki().certPEM
	body := resign(t, readFile(t, "cloudforet_http_alarm_ALARM_ec2_cpu.json"), "2", nil)
	d := delivery(body, receivedAfter(t, body))
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

// seedBodies returns every testdata payload as a delivery body; files that
// hold an array of messages give one body per message.
func seedBodies(t testing.TB) [][]byte {
	t.Helper()
	var bodies [][]byte
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var msgs []json.RawMessage
		if json.Unmarshal(data, &msgs) == nil {
			for _, m := range msgs {
				bodies = append(bodies, m)
			}
			return nil
		}
		bodies = append(bodies, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bodies
}

// fuzzSign signs whatever SNS-shaped object body holds, for a configured
// topic and the local certificate, so that the fuzzer reaches past
// authentication. It reports false when body has no signable shape.
func fuzzSign(body []byte) ([]byte, time.Time, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil || doc == nil {
		return nil, time.Time{}, false
	}
	msgs := []map[string]any{doc}
	if recs, ok := doc["Records"].([]any); ok && doc["Type"] == nil {
		msgs = nil
		for _, r := range recs {
			rec, _ := r.(map[string]any)
			m, _ := rec["Sns"].(map[string]any)
			if m == nil {
				return nil, time.Time{}, false
			}
			msgs = append(msgs, m)
		}
	}
	received := date("2021-06-23T08:42:00Z")
	for i, m := range msgs {
		m["TopicArn"] = topicFuzz
		m["SigningCertURL"] = fuzzCertURL
		delete(m, "SigningCertUrl")
		if i == 0 {
			if ts, ok := m["Timestamp"].(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
					received = t
				}
			}
		}
		if !signWith(m, pki().fuzzKey, "2") {
			return nil, time.Time{}, false
		}
	}
	var buf bytes.Buffer
	if json.NewEncoder(&buf).Encode(doc) != nil {
		return nil, time.Time{}, false
	}
	return buf.Bytes(), received, true
}

func FuzzParse(f *testing.F) {
	for _, b := range seedBodies(f) {
		f.Add(b)
	}
	w := newTestWebhook(f, Config{})
	check := func(t *testing.T, alerts []engine.Alert, err error) {
		if err != nil {
			if engine.ErrorCode(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			if alerts != nil {
				t.Fatalf("alerts %v with error %v", alerts, err)
			}
			return
		}
		for _, a := range alerts {
			if a.Source != engine.SourceCloudWatch || a.DeliveryID == "" || a.Title == "" ||
				!strings.HasPrefix(a.Fingerprint, "cloudwatch:") || a.StartsAt.IsZero() ||
				(a.Status != engine.AlertFiring && a.Status != engine.AlertResolved) {
				t.Fatalf("incomplete alert %+v", a)
			}
			if _, err := json.Marshal(a); err != nil {
				t.Fatalf("alert does not marshal: %v", err)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := w.Parse(context.Background(), delivery(body, date("2021-06-23T08:42:00Z")))
		check(t, alerts, err)
		if signed, received, ok := fuzzSign(body); ok {
			alerts, err := w.Parse(context.Background(), delivery(signed, received))
			check(t, alerts, err)
		}
	})
}
