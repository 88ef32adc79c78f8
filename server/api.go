package server

import (
	"net/http"

	"github.com/nightshift-ops/nightshift/engine"
	"github.com/nightshift-ops/nightshift/engine/journal"
)

// investigationView is the body of GET .../investigations/{id}.
type investigationView struct {
	engine.Investigation
	Head    journal.Head       `json:"journal_head"`
	Alerts  []engine.AlertLink `json:"alerts"`
	Journal []journal.Entry    `json:"journal"`
	Report  *engine.Report     `json:"report,omitempty"`
}

func (s *Server) listInvestigations(w http.ResponseWriter, r *http.Request, space string) error {
	status := engine.InvestigationStatus(r.URL.Query().Get("status"))
	switch status {
	case "", "active":
		status = engine.StatusActive
	case "resolved", "all":
	default:
		return engine.Invalid("status", "want active, resolved or all")
	}
	if status == "all" {
		status = ""
	}
	invs, err := s.opt.Reader.Investigations(r.Context(), space, status, 500)
	if err != nil {
		return err
	}
	if invs == nil {
		invs = []engine.Investigation{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"investigations": invs})
	return nil
}

func (s *Server) getInvestigation(w http.ResponseWriter, r *http.Request, space string) error {
	id := r.PathValue("id")
	st, err := s.opt.Reader.Investigation(r.Context(), space, id)
	if err != nil {
		return err
	}
	links, err := s.opt.Reader.Links(r.Context(), space, id)
	if err != nil {
		return err
	}
	entries, err := s.opt.Reader.Journal(r.Context(), space, id)
	if err != nil {
		return err
	}
	view := investigationView{Investigation: st.Investigation, Head: st.Head, Alerts: links, Journal: entries}
	if s.opt.Reports != nil {
		if view.Report, err = s.opt.Reports.Report(r.Context(), space, id); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (s *Server) unlink(w http.ResponseWriter, r *http.Request, space string) error {
	out, err := s.opt.Unlink(r.Context(), space, r.PathValue("id"), "api")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, hookResponse{Alerts: []engine.Outcome{out}})
	return nil
}
