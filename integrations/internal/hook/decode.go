package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/nightshift-ops/nightshift/engine"
)

// DecodeObject decodes body, which must be a JSON object, into v. It is
// DecodeJSON with one more check: a body that is valid JSON but not an object
// (an array, a string) gets "body: expected a JSON object" rather than a
// message naming a Go type the sender has never heard of.
func DecodeObject(body []byte, v any) error {
	return DecodeObjectAt("", body, v)
}

// DecodeObjectAt decodes raw, the JSON object found at path in a larger
// document ("alerts[3]", "event.data"), into v. Errors name the field by its
// full path ("alerts[3].startsAt"), so a parser that decodes the elements of
// a grouped payload one by one (to keep each element's raw bytes) still tells
// the sender exactly which element was wrong. An empty path means the body.
func DecodeObjectAt(path string, raw []byte, v any) error {
	where := path
	if where == "" {
		where = "body"
	}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return engine.Invalid(where, "empty")
	}
	if t[0] != '{' {
		return engine.Invalid(where, "expected a JSON object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		err = JSONError(err)
		var e *engine.Error
		if path != "" && errors.As(err, &e) {
			if e.Field == "" || e.Field == "body" {
				e.Field = path
			} else {
				e.Field = path + "." + e.Field
			}
		}
		return err
	}
	return nil
}

// EachAlert decodes every element of a grouped payload's alerts array (as
// Alertmanager and Grafana send them) into T and converts it, keeping each
// element's own JSON as the alert's Raw. Errors name "alerts[i]…"; an empty
// array is malformed: senders never send one.
func EachAlert[T any](raws []json.RawMessage, convert func(path string, el T) (engine.Alert, error)) ([]engine.Alert, error) {
	if len(raws) == 0 {
		return nil, engine.Invalid("alerts", "missing or empty")
	}
	out := make([]engine.Alert, 0, len(raws))
	for i, raw := range raws {
		path := "alerts[" + strconv.Itoa(i) + "]"
		var el T
		if err := DecodeObjectAt(path, raw, &el); err != nil {
			return nil, err
		}
		a, err := convert(path, el)
		if err != nil {
			return nil, err
		}
		a.Raw = raw
		out = append(out, a)
	}
	return out, nil
}
