package sandbox

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxCSVErrors caps the cell errors reported per CSV file: one bad export
// should not bury the other problems.
const maxCSVErrors = 10

// recorded validates one `recorded` entry and reads its CSV file.
func (b *builder) recorded(r rawRecorded) (Recorded, bool) {
	d := b.d
	out := Recorded{File: r.file, TimeColumn: r.timeColumn}
	if out.TimeColumn == "" {
		out.TimeColumn = "time"
	}
	ok := true
	if len(r.series) == 0 {
		d.errorf(r.path+".series", "required: at least one CSV column mapped to a series")
		ok = false
	}
	for _, s := range r.series {
		ok = b.checkResource(s.path+".resource", s.resource) && ok
		if s.name == "" {
			d.errorf(s.path+".name", "required")
			ok = false
		}
		labels := s.labels
		if len(labels) == 0 {
			labels = nil
		}
		out.Series = append(out.Series, RecordedSeries{Column: s.column, Resource: s.resource, Name: s.name, Unit: s.unit, Labels: labels})
	}
	if r.file == "" {
		d.errorf(r.path+".file", "required (a CSV file, relative to the scenario file)")
		return out, false
	}
	data, err := b.readRel(r.file)
	if err != nil {
		d.errorf(r.path+".file", "cannot read %q: %s", r.file, errMsg(err))
		return out, false
	}
	display := path.Join(path.Dir(strings.ReplaceAll(d.file, "\\", "/")), r.file)
	if !readCSV(d, data, display, r, &out) {
		ok = false
	}
	return out, ok
}

// readCSV fills out.Series[i].points from data. Errors in cells name the CSV
// file and its line.
func readCSV(d *decoder, data []byte, display string, r rawRecorded, out *Recorded) bool {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(r.path+".file", "%s is empty", r.file)
		} else {
			d.errorf(r.path+".file", "%s: %v", r.file, csvErr(err))
		}
		return false
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	colIndex := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := colIndex[h]; !dup {
			colIndex[h] = i
		}
	}
	ok := true
	timeIdx, found := colIndex[out.TimeColumn]
	if !found {
		p := r.path + ".time_column"
		if !d.has(p) {
			p = r.path
		}
		d.errorf(p, "column %q not in %s (it has %s)", out.TimeColumn, r.file, someColumns(header))
		ok = false
	}
	idx := make([]int, len(out.Series))
	for i, s := range out.Series {
		j, found := colIndex[s.Column]
		if !found {
			d.errorf(r.series[i].path, "column %q not in %s (it has %s)", s.Column, r.file, someColumns(header))
			ok = false
		}
		idx[i] = j
	}
	if !ok {
		return false
	}
	nerr := 0
	cellError := func(line int, col, format string, args ...any) {
		nerr++
		if nerr <= maxCSVErrors {
			d.errs = append(d.errs, &FieldError{File: display, Line: line, Field: col, Msg: fmt.Sprintf(format, args...)})
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				d.errs = append(d.errs, &FieldError{File: display, Line: pe.Line, Msg: pe.Err.Error()})
			} else {
				d.errs = append(d.errs, &FieldError{File: display, Msg: err.Error()})
			}
			return false
		}
		line, _ := cr.FieldPos(0)
		t, err := parseCSVTime(rec[timeIdx])
		if err != nil {
			cellError(line, out.TimeColumn, "%v", err)
			continue
		}
		for i, j := range idx {
			cell := strings.TrimSpace(rec[j])
			if cell == "" || strings.EqualFold(cell, "nan") {
				continue // a missing point, not a zero
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				cellError(line, out.Series[i].Column, "cannot read %q as a number", cell)
				continue
			}
			if math.IsInf(v, 0) {
				continue // JSON has no infinity; served as missing
			}
			out.Series[i].points = append(out.Series[i].points, recPoint{t: t, v: v})
		}
	}
	if nerr > maxCSVErrors {
		d.errs = append(d.errs, &FieldError{File: display, Msg: fmt.Sprintf("%d more bad cells", nerr-maxCSVErrors)})
	}
	for i := range out.Series {
		pts := out.Series[i].points
		if !sort.SliceIsSorted(pts, func(a, b int) bool { return pts[a].t < pts[b].t }) {
			sort.SliceStable(pts, func(a, b int) bool { return pts[a].t < pts[b].t })
		}
		out.Series[i].points = slicesClip(pts)
	}
	return nerr == 0
}

func slicesClip(p []recPoint) []recPoint { return p[:len(p):len(p)] }

func csvErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %v", pe.Line, pe.Err)
	}
	return err.Error()
}

func someColumns(header []string) string {
	const show = 8
	q := make([]string, 0, show)
	for i, h := range header {
		if i == show {
			return fmt.Sprintf("%s and %d more", strings.Join(q, ", "), len(header)-show)
		}
		q = append(q, strconv.Quote(h))
	}
	if len(q) == 0 {
		return "no columns"
	}
	return strings.Join(q, ", ")
}

// maxUnixSeconds bounds numeric timestamps (year 5138): beyond it the value
// is surely not unix seconds (milliseconds, say).
const maxUnixSeconds = 1e11

// parseCSVTime reads unix seconds (integer or float) or RFC 3339, returning
// unix nanoseconds.
func parseCSVTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		if i < -maxUnixSeconds || i > maxUnixSeconds {
			return 0, fmt.Errorf("time %q is out of range for unix seconds", s)
		}
		return i * int64(time.Second), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || f < -maxUnixSeconds || f > maxUnixSeconds {
			return 0, fmt.Errorf("time %q is out of range for unix seconds", s)
		}
		sec, frac := math.Modf(f)
		return int64(sec)*int64(time.Second) + int64(math.Round(frac*1e9)), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if y := t.Year(); y < 1700 || y > 2200 {
			return 0, fmt.Errorf("time %q is out of range", s)
		}
		return t.UnixNano(), nil
	}
	return 0, fmt.Errorf("cannot read time %q (want unix seconds or RFC 3339)", s)
}
