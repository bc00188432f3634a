package asyncdsl

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/riffle-streams/riffle/internal/await"
)

var errTooLarge = errors.New("MESSAGE_TOO_LARGE")

// refusingWriter gives each write of a test an Apply whose done the test
// calls, and records what DeadLetter was asked.
type refusingWriter struct {
	acks chan func(error) // the done of every Apply, in call order
	mu   sync.Mutex
	dl   []error // the errors DeadLetter received
}

func newRefusingWriter() *refusingWriter {
	return &refusingWriter{acks: make(chan func(error), 16)}
}

func (w *refusingWriter) apply(done func(error)) { w.acks <- done }

func (w *refusingWriter) attempt(context.Context, int) (Apply, error) { return w.apply, nil }

func (w *refusingWriter) deadLetter(_ context.Context, err error) (Apply, error) {
	w.mu.Lock()
	w.dl = append(w.dl, err)
	w.mu.Unlock()
	return w.apply, nil
}

func (w *refusingWriter) deadLetters() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.dl...)
}

// A write refused for a reason of the record goes to the error policy; the
// key's next record and the partition's other records are not held up, and
// the watermark holds the refused record's commit until its policy is done.
func TestRefusedWriteGoesToPolicy(t *testing.T) {
	refused := Refused(errTooLarge)
	for _, tc := range []struct {
		name   string
		policy ErrorPolicy
		// acks are the done results of the record's writes in order: its
		// own write, then any dead letters.
		acks       []error
		want       Status
		wantDL     int // DeadLetter calls
		wantCounts Counts
		wantLater  Status // the status of the records after it
	}{
		{"skip", SkipOnError, []error{refused}, Skipped, 0,
			Counts{Skipped: 1, Refused: 1}, Done},
		{"dead letter", DeadLetterOnError, []error{refused, nil}, DeadLettered, 1,
			Counts{DeadLettered: 1, Refused: 1}, Done},
		{"reduced dead letter", DeadLetterOnError, []error{refused, refused, nil}, DeadLettered, 2,
			Counts{DeadLettered: 1, Refused: 2, DeadLettersReduced: 1}, Done},
		{"reduced dead letter refused, then written again", DeadLetterOnError, []error{refused, refused, refused, refused, nil}, DeadLettered, 4,
			Counts{DeadLettered: 1, Refused: 4, DeadLettersReduced: 1}, Done},
		{"reduced dead letter refused every time is skipped", DeadLetterOnError, []error{refused, refused, refused, refused, refused}, Skipped, 4,
			Counts{Skipped: 1, Refused: 5, DeadLettersDropped: 1}, Done},
		{"fail stays fail", FailOnError, []error{refused}, Failed, 0,
			Counts{Refused: 1}, Failed},
		{"a write error that is not a refusal still fails", SkipOnError, []error{errBoom}, Failed, 0,
			Counts{}, Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newExecutor(t, WithErrorPolicy(tc.policy))
			rc := newRecorder()
			w := newRefusingWriter()
			ctx := context.Background()
			r0, r1, r2 := rec(0, 0, "a"), rec(0, 1, "a"), rec(0, 2, "b")
			submit(t, e, Task{Record: r0, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: w.attempt, DeadLetterFunc: w.deadLetter, ReleaseFunc: rc.release(r0)}})
			done0 := recv(t, w.acks, "the write of record 0")
			// The key's next record and another key's record run while
			// record 0 waits for its acknowledgement.
			for _, r := range []Record{r1, r2} {
				submit(t, e, Task{Record: r, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: ok, DeadLetterFunc: w.deadLetter, ReleaseFunc: rc.release(r)}})
			}
			await.Until(t, testTimeout, "records 1 and 2 finished", func() bool { return e.Stats().Partitions[0].HeldBack == 2 })

			done0(tc.acks[0])
			for i, ack := range tc.acks[1:] {
				done := recv(t, w.acks, "a dead letter's write")
				if len(rc.snapshot()) != 0 {
					t.Fatalf("released %q before dead letter %d was acknowledged", statuses(rc.snapshot()), i+1)
				}
				done(ack)
			}
			got := rc.waitN(t, 3)
			drain(t, e)
			rc.checkOnce(t)
			if got[0].Status != tc.want {
				t.Fatalf("record 0 released %s (%v), want %s", got[0].Status, got[0].Err, tc.want)
			}
			for _, r := range got[1:] {
				if r.Status != tc.wantLater {
					t.Errorf("record %d released %s (%v), want %s", r.Offset, r.Status, r.Err, tc.wantLater)
				}
			}
			if tc.want == Failed {
				if !errors.Is(got[0].Err, tc.acks[0]) {
					t.Errorf("record 0's error %v does not wrap the write's", got[0].Err)
				}
			} else {
				var te *TaskError
				if !errors.As(got[0].Err, &te) || te.Record != r0 || !errors.Is(got[0].Err, errTooLarge) {
					t.Errorf("record 0's error %v is not a *TaskError of it wrapping the refusal", got[0].Err)
				}
			}
			dls := w.deadLetters()
			if len(dls) != tc.wantDL {
				t.Fatalf("DeadLetter called %d times, want %d", len(dls), tc.wantDL)
			}
			for i, err := range dls {
				var wr *WriteRefusedError
				var dr *DeadLetterRefusedError
				switch {
				case i == 0 && !errors.As(err, &wr):
					t.Errorf("first DeadLetter got %v, want a *WriteRefusedError", err)
				case i >= 1 && (!errors.As(err, &dr) || dr.Reduced || !errors.As(dr.Cause, &wr)):
					t.Errorf("DeadLetter %d got %v, want a *DeadLetterRefusedError of the write refusal", i+1, err)
				}
			}
			if tc.want == Skipped && tc.wantDL > 1 {
				var dr *DeadLetterRefusedError
				if !errors.As(got[0].Err, &dr) || !dr.Reduced {
					t.Errorf("record 0's error %v is not a reduced *DeadLetterRefusedError", got[0].Err)
				}
			}
			if c := e.Stats().Counts; c != tc.wantCounts {
				// Records 1 and 2 are Done (not counted) unless failed.
				t.Errorf("counts %+v, want %+v", c, tc.wantCounts)
			}
		})
	}
}

