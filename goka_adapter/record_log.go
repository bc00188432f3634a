package gokaadapter

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
)

// recordLogInterval is the least time between two log lines of one kind
// about the records of one (topic, partition), after its first.
const recordLogInterval = time.Minute

// recordEvent is what happened to a record that recordLog reports.
type recordEvent uint8

const (
	eventSkipped           recordEvent = iota + 1 // the skip policy dropped it
	eventDeadLetterReduced                        // its dead letter was written without its value
	eventDeadLetterDropped                        // even its reduced dead letter was refused: skipped
)

func (ev recordEvent) String() string {
	switch ev {
	case eventSkipped:
		return "gokaadapter: record skipped by the error policy"
	case eventDeadLetterReduced:
		return "gokaadapter: dead letter refused; written again without the record's value and headers"
	default:
		return "gokaadapter: record skipped: its dead letter was refused, also without its value and headers"
	}
}

func (ev recordEvent) level() slog.Level {
	if ev == eventDeadLetterDropped {
		return slog.LevelError // the record is nowhere but in its input topic
	}
	return slog.LevelWarn
}

// recordLog writes the adapter's log lines about single records that did
// not end as the callback meant: skipped, or dead-lettered in reduced form.
// The executor counts every one of them (asyncdsl.Stats.Counts, and with
// tracing the riffle.record.skipped and riffle.record.dead_letters
// metrics); the log says which records they were.
//
// Floods: a topic of records that all fail (undecodable, say) under the
// skip policy would write a line per record. So for each (topic,
// partition) and kind of event, the first record is logged with its
// coordinates and error, and the later ones are counted and summed up in
// one line (their number, the last one's offset and error) at most every
// recordLogInterval: by the next such record after the interval, or by
// flush when the adapter closes. No goroutine or timer is involved.
//
// It is called from Release, on any goroutine, concurrently for different
// partitions; mu guards the states.
type recordLog struct {
	logger *slog.Logger
	mu     struct {
		sync.Mutex
		states map[recordLogKey]*recordLogState
	}
}

type recordLogKey struct {
	tp    topicPartition
	event recordEvent
}

type recordLogState struct {
	logged     time.Time // when the last line was written
	suppressed int       // records since that line
	lastOffset int64
	lastErr    string
}

func newRecordLog(logger *slog.Logger) *recordLog {
	l := &recordLog{logger: logger}
	l.mu.states = make(map[recordLogKey]*recordLogState)
	return l
}

// released reports the outcome o of the record rec if it is one of the
// events logged.
func (l *recordLog) released(rec recordMeta, o asyncdsl.Outcome) {
	var refused *asyncdsl.DeadLetterRefusedError
	isRefused := errors.As(o.Err, &refused)
	var ev recordEvent
	switch {
	case o.Status == asyncdsl.Skipped && isRefused:
		ev = eventDeadLetterDropped
	case o.Status == asyncdsl.Skipped:
		ev = eventSkipped
	case o.Status == asyncdsl.DeadLettered && isRefused:
		ev = eventDeadLetterReduced
	default:
		return
	}
	errText := ""
	if o.Err != nil {
		errText = capped(o.Err.Error(), maxErrorHeader)
	}
	now := time.Now()
	k := recordLogKey{topicPartition{rec.Topic, rec.Partition}, ev}
	l.mu.Lock()
	st := l.mu.states[k]
	first := st == nil
	if first {
		st = &recordLogState{logged: now}
		l.mu.states[k] = st
	} else {
		st.suppressed++
		st.lastOffset, st.lastErr = rec.Offset, errText
	}
	var summary recordLogState
	due := !first && now.Sub(st.logged) >= recordLogInterval
	if due {
		summary = *st
		st.logged, st.suppressed = now, 0
	}
	l.mu.Unlock()

	switch {
	case first:
		l.logger.LogAttrs(context.Background(), ev.level(), ev.String(),
			slog.String("group", string(rec.group)),
			slog.String("topic", rec.Topic),
			slog.Int("partition", int(rec.Partition)),
			slog.Int64("offset", rec.Offset),
			slog.String("error", errText),
			slog.String("note", "further records of the partition are summed up at most once a minute"))
	case due:
		l.summary(k, summary)
	}
}

// summary logs the records of k counted since its last line.
func (l *recordLog) summary(k recordLogKey, st recordLogState) {
	l.logger.LogAttrs(context.Background(), k.event.level(), k.event.String(),
		slog.String("topic", k.tp.topic),
		slog.Int("partition", int(k.tp.partition)),
		slog.Int("records", st.suppressed),
		slog.Time("since", st.logged),
		slog.Int64("last_offset", st.lastOffset),
		slog.String("last_error", st.lastErr))
}

// flush logs the records counted and not yet logged. The adapter calls it
// when it closes.
func (l *recordLog) flush() {
	l.mu.Lock()
	var pending []recordLogKey
	var states []recordLogState
	for k, st := range l.mu.states {
		if st.suppressed > 0 {
			pending = append(pending, k)
			states = append(states, *st)
			st.suppressed = 0
		}
	}
	l.mu.Unlock()
	for i, k := range pending {
		l.summary(k, states[i])
	}
}
