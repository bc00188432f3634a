package stores

import (
	"context"
	"time"
)

// Window answers "has id been seen within the last W?", for deduplication.
//
// SeenOrAdd reports whether id is in the window, and adds it if it is not,
// atomically: of several concurrent calls for one new id, exactly one reports
// false. An id added at time at stays in the window until at+W, by the
// store's clock (the memory window's Clock; for Redis, the server's expiry
// of a TTL computed from the caller's clock). A sighting is not an update: a
// second SeenOrAdd of an id in the window does not extend its expiry. An id
// whose at+W has already passed is reported as not seen and is not added,
// since it would expire at once; pass at as the event's time (its record
// timestamp) or time.Now().
//
// Implementations are safe for concurrent use.
type Window interface {
	SeenOrAdd(ctx context.Context, id string, at time.Time) (seen bool, err error)
}

// Clock tells the time. The memory window uses it to decide expiry; tests
// pass a clock they move by hand.
type Clock interface {
	Now() time.Time
}

// wallClock is the real time.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
