package engine

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// InvestigationStatus is the lifecycle state of an investigation.
type InvestigationStatus string

// Investigation statuses.
const (
	StatusActive   InvestigationStatus = "active"
	StatusResolved InvestigationStatus = "resolved"
)

// Phase is where an investigation's analysis stands.
type Phase string

// Phases, in order.
const (
	PhaseTriage   Phase = "triage"
	PhaseGather   Phase = "gather"
	PhaseAnalyse  Phase = "analyse"
	PhaseMitigate Phase = "mitigate"
	PhaseReport   Phase = "report"
	PhaseDone     Phase = "done"
	PhaseFailed   Phase = "failed"
)

// Decision is what intake did with an alert.
type Decision string

// Intake decisions.
const (
	DecisionNew       Decision = "new"       // opened a new investigation
	DecisionLinked    Decision = "linked"    // joined an active investigation
	DecisionDuplicate Decision = "duplicate" // a redelivery: nothing changed
	DecisionResolved  Decision = "resolved"  // a resolved notice for a known alert
	DecisionUnlinked  Decision = "unlinked"  // an operator moved it to a fresh investigation
)

// Investigation is the summary record of one investigation: what correlation
// scores against and what lists show. Its alerts and journal are kept beside
// it, not in it, so that the record stays small however many alerts link.
type Investigation struct {
	ID          string              `json:"id"`
	Space       string              `json:"space"`
	Title       string              `json:"title"`
	Severity    Severity            `json:"severity"`
	Status      InvestigationStatus `json:"status"`
	Phase       Phase               `json:"phase"`
	OpenedAt    time.Time           `json:"opened_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
	LastAlertAt time.Time           `json:"last_alert_at"`
	ResolvedAt  time.Time           `json:"resolved_at,omitzero"`
	Trigger     string              `json:"trigger"` // the alert that opened it
	AlertCount  int                 `json:"alert_count"`
	FiringCount int                 `json:"firing_count"`

	// Correlation features, bounded in size (see MaxFeatures).
	Resources []string `json:"resources,omitempty"`
	Services  []string `json:"services,omitempty"`
	Account   string   `json:"account,omitempty"`
	Region    string   `json:"region,omitempty"`
}

// MaxFeatures bounds the resources and services an investigation remembers
// for correlation, so that a storm linking thousands of alerts does not grow
// the record without bound.
const MaxFeatures = 32

// AlertLink is one alert's membership in an investigation, with the
// correlation decision that put it there.
type AlertLink struct {
	AlertID  string      `json:"alert_id"`
	Source   string      `json:"source"`
	Title    string      `json:"title"`
	Resource string      `json:"resource,omitempty"`
	Status   AlertStatus `json:"status"`
	Decision Decision    `json:"decision"`
	Score    float64     `json:"score"`
	Reasons  string      `json:"reasons,omitempty"`
	At       time.Time   `json:"at"`
}

// addFeatures merges an alert's correlation features into the investigation.
func (inv *Investigation) addFeatures(a *Alert) {
	for _, r := range a.Resources {
		inv.Resources = addBounded(inv.Resources, r)
	}
	if a.Service != "" {
		inv.Services = addBounded(inv.Services, a.Service)
	}
	if inv.Account == "" {
		inv.Account = a.Account
	}
	if inv.Region == "" {
		inv.Region = a.Region
	}
	if severityRank(a.Severity) > severityRank(inv.Severity) {
		inv.Severity = a.Severity
	}
}

func addBounded(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	if len(list) >= MaxFeatures {
		return list
	}
	return append(list, v)
}

func severityRank(s Severity) int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new identifier with a prefix ("al", "inv"): the creation
// time in milliseconds followed by 64 random bits, so ids sort by creation
// and never collide across replicas.
func NewID(prefix string, now time.Time) string {
	var b [14]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}
