package botframework

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
)

// minRSABits is the smallest signing key accepted.
const minRSABits = 2048

// signingKey is one usable key of the JWKS.
type signingKey struct {
	pub          *rsa.PublicKey
	endorsements []string // channel ids the key may sign for; none: any
}

// key returns the signing key kid. Cached keys serve until KeyCacheTTL;
// an unknown kid or stale keys start a refresh, at most one at a time and,
// once keys are cached, at most one per MinRefreshInterval. Callers that
// come while a refresh runs wait for it.
func (v *Validator) key(ctx context.Context, kid string) (signingKey, error) {
	k, call, ok := v.lookup(ctx, kid)
	if ok {
		return k, nil
	}
	if call != nil {
		select {
		case <-call.done:
		case <-ctx.Done():
			return signingKey{}, ctx.Err()
		}
	}

	v.mu.Lock()
	k, ok = v.keys[kid]
	cached := v.keys != nil
	v.mu.Unlock()
	switch {
	case ok:
		return k, nil
	case !cached && call != nil && call.err != nil:
		return signingKey{}, fmt.Errorf("%w: %w", ErrKeysUnavailable, call.err)
	case !cached:
		return signingKey{}, ErrKeysUnavailable
	default:
		return signingKey{}, reject("unknown signing key", fmt.Errorf("kid %q", kid))
	}
}

// lookup returns the cached key kid if it is fresh, else the refresh to
// wait for (starting one if allowed), else a stale key if there is one.
func (v *Validator) lookup(ctx context.Context, kid string) (signingKey, *keyFetch, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.cfg.Now()
	k, found := v.keys[kid]
	stale := v.keys == nil || now.Sub(v.fetchedAt) >= v.cfg.KeyCacheTTL
	if found && !stale {
		return k, nil, true
	}
	if v.inflight != nil {
		return signingKey{}, v.inflight, false
	}
	if v.keys == nil || now.Sub(v.lastAttempt) >= v.cfg.MinRefreshInterval {
		call := &keyFetch{done: make(chan struct{})}
		v.inflight, v.lastAttempt = call, now
		// Detached from the caller: the others waiting on it must not fail
		// because the first one gave up.
		go v.refresh(context.WithoutCancel(ctx), call)
		return signingKey{}, call, false
	}
	// Rate limited: a stale key is better than none.
	return k, nil, found
}

// refresh fetches the keys and, if that works, replaces the cached ones.
func (v *Validator) refresh(ctx context.Context, call *keyFetch) {
	ctx, cancel := context.WithTimeout(ctx, keyFetchTimeout)
	defer cancel()
	keys, err := v.fetchKeys(ctx)

	v.mu.Lock()
	if err == nil {
		v.keys, v.fetchedAt = keys, v.cfg.Now()
	}
	call.err = err
	v.inflight = nil
	v.mu.Unlock()
	close(call.done)

	if err != nil {
		v.cfg.Log.WarnContext(ctx, "botframework: signing keys refresh failed", "err", err)
		return
	}
	v.cfg.Log.DebugContext(ctx, "botframework: signing keys refreshed", "keys", len(keys))
}

// fetchKeys reads the OpenID metadata, then the JWKS it points to.
func (v *Validator) fetchKeys(ctx context.Context) (map[string]signingKey, error) {
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := v.getJSON(ctx, v.cfg.OpenIDMetadataURL, &meta); err != nil {
		return nil, fmt.Errorf("openid metadata: %w", err)
	}
	if _, err := checkURL(meta.JWKSURI); err != nil {
		return nil, fmt.Errorf("openid metadata: jwks_uri: %w", err)
	}
	var set struct {
		Keys []jwkJSON `json:"keys"`
	}
	if err := v.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]signingKey, len(set.Keys))
	var errs []error
	for _, j := range set.Keys {
		if j.Kty != "RSA" || (j.Use != "" && j.Use != "sig") || j.Kid == "" {
			continue
		}
		pub, err := j.publicKey()
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", j.Kid, err))
			continue
		}
		keys[j.Kid] = signingKey{pub: pub, endorsements: j.Endorsements}
	}
	if len(errs) > 0 {
		v.cfg.Log.WarnContext(ctx, "botframework: skipped unusable signing keys", "err", errors.Join(errs...))
	}
	if len(keys) == 0 {
		return nil, errors.Join(errors.New("jwks: no usable RSA signing key"), errors.Join(errs...))
	}
	return keys, nil
}

func (v *Validator) getJSON(ctx context.Context, rawURL string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		start, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &APIError{Method: req.Method, URL: redact(req.URL), StatusCode: resp.StatusCode,
			Body: strings.TrimSpace(strings.ToValidUTF8(string(start), "?"))}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(into); err != nil {
		return fmt.Errorf("GET %s: decode: %w", redact(req.URL), err)
	}
	return nil
}

// jwkJSON is one key of a JWKS, with the Bot Framework's endorsements.
type jwkJSON struct {
	Kty          string   `json:"kty"`
	Use          string   `json:"use"`
	Kid          string   `json:"kid"`
	N            string   `json:"n"`
	E            string   `json:"e"`
	X5c          []string `json:"x5c"`
	Endorsements []string `json:"endorsements"`
}

// publicKey is the key's modulus and exponent, or its certificate's key.
func (j jwkJSON) publicKey() (*rsa.PublicKey, error) {
	var pub *rsa.PublicKey
	switch {
	case j.N != "" && j.E != "":
		n, err := b64url(j.N)
		if err != nil {
			return nil, fmt.Errorf("n: %w", err)
		}
		e, err := b64url(j.E)
		if err != nil {
			return nil, fmt.Errorf("e: %w", err)
		}
		if len(e) == 0 || len(e) > 4 {
			return nil, errors.New("e: bad length")
		}
		exp := new(big.Int).SetBytes(e).Int64()
		if exp < 3 || exp%2 == 0 {
			return nil, errors.New("e: bad exponent")
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
	case len(j.X5c) > 0:
		der, err := base64.StdEncoding.DecodeString(j.X5c[0])
		if err != nil {
			return nil, fmt.Errorf("x5c: %w", err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("x5c: %w", err)
		}
		p, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("x5c: not an RSA key")
		}
		pub = p
	default:
		return nil, errors.New("neither n/e nor x5c")
	}
	if pub.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("RSA key of %d bits, want at least %d", pub.N.BitLen(), minRSABits)
	}
	return pub, nil
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
