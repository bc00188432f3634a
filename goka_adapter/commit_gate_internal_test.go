package gokaadapter

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
)

// markSession records the marks that reach sarama's session, keeping the
// highest per partition as sarama does.
type markSession struct {
	sarama.ConsumerGroupSession
	marks []int64
	high  int64
}

func (s *markSession) MarkOffset(_ string, _ int32, offset int64, _ string) {
	s.marks = append(s.marks, offset)
	s.high = max(s.high, offset)
}

func newGateUnderTest() (*commitGate, *gatedPartition, *gatedSession, *markSession) {
	g := newCommitGate()
	gp := g.add(0, &gatedPartition{topic: "t", marked: true})
	ms := &markSession{}
	return g, gp, &gatedSession{ConsumerGroupSession: ms, gate: g}, ms
}

// The paths of a mark through the gate, step by step: goka's marks of
// records riffle does not hold (a tombstone under goka.NilIgnore) pass only
// when no earlier held record is unreleased.
func TestCommitGateSteps(t *testing.T) {
	type step struct {
		op     string // hold, mark (goka marks offset+1 of the record), abandon
		offset int64
		want   []int64 // marks that reach sarama at this step
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"tombstone behind a held record waits for it", []step{
			{"hold", 0, nil},
			{"mark", 1, nil}, // goka's NilIgnore mark of the tombstone at 1
			{"hold", 2, nil},
			{"mark", 0, []int64{1, 2}}, // the release of 0 unblocks the tombstone's mark
			{"mark", 2, []int64{3}},
		}},
		{"marks without held records pass at once", []step{
			{"mark", 0, []int64{1}},
			{"mark", 1, []int64{2}},
		}},
		{"only the highest deferred mark is kept", []step{
			{"hold", 0, nil},
			{"mark", 1, nil},
			{"mark", 2, nil},
			{"hold", 3, nil},
			{"mark", 4, nil},
			// 2's mark (3) was replaced by 4's (5), which still waits
			// for 3: the commit moves to 1 only, not 3.
			{"mark", 0, []int64{1}},
			{"mark", 3, []int64{4, 5}},
		}},
		{"a deferred mark past an abandoned record is dropped", []step{
			{"hold", 0, nil},
			{"hold", 1, nil},
			{"mark", 2, nil},
			{"mark", 0, []int64{1}},
			{"abandon", 1, nil},
			{"mark", 1, nil}, // the abandoned record's deferred commit
			{"mark", 3, nil}, // goka's later marks stay dropped
		}},
		{"a deferred mark before an abandoned record passes", []step{
			{"hold", 0, nil},
			{"mark", 1, nil},
			{"hold", 2, nil},
			{"abandon", 2, nil},
			{"mark", 0, []int64{1, 2}},
			{"mark", 2, nil},
		}},
		{"a failed record blocks every later mark", []step{
			{"hold", 0, nil},
			{"hold", 1, nil},
			{"abandon", 0, nil}, // failed: no mark follows
			{"mark", 2, nil},
			{"mark", 1, nil},
		}},
		{"a release out of order does not pass the head", []step{
			{"hold", 0, nil},
			{"hold", 1, nil},
			{"mark", 1, nil},
			{"mark", 0, []int64{1, 2}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, gp, s, ms := newGateUnderTest()
			for i, st := range tc.steps {
				before := len(ms.marks)
				switch st.op {
				case "hold":
					gp.hold(st.offset)
				case "mark":
					s.MarkOffset("t", 0, st.offset+1, "")
				case "abandon":
					g.abandon("t", 0, st.offset, 0)
				}
				if got := ms.marks[before:]; !slices.Equal(got, st.want) && (len(got) != 0 || len(st.want) != 0) {
					t.Fatalf("step %d (%s %d): marks %v, want %v", i, st.op, st.offset, got, st.want)
				}
			}
		})
	}
}