// A record's first dead letter (after failed attempts) that is refused is
// written again reduced.
func TestRefusedDeadLetterAfterFailedAttempt(t *testing.T) {
	e := newExecutor(t, WithErrorPolicy(DeadLetterOnError))
	rc := newRecorder()
	w := newRefusingWriter()
	r0 := rec(0, 0, "a")
	submit(t, e, Task{Record: r0, Ctx: context.Background(),
		Work: &WorkFuncs{AttemptFunc: func(context.Context, int) (Apply, error) { return nil, errBoom },
			DeadLetterFunc: w.deadLetter, ReleaseFunc: rc.release(r0)}})
	recv(t, w.acks, "the dead letter's write")(Refused(errTooLarge))
	recv(t, w.acks, "the reduced dead letter's write")(nil)
	got := rc.waitN(t, 1)
	if got[0].Status != DeadLettered || !errors.Is(got[0].Err, errBoom) {
		t.Fatalf("released %s (%v), want dead-lettered with the attempt's error", got[0].Status, got[0].Err)
	}
	dls := w.deadLetters()
	var dr *DeadLetterRefusedError
	if len(dls) != 2 || !errors.As(dls[1], &dr) || !errors.Is(dr.Cause, errBoom) || !errors.Is(dr.Refusal, errTooLarge) {
		t.Fatalf("DeadLetter calls %v, want the attempt's error, then a *DeadLetterRefusedError of it", dls)
	}
	if c := e.Stats().Counts; c.DeadLettersReduced != 1 || c.DeadLettered != 1 {
		t.Errorf("counts %+v, want one reduced dead letter", c)
	}
}

// A task waiting for a worker to write its dead letter is abandoned at once
// when its partition is revoked, and released once.
func TestRefusedTaskAbandonedOnRevocation(t *testing.T) {
	e := newExecutor(t, WithErrorPolicy(DeadLetterOnError), WithWorkers(1))
	rc := newRecorder()
	w := newRefusingWriter()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	block := make(chan struct{})
	r0, r1 := rec(0, 0, "a"), rec(0, 1, "b")
	submit(t, e, Task{Record: r0, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: w.attempt, DeadLetterFunc: w.deadLetter, ReleaseFunc: rc.release(r0)}})
	done0 := recv(t, w.acks, "the write of record 0")
	started := make(chan struct{})
	// The only worker is busy with record 1 when record 0 is requeued.
	submit(t, e, Task{Record: r1, Ctx: ctx, Work: &WorkFuncs{AttemptFunc: func(ctx context.Context, _ int) (Apply, error) {
		close(started)
		<-block
		return nil, ctx.Err()
	}, DeadLetterFunc: w.deadLetter, ReleaseFunc: rc.release(r1)}})
	<-started
	done0(Refused(errTooLarge))
	cancel()
	close(block)
	got := rc.waitN(t, 2)
	drain(t, e)
	rc.checkOnce(t)
	if s := statuses(got); s != "0:abandoned 1:abandoned" {
		t.Fatalf("released %q, want both abandoned", s)
	}
	if n := len(w.deadLetters()); n != 0 {
		t.Errorf("DeadLetter called %d times after the revocation", n)
	}
}
