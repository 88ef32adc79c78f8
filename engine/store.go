package engine

import (
	"context"
	"time"

	"github.com/nightshift-ops/nightshift/engine/journal"
)

// ErrConflict is returned by a store when the state a commit was computed
// from has changed underneath it (another replica linked an alert to the same
// investigation first). The caller reads again and recomputes.
var ErrConflict = Errorf(CodeConflict, "state changed concurrently; retry")

// Ref points at a stored alert and the investigation it belongs to.
type Ref struct {
	AlertID       string `json:"alert_id"`
	Investigation string `json:"investigation,omitempty"`
}

// InvestigationState is an investigation record with its journal head, the
// version that a commit must still find for it to apply.
type InvestigationState struct {
	Investigation
	Head journal.Head `json:"head"`
}

// LookupQuery is everything intake must read to decide about one alert,
// answered by the store in one round trip.
type LookupQuery struct {
	DeliveryID  string
	Fingerprint string
	Keys        []string  // correlation index keys (IndexResource, IndexService)
	Since       time.Time // only investigations filed under Keys since then
}

// LookupResult answers a LookupQuery.
type LookupResult struct {
	Delivery       *Ref                 // this delivery id was seen before
	Fingerprint    *Ref                 // a firing alert with this fingerprint exists
	FingerprintInv *InvestigationState  // the investigation of Fingerprint, if any
	Candidates     []InvestigationState // active investigations under Keys since Since
	KeyCounts      []int                // members of each key since Since, for Guard
}

// FingerprintOp says what a commit does with the fingerprint of its alert.
type FingerprintOp int

// Fingerprint operations.
const (
	FingerprintKeep  FingerprintOp = iota // leave as is
	FingerprintSet                        // map the fingerprint to this alert (it fires)
	FingerprintClear                      // forget it (the condition resolved)
)

// InvestigationUpdate writes a new version of one investigation: its record,
// journal entries chained from Head (which must still be current), alert
// links, and correlation index membership.
type InvestigationUpdate struct {
	Investigation Investigation
	Head          journal.Head    // expected current head; the zero Head for a new investigation
	Entries       []journal.Entry // sealed, chaining from Head
	Links         []AlertLink     // inserted or replaced by alert id
	Index         []string        // index keys to file it under, scored by LastAlertAt
	Unindex       []string        // index keys to remove it from
	Relist        bool            // new, or its status changed: update the status lists
}

// Guard makes a commit fail with ErrConflict when an index key gained
// members since the lookup: an investigation another replica just opened
// might have been the better match.
type Guard struct {
	Keys   []string
	Since  time.Time
	Counts []int
}

// Commit is one atomic change made by intake: all of it applies or none.
type Commit struct {
	Alert       Alert // stored (created or replaced)
	Delivery    Ref   // Alert.DeliveryID → this ref; a taken delivery id is ErrConflict unless Rebind
	Rebind      bool  // overwrite an existing delivery mapping (unlink moves an alert)
	Fingerprint FingerprintOp
	Updates     []InvestigationUpdate
	Guard       *Guard
	Enqueue     []string // investigations to queue for analysis
}

// IntakeStore is the storage port of Intake.
type IntakeStore interface {
	Lookup(ctx context.Context, space string, q LookupQuery) (LookupResult, error)
	Commit(ctx context.Context, space string, c Commit) error
}

// InvestigationReader is the storage port of the read API and chat surfaces.
type InvestigationReader interface {
	Investigation(ctx context.Context, space, id string) (InvestigationState, error)
	Investigations(ctx context.Context, space string, status InvestigationStatus, limit int) ([]Investigation, error)
	Links(ctx context.Context, space, id string) ([]AlertLink, error)
	Alert(ctx context.Context, space, id string) (Alert, error)
	Journal(ctx context.Context, space, id string) ([]journal.Entry, error)
}
