package cloudwatch

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// SNS message types (the Type field).
const (
	typeNotification             = "Notification"
	typeSubscriptionConfirmation = "SubscriptionConfirmation"
	typeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

const (
	// maxMessageAge bounds replays of a captured, correctly signed message.
	// SNS gives up retrying an HTTP delivery within an hour, and Lambda (for
	// events forwarded from a function) within six; anything older is not a
	// retry.
	maxMessageAge = 6 * time.Hour
	// maxClockSkew is how far in the future a message timestamp may be,
	// for clocks that disagree.
	maxClockSkew = 5 * time.Minute
	// maxCertSize is far above a real signing certificate (about 2 KiB).
	maxCertSize = 64 << 10
)

// snsMessage is one SNS HTTP(S) message. encoding/json matches keys without
// regard to case, which is what lets the Lambda spelling of the same message
// (SigningCertUrl, UnsubscribeUrl) decode into the same fields.
type snsMessage struct {
	Type             string  `json:"Type"`
	MessageID        string  `json:"MessageId"`
	Token            string  `json:"Token"`
	TopicARN         string  `json:"TopicArn"`
	Subject          *string `json:"Subject"` // nil and "" sign differently
	Message          string  `json:"Message"`
	Timestamp        string  `json:"Timestamp"`
	SignatureVersion string  `json:"SignatureVersion"`
	Signature        string  `json:"Signature"`
	SigningCertURL   string  `json:"SigningCertURL"`
	SubscribeURL     string  `json:"SubscribeURL"`
	UnsubscribeURL   string  `json:"UnsubscribeURL"`
}

// stringToSign is the canonical form SNS signs: selected keys in byte order,
// each as "Key\nValue\n". Subject is part of it only when the message has one.
func (m *snsMessage) stringToSign() string {
	var b strings.Builder
	add := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == typeNotification {
		if m.Subject != nil {
			add("Subject", *m.Subject)
		}
	} else {
		add("SubscribeURL", m.SubscribeURL)
	}
	add("Timestamp", m.Timestamp)
	if m.Type != typeNotification {
		add("Token", m.Token)
	}
	add("TopicArn", m.TopicARN)
	add("Type", m.Type)
	return b.String()
}

// authenticate checks that m was signed by SNS for one of the space's topics
// and is not a replay from long ago. prefix is the JSON path of m in the body
// ("" or "Records[0].Sns.").
func (w *Webhook) authenticate(ctx context.Context, m *snsMessage, prefix string, now time.Time) error {
	switch m.Type {
	case typeNotification, typeSubscriptionConfirmation, typeUnsubscribeConfirmation:
	case "":
		return engine.Invalid(prefix+"Type", "missing")
	default:
		return engine.Invalid(prefix+"Type", "unknown SNS message type %q", m.Type)
	}
	if m.Signature == "" {
		return engine.Unauthorized("missing signature")
	}
	if m.SigningCertURL == "" {
		return engine.Unauthorized("missing signing certificate URL")
	}
	algo, ok := signatureAlgorithms[m.SignatureVersion]
	if !ok {
		return engine.Unauthorized("unsupported signature version")
	}
	certURL, reason := w.snsURL(m.SigningCertURL, "signing certificate")
	if certURL == nil {
		return engine.Unauthorized(reason)
	}
	if !strings.HasSuffix(certURL.Path, ".pem") {
		return engine.Unauthorized("signing certificate URL is not a .pem file")
	}
	// The topic is checked before anything is fetched, so that messages for
	// other topics cost no outbound request.
	if !w.topics[m.TopicARN] {
		return engine.Unauthorized("topic not allowed")
	}
	if m.Timestamp == "" {
		return engine.Unauthorized("missing timestamp")
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	if err != nil {
		return unauthorized("bad timestamp", err)
	}
	if now.Sub(ts) > maxMessageAge || ts.Sub(now) > maxClockSkew {
		return engine.Unauthorized("stale timestamp")
	}

	cert, err := w.certificate(ctx, m.SigningCertURL, now)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return unauthorized("bad signature", err)
	}
	if err := cert.CheckSignature(algo, []byte(m.stringToSign()), sig); err != nil {
		return unauthorized("bad signature", err)
	}
	return nil
}

// signatureAlgorithms maps SignatureVersion onto what it means.
var signatureAlgorithms = map[string]x509.SignatureAlgorithm{
	"1": x509.SHA1WithRSA,
	"2": x509.SHA256WithRSA,
}

// snsURL parses raw and accepts it only as an https URL on a host that
// matches the SNS host pattern: the URL is about to be fetched, and what
// comes back is trusted. The reason for a refusal is safe to show the sender.
func (w *Webhook) snsURL(raw, what string) (u *url.URL, reason string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, "bad " + what + " URL"
	case u.Scheme != "https":
		return nil, what + " URL is not https"
	case u.User != nil || !w.hosts.MatchString(u.Host):
		return nil, what + " host not allowed"
	}
	return u, ""
}

