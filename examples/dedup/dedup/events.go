package dedup

import (
	"fmt"
	"math/rand/v2"
)

// Events are the input of one run: the id of every record, in order.
type Events struct {
	ids    []string
	unique int
}

// NewEvents draws records ids: a fraction dupRate of them (from the second
// on) repeats one of the last recent new ids, uniformly; the others are new.
// The same arguments give the same ids.
func NewEvents(records int, dupRate float64, recent int, seed uint64) *Events {
	rng := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	e := &Events{ids: make([]string, records)}
	var news []string
	for i := range e.ids {
		if len(news) > 0 && rng.Float64() < dupRate {
			window := news[max(0, len(news)-recent):]
			e.ids[i] = window[rng.IntN(len(window))]
			continue
		}
		id := fmt.Sprintf("event-%08d", len(news))
		news = append(news, id)
		e.ids[i] = id
	}
	e.unique = len(news)
	return e
}

// Len is the number of records.
func (e *Events) Len() int { return len(e.ids) }

// ID is the id of record i.
func (e *Events) ID(i int) string { return e.ids[i] }

// Unique is the number of distinct ids.
func (e *Events) Unique() int { return e.unique }

// Duplicates is the number of records that repeat an earlier id.
func (e *Events) Duplicates() int { return len(e.ids) - e.unique }

// counts returns the number of records of every id.
func (e *Events) counts() map[string]int {
	m := make(map[string]int, e.unique)
	for _, id := range e.ids {
		m[id]++
	}
	return m
}
