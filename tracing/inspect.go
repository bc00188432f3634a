package tracing

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/samber/lo"
)

// Inspection answers "why is my committed offset stuck?": for each
// partition assignment, the record its watermark waits on, the keys whose
// records wait behind an earlier record of the same key, and the last
// error; and, for the executor, the goroutines stuck in user code that
// ignored its context (see asyncdsl.Stats). Durations are in milliseconds,
// for JSON readers.
type Inspection struct {
	Time    time.Time `json:"time"`
	Pending int       `json:"pending"`
	Running int       `json:"running"`
	Queued  int       `json:"queued"`
	// StuckCalls counts the goroutines given up on in user code that have
	// not returned yet; DetachedCalls the attempts given up on so far, and
	// DiscardedResults the results of those that returned since.
	StuckCalls       int                   `json:"stuck_calls"`
	DetachedCalls    int64                 `json:"detached_calls"`
	DiscardedResults int64                 `json:"discarded_results"`
	Partitions       []PartitionInspection `json:"partitions"`
}

// PartitionInspection is one assignment of a (topic, partition).
type PartitionInspection struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Pending   int    `json:"pending"`
	Queued    int    `json:"queued"`
	Running   int    `json:"running"`
	HeldBack  int    `json:"held_back"`
	// CommitLag is how many offsets the watermark holds back from the
	// commit.
	CommitLag int64 `json:"commit_lag"`
	// WatermarkHead is the record the commit waits for; nil if nothing is
	// pending.
	WatermarkHead   *HeadInspection `json:"watermark_head"`
	LongestKeyQueue int             `json:"longest_key_queue"`
	BlockedKeys     []KeyInspection `json:"blocked_keys"`
	LastError       string          `json:"last_error,omitempty"`
	// Mispartitioned counts the partition's input records whose key
	// belongs to another partition, when the source counts them (see
	// MispartitionSource).
	Mispartitioned int64 `json:"mispartitioned,omitempty"`
}

// MispartitionSource is a StatsSource that also counts the input records
// of a (topic, partition) whose key the processor's hasher puts in another
// partition: a *gokaadapter.Adapter is one. Inspect and Handler add its
// counts to the partitions they list.
type MispartitionSource interface {
	StatsSource
	Mispartitioned(topic string, partition int32) int64
}

// HeadInspection is the record a partition's watermark waits on.
type HeadInspection struct {
	Offset   int64   `json:"offset"`
	Key      string  `json:"key"`
	AgeMs    float64 `json:"age_ms"`
	Attempts int     `json:"attempts"`
}

// KeyInspection is a key with records waiting behind its head record.
type KeyInspection struct {
	Key          string  `json:"key"`
	Unreleased   int     `json:"unreleased"`
	HeadTopic    string  `json:"head_topic,omitempty"`
	HeadOffset   int64   `json:"head_offset"`
	HeadState    string  `json:"head_state,omitempty"`
	HeadAgeMs    float64 `json:"head_age_ms"`
	HeadAttempts int     `json:"head_attempts"`
}

// Inspect takes a snapshot of e (an *asyncdsl.Executor, for example
// Adapter.Executor(), or the *gokaadapter.Adapter itself, which adds the
// mis-partitioned counts) listing at most topKeys blocked keys per
// partition. It costs one Stats call: fine on demand, not per record.
func Inspect(e StatsSource, topKeys int) Inspection {
	in := inspection(e.StatsTopKeys(topKeys), time.Now())
	if m, ok := e.(MispartitionSource); ok {
		for i := range in.Partitions {
			p := &in.Partitions[i]
			p.Mispartitioned = m.Mispartitioned(p.Topic, p.Partition)
		}
	}
	return in
}

func inspection(s asyncdsl.Stats, now time.Time) Inspection {
	in := Inspection{Time: now, Pending: s.Pending, Running: s.Running, Queued: s.Queued,
		StuckCalls: s.Stuck, DetachedCalls: s.Detached, DiscardedResults: s.Discarded,
		Partitions: make([]PartitionInspection, len(s.Partitions))}
	for i, p := range s.Partitions {
		pi := PartitionInspection{
			Topic: p.Topic, Partition: p.Partition,
			Pending: p.Pending, Queued: p.Queued, Running: p.Running, HeldBack: p.HeldBack,
			CommitLag:       commitLag(p),
			LongestKeyQueue: p.LongestKeyQueue,
			BlockedKeys:     lo.Map(p.BlockedKeys, keyInspection),
			LastError:       p.LastError,
		}
		if p.HeadOffset >= 0 {
			pi.WatermarkHead = &HeadInspection{Offset: p.HeadOffset, Key: p.HeadKey, AgeMs: ms(p.HeadAge), Attempts: p.HeadAttempts}
		}
		in.Partitions[i] = pi
	}
	return in
}

func keyInspection(k asyncdsl.KeyStats, _ int) KeyInspection {
	return KeyInspection{Key: k.Key, Unreleased: k.Unreleased, HeadTopic: k.HeadTopic,
		HeadOffset: k.HeadOffset, HeadState: k.HeadState, HeadAgeMs: ms(k.HeadAge), HeadAttempts: k.HeadAttempts}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MaxHandlerKeys bounds the keys query parameter of Handler.
const MaxHandlerKeys = 1000

// Handler serves Inspect(e, n) as JSON on GET (and HEAD), with n from the
// query parameter keys (default asyncdsl.DefaultStatsTopKeys, at most
// MaxHandlerKeys). The response names record keys: mount it where only
// operators reach it.
func Handler(e StatsSource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "tracing: inspection is read-only: use GET", http.StatusMethodNotAllowed)
			return
		}
		n := asyncdsl.DefaultStatsTopKeys
		if v := r.URL.Query().Get("keys"); v != "" {
			k, err := strconv.Atoi(v)
			if err != nil || k < 0 {
				http.Error(w, "tracing: keys must be a non-negative integer", http.StatusBadRequest)
				return
			}
			n = min(k, MaxHandlerKeys)
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(Inspect(e, n))
	})
}