// certificate fetches, parses and date-checks the certificate at rawURL.
func (w *Webhook) certificate(ctx context.Context, rawURL string, now time.Time) (*x509.Certificate, error) {
	data, err := w.certs.Fetch(ctx, rawURL)
	if err != nil {
		// Most likely a network problem on our side; 503 makes SNS retry.
		return nil, engine.Unavailable("signing certificate", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, engine.Unauthorized("bad signing certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, unauthorized("bad signing certificate", err)
	}
	if now.Before(cert.NotBefore) {
		return nil, engine.Unauthorized("signing certificate not yet valid")
	}
	if now.After(cert.NotAfter) {
		return nil, engine.Unauthorized("signing certificate expired")
	}
	return cert, nil
}

func unauthorized(reason string, err error) error {
	e := engine.Unauthorized(reason)
	e.Err = err
	return e
}

// CertFetcher fetches the PEM-encoded certificate at an SNS SigningCertURL.
// The URL has already been checked (https, allowed host, .pem path).
// Implementations must be safe for concurrent use.
type CertFetcher interface {
	Fetch(ctx context.Context, url string) ([]byte, error)
}

// HTTPCertFetcher is the default CertFetcher: a GET that follows no
// redirects, with a cache of every certificate it has fetched. SNS signs
// with a handful of certificates that change about once a year, each under
// its own URL, so the cache stays small and is never invalidated. It is safe
// for concurrent use, and one fetcher may serve every space.
type HTTPCertFetcher struct {
	client *http.Client

	mu    sync.Mutex
	cache map[string][]byte
}

// maxCachedCerts bounds the cache in case someone feeds it every .pem on an
// SNS host; real traffic needs a few entries.
const maxCachedCerts = 64

// NewHTTPCertFetcher returns a fetcher that uses client, or a client with a
// 10-second timeout when client is nil. Redirects are never followed,
// whatever client says: a redirect would take the fetch away from the host
// that was checked.
func NewHTTPCertFetcher(client *http.Client) *HTTPCertFetcher {
	var c http.Client
	if client != nil {
		c = *client
	} else {
		c.Timeout = 10 * time.Second
	}
	c.CheckRedirect = noRedirects
	return &HTTPCertFetcher{client: &c, cache: make(map[string][]byte)}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Fetch returns the body at rawURL from the cache or with a GET.
func (f *HTTPCertFetcher) Fetch(ctx context.Context, rawURL string) ([]byte, error) {
	f.mu.Lock()
	data, ok := f.cache[rawURL]
	f.mu.Unlock()
	if ok {
		return data, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch signing certificate: %w", err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch signing certificate: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch signing certificate %s: status %s", rawURL, resp.Status)
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, maxCertSize+1))
	if err != nil {
		return nil, fmt.Errorf("read signing certificate: %w", err)
	}
	if len(data) > maxCertSize {
		return nil, errors.New("read signing certificate: larger than 64 KiB")
	}
	f.mu.Lock()
	if len(f.cache) >= maxCachedCerts {
		clear(f.cache)
	}
	f.cache[rawURL] = data
	f.mu.Unlock()
	return data, nil
}
