package botframework

import (
	"context"
	"time"
)

// SetSleep replaces the retry waits of a TokenSource or a Connector, so
// that tests record them instead of sleeping.
func SetSleep(x any, f func(context.Context, time.Duration) error) {
	switch x := x.(type) {
	case *TokenSource:
		x.retry.sleep = f
	case *Connector:
		x.retry.sleep = f
	default:
		panic("SetSleep: not a TokenSource or Connector")
	}
}
