package hook

import (
	"maps"
	"time"

	"github.com/nightshift-ops/nightshift/engine"
)

// CheckStatus accepts "", "firing" and "resolved" (Alertmanager-style
// payloads), naming field otherwise.
func CheckStatus(field, s string) error {
	switch engine.AlertStatus(s) {
	case "", engine.AlertFiring, engine.AlertResolved:
		return nil
	}
	return engine.Invalid(field, `must be "firing" or "resolved"`)
}

// ParseTime parses an RFC 3339 time. Absent and Go's zero time (which
// Alertmanager and Grafana send as endsAt of a firing alert) both give the
// zero time.
func ParseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, engine.Invalid(field, "not an RFC 3339 time")
	}
	if t.Year() <= 1 {
		return time.Time{}, nil
	}
	return t, nil
}

// Merge returns base overlaid with over, or nil when both are empty.
func Merge(base, over map[string]string) map[string]string {
	if len(base)+len(over) == 0 {
		return nil
	}
	m := make(map[string]string, len(base)+len(over))
	maps.Copy(m, base)
	maps.Copy(m, over)
	return m
}

// Without returns a copy of m without key.
func Without(m map[string]string, key string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// First returns the first non-empty value of keys in m.
func First(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}
