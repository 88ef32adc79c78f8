package engine

import (
	"context"
	"net/http"
	"time"
)

// Delivery is one inbound webhook request as an alert source sees it: the
// body is already read (and capped) by the HTTP layer.
type Delivery struct {
	Space    string      // the space named in the URL
	Header   http.Header // request headers, canonicalised
	Body     []byte      // raw body, exactly as received (signatures cover these bytes)
	Received time.Time   // when the request arrived; sources judge replay windows against it
}

// AlertSource authenticates and parses the deliveries of one sender for one
// space. Implementations live in integrations/<system>/webhook.go.
//
// Parse returns the alerts in the delivery (several for grouped payloads, none
// for a delivery that carries no alert, such as an SNS subscription
// confirmation or a PagerDuty event type that is not about an incident).
// Errors are *Error values: CodeUnauthorized with the reason (never the
// secret), CodeInvalid naming the field. Parse must be safe for concurrent use.
type AlertSource interface {
	Parse(ctx context.Context, d Delivery) ([]Alert, error)
}

// AlertSourceFunc adapts a function to AlertSource.
type AlertSourceFunc func(ctx context.Context, d Delivery) ([]Alert, error)

// Parse calls f.
func (f AlertSourceFunc) Parse(ctx context.Context, d Delivery) ([]Alert, error) { return f(ctx, d) }