// Random interleavings of held records released in order and goka's own
// marks of unheld records: a mark that reaches sarama never passes a held
// record that is not released yet, and once everything is released the
// highest mark covers the last record. The held queue stays compact.
func TestCommitGateNeverPassesHeld(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		_, gp, s, ms := newGateUnderTest()
		var held []int64 // unreleased held offsets, in order
		var next int64
		for range 5000 {
			switch r := rng.IntN(10); {
			case r < 5: // goka delivers a record: async (held) or not
				if rng.IntN(4) > 0 {
					gp.hold(next)
					held = append(held, next)
				} else {
					s.MarkOffset("t", 0, next+1, "")
				}
				next++
			case r < 9 && len(held) > 0: // the watermark releases the oldest
				s.MarkOffset("t", 0, held[0]+1, "")
				held = held[1:]
			}
			if len(held) > 0 && ms.high > held[0] {
				t.Fatalf("seed %d: sarama's mark is %d while offset %d is held", seed, ms.high, held[0])
			}
		}
		for _, off := range held {
			s.MarkOffset("t", 0, off+1, "")
		}
		if ms.high != next && next > 0 {
			// The last record may have been unheld and deferred: then
			// its mark passed with the last release.
			t.Fatalf("seed %d: after every release sarama's mark is %d, want %d", seed, ms.high, next)
		}
		gp.mu.Lock()
		live, size := len(gp.mu.held)-gp.mu.head, cap(gp.mu.held)
		gp.mu.Unlock()
		if live != 0 || size > 4*compactAt {
			t.Fatalf("seed %d: held queue has %d live offsets in a slice of capacity %d", seed, live, size)
		}
	}
}

// sessionRecorder is a consumer group handler that keeps the session its
// Setup gets, as goka's processor does.
type sessionRecorder struct{ session sarama.ConsumerGroupSession }

func (r *sessionRecorder) Setup(s sarama.ConsumerGroupSession) error { r.session = s; return nil }
func (r *sessionRecorder) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (r *sessionRecorder) ConsumeClaim(sarama.ConsumerGroupSession, sarama.ConsumerGroupClaim) error {
	return nil
}

// Setup of a new session forgets the held offsets, deferred marks and
// abandoned offsets of the previous one, and a late mark or abandonment of
// the previous session (after goka stopped waiting for it) changes nothing.
func TestCommitGateGenerations(t *testing.T) {
	g := newCommitGate()
	ms := &markSession{}
	inner := &sessionRecorder{}
	if err := (&gatedHandler{inner: inner, gate: g}).Setup(ms); err != nil {
		t.Fatal(err)
	}
	first := inner.session
	gp := g.add(0, &gatedPartition{topic: "t", marked: true})
	gp.hold(0)
	g.abandon("t", 0, 0, 1)
	gp.hold(5)
	first.MarkOffset("t", 0, 7, "") // dropped: past the abandoned 0

	if err := (&gatedHandler{inner: inner, gate: g}).Setup(ms); err != nil {
		t.Fatal(err)
	}
	second := inner.session
	first.MarkOffset("t", 0, 6, "") // the late release of 5
	g.abandon("t", 0, 3, 1)         // a late abandonment
	second.MarkOffset("t", 0, 9, "")
	gp.hold(9)
	second.MarkOffset("t", 0, 12, "") // waits for 9
	second.MarkOffset("t", 0, 10, "")
	if want := []int64{9, 10, 12}; !slices.Equal(ms.marks, want) {
		t.Fatalf("marks %v, want %v", ms.marks, want)
	}
}

type nopSession struct{ sarama.ConsumerGroupSession }

func (nopSession) MarkOffset(string, int32, int64, string) {}

// One async record's passage through the gate: dispatch's lookup and hold,
// then the release's mark, on 8 partitions from parallel goroutines.
func BenchmarkGateRecord(b *testing.B) {
	g := newCommitGate()
	s := &gatedSession{ConsumerGroupSession: nopSession{}, gate: g}
	var next atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		p := next.Add(1) % 8
		topic := "input-" + strconv.Itoa(0)
		var off int64
		for pb.Next() {
			gp := g.lookup(topic, p)
			if gp == nil {
				gp = g.add(p, &gatedPartition{topic: topic, marked: true})
			}
			gp.hold(off)
			s.MarkOffset(topic, p, off+1, "")
			off++
		}
	})
}
