package anomaly

import (
	"cmp"
	"slices"
)

// Series is one named series for Rank, for example "resource/metric".
type Series struct {
	ID     string
	Points []Point
}

// Finding is the anomalous Result of one series.
type Finding struct {
	ID string
	Result
}

// Rank runs Detect on every series with the same options and returns the
// anomalous ones in order of relevance to the incident: first the series
// still abnormal at the incident (End zero or after it), earliest onset
// first, so the first finding is the series that moved first; then those
// that had recovered before it, most recent first. Ties go to the higher
// score, then the ID. A zero opt.Incident is taken as the latest finite
// sample of all series, so that every series is judged at the same t0.
// Series that are not anomalous are left out.
func Rank(series []Series, opt Options) []Finding {
	if opt.Incident.IsZero() {
		for _, s := range series {
			if t := (Options{}).withDefaults(s.Points).Incident; t.After(opt.Incident) {
				opt.Incident = t
			}
		}
	}
	var out []Finding
	for _, s := range series {
		if r := Detect(s.Points, opt); r.Anomalous {
			out = append(out, Finding{ID: s.ID, Result: r})
		}
	}
	active := func(f Finding) bool { return f.End.IsZero() || f.End.After(opt.Incident) }
	slices.SortStableFunc(out, func(a, b Finding) int {
		aa, ba := active(a), active(b)
		var c int
		switch {
		case aa != ba:
			c = cmp.Compare(boolInt(ba), boolInt(aa))
		case aa:
			c = a.Onset.Compare(b.Onset)
		default:
			c = b.End.Compare(a.End)
		}
		return cmp.Or(c, cmp.Compare(b.Score, a.Score), cmp.Compare(a.ID, b.ID))
	})
	return out
}
