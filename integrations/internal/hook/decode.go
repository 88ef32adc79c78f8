package hook

import (
	"bytes"
	"encoding/json"
	"errors"

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
