// Package server is Nightshift's HTTP surface: webhook intake
// (/hooks/{space}/{source}), the read API (/api/v1), health and metrics.
// It turns requests into engine calls and engine errors into status codes;
// it holds no domain logic and no state of its own. Alert sources and the
// store reach it as engine ports, composed in cmd/nightshift; chat transports
// that need an endpoint on the same listener (Teams) are mounted as plain
// http.Handlers.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nightshift-ops/nightshift/engine"
)

// MaxBody is the largest webhook body accepted (1 MiB).
const MaxBody = 1 << 20

// Space is one configured space as the server sees it.
type Space struct {
	engine.Space
	Sources map[string]engine.AlertSource // by source name as in the URL
}

// Receiver takes normalised alerts into a space (engine.Intake).
type Receiver interface {
	Receive(ctx context.Context, sp engine.Space, a engine.Alert) (engine.Outcome, error)
}

// Unlinker moves an alert into a fresh investigation (engine.Intake.Unlink
// bound to a store).
type Unlinker func(ctx context.Context, space, alertID, actor string) (engine.Outcome, error)

// ReportReader returns an investigation's report, or nil before it exists.
type ReportReader interface {
	Report(ctx context.Context, space, id string) (*engine.Report, error)
}

// Pinger reports whether the store answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configure a Server. Every field but Extra and Registry is required.
type Options struct {
	Spaces   map[string]Space
	Intake   Receiver
	Unlink   Unlinker
	Reader   engine.InvestigationReader
	Reports  ReportReader // may be nil
	Store    Pinger
	APIToken string
	Log      *slog.Logger
	Registry *prometheus.Registry    // nil: a new one
	Extra    map[string]http.Handler // more routes ("POST /api/messages")
	Now      func() time.Time
}

// Server serves Nightshift's HTTP endpoints. Safe for concurrent use.
type Server struct {
	opt     Options
	mux     *http.ServeMux
	metrics *metrics
}

// New builds a Server.
func New(opt Options) *Server {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Server{opt: opt, mux: http.NewServeMux()}
	s.metrics = newMetrics(opt.Registry, s.activeInvestigations)
	s.mux.HandleFunc("POST /hooks/{space}/{source}", s.hook)
	s.mux.HandleFunc("GET /api/v1/spaces/{space}/investigations", s.api(s.listInvestigations))
	s.mux.HandleFunc("GET /api/v1/spaces/{space}/investigations/{id}", s.api(s.getInvestigation))
	s.mux.HandleFunc("POST /api/v1/spaces/{space}/alerts/{id}/unlink", s.api(s.unlink))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opt.Registry, promhttp.HandlerOpts{}))
	for pattern, h := range opt.Extra {
		s.mux.Handle(pattern, h)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Run serves on addr until ctx ends, then shuts down gracefully: the
// listener closes, in-flight requests (each of which either stored its alert
// or answered an error) finish within grace.
func (s *Server) Run(ctx context.Context, addr string, grace time.Duration, ready func(addr string)) error {
	srv := &http.Server{Addr: addr, Handler: s, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// hookResponse is the body of a successful webhook delivery.
type hookResponse struct {
	Alerts []engine.Outcome `json:"alerts"`
}

func (s *Server) hook(w http.ResponseWriter, r *http.Request) {
	start := s.opt.Now()
	spaceName, sourceName := r.PathValue("space"), r.PathValue("source")
	sp, ok := s.opt.Spaces[spaceName]
	if !ok {
		s.reject(w, sourceName, engine.Errorf(engine.CodeNotFound, "unknown space %q", spaceName))
		return
	}
	src, ok := sp.Sources[sourceName]
	if !ok {
		s.reject(w, sourceName, engine.Errorf(engine.CodeNotFound, "source %q is not configured for space %q", sourceName, spaceName))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.reject(w, sourceName, engine.Errorf(engine.CodeTooLarge, "body over %d bytes", MaxBody))
			return
		}
		s.reject(w, sourceName, engine.Invalid("body", "unreadable: %v", err))
		return
	}
	alerts, err := src.Parse(r.Context(), engine.Delivery{Space: spaceName, Header: r.Header, Body: body, Received: start})
	if err != nil {
		s.reject(w, sourceName, err)
		return
	}
	resp := hookResponse{Alerts: make([]engine.Outcome, 0, len(alerts))}
	for _, a := range alerts {
		out, err := s.opt.Intake.Receive(r.Context(), sp.Space, a)
		if err != nil {
			// Alerts before this one are stored; the sender's retry finds
			// them as duplicates and stores the rest. Nothing is lost.
			s.metrics.storeErrors.Inc()
			s.reject(w, sourceName, err)
			return
		}
		s.metrics.alerts.WithLabelValues(sourceName, string(out.Decision)).Inc()
		resp.Alerts = append(resp.Alerts, out)
	}
	s.metrics.latency.WithLabelValues(sourceName).Observe(s.opt.Now().Sub(start).Seconds())
	writeJSON(w, http.StatusOK, resp)
}

// reject answers an error: the code picks the status, the public message is
// the body; details go to the log only.
func (s *Server) reject(w http.ResponseWriter, source string, err error) {
	status := statusOf(err)
	msg := "internal error"
	var e *engine.Error
	if errors.As(err, &e) && status != http.StatusInternalServerError {
		msg = e.Public()
	}
	s.metrics.rejected.WithLabelValues(source, strconv.Itoa(status)).Inc()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.opt.Log.Log(context.Background(), level, "request rejected", "source", source, "status", status, "err", err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func statusOf(err error) int {
	switch engine.ErrorCode(err) {
	case engine.CodeInvalid:
		return http.StatusBadRequest
	case engine.CodeUnauthorized:
		return http.StatusUnauthorized
	case engine.CodeForbidden:
		return http.StatusForbidden
	case engine.CodeNotFound:
		return http.StatusNotFound
	case engine.CodeConflict:
		return http.StatusConflict
	case engine.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case engine.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.opt.Store.Ping(ctx); err != nil {
		s.opt.Log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// api wraps a read-API handler with bearer authentication and space lookup.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request, space string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(r); err != nil {
			s.reject(w, "api", err)
			return
		}
		space := r.PathValue("space")
		if _, ok := s.opt.Spaces[space]; !ok {
			s.reject(w, "api", engine.Errorf(engine.CodeNotFound, "unknown space %q", space))
			return
		}
		if err := h(w, r, space); err != nil {
			if statusOf(err) == http.StatusInternalServerError && !isEngineError(err) {
				err = engine.Unavailable("store", err)
			}
			s.reject(w, "api", err)
		}
	}
}

func isEngineError(err error) bool {
	var e *engine.Error
	return errors.As(err, &e)
}

func (s *Server) authorize(r *http.Request) error {
	if s.opt.APIToken == "" {
		return engine.Errorf(engine.CodeForbidden, "the API is disabled: set api.token")
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return engine.Unauthorized("missing Authorization header")
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.opt.APIToken)) != 1 {
		return engine.Unauthorized("bad bearer token")
	}
	return nil
}

func (s *Server) activeInvestigations() map[string]float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out := map[string]float64{}
	for name := range s.opt.Spaces {
		invs, err := s.opt.Reader.Investigations(ctx, name, engine.StatusActive, 10000)
		if err != nil {
			s.metrics.storeErrors.Inc()
			continue
		}
		out[name] = float64(len(invs))
	}
	return out
}
