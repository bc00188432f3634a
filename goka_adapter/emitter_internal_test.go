package gokaadapter

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
)

// fakeProducer records what is sent, in order, and acknowledges each send
// at once (or panics, for the closed-producer case).
type fakeProducer struct {
	mu    sync.Mutex
	sent  []string // keys, in send order
	panic bool
}

func (p *fakeProducer) Emit(topic, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *fakeProducer) EmitWithHeaders(topic, key string, _ []byte, _ goka.Headers) *goka.Promise {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.panic {
		panic("send on closed channel")
	}
	p.sent = append(p.sent, key)
	promise, finish := goka.NewPromiseWithFinisher()
	finish(&sarama.ProducerMessage{Topic: topic}, nil)
	return promise
}

func (p *fakeProducer) Close() error { return nil }

func (p *fakeProducer) keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.sent...)
}

// emitted is a record's effects whose ack counter reports to a channel, as
// apply sets it up: start with the apply's share, then one share for the
// emitter, then the apply's share finished.
func emitted(keys ...string) (*effects, <-chan error) {
	e := &effects{}
	for _, k := range keys {
		e.ops = append(e.ops, effect{kind: effectEmit, topic: "out", key: k})
	}
	result := make(chan error, 1)
	e.acks.start(func(err error) { result <- err })
	e.acks.add() // the emitter's share
	return e, result
}

func waitAck(t *testing.T, result <-chan error) error {
	t.Helper()
	select {
	case err := <-result:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the record's acknowledgement")
		return nil
	}
}

// TestEmitterSendsInPushOrder: records' emits reach the producer in the
// order the records were pushed, each record's in its own order, and every
// record is acknowledged once its emits are.
func TestEmitterSendsInPushOrder(t *testing.T) {
	m := newEmitQueue()
	defer m.close()
	p := &fakeProducer{}
	var results []<-chan error
	var want []string
	for i := 0; i < 100; i++ {
		a, b := string(rune('a'+i%26))+"1", string(rune('a'+i%26))+"2"
		e, result := emitted(a, b)
		m.push(emitBatch{effects: e, producer: asFuncEmitter(p), assignment: context.Background()})
		e.acks.finish(nil) // the apply's share
		results = append(results, result)
		want = append(want, a, b)
	}
	for _, r := range results {
		if err := waitAck(t, r); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	got := p.keys()
	if len(got) != len(want) {
		t.Fatalf("sent %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("send %d is %q, want %q (order broken)", i, got[i], want[i])
		}
	}
}

// TestEmitterDropsRevokedRecords: a record whose assignment was revoked
// before the emitter reached it is not sent, and its acknowledgement is
// errRevoked (which the executor turns into Abandoned).
func TestEmitterDropsRevokedRecords(t *testing.T) {
	m := newEmitQueue()
	defer m.close()
	p := &fakeProducer{}
	revoked, cancel := context.WithCancel(context.Background())
	cancel()
	e, result := emitted("k")
	m.push(emitBatch{effects: e, producer: asFuncEmitter(p), assignment: revoked})
	e.acks.finish(nil)
	if err := waitAck(t, result); !errors.Is(err, errRevoked) || !errors.Is(err, context.Canceled) {
		t.Fatalf("ack error %v, want errRevoked", err)
	}
	if got := p.keys(); len(got) != 0 {
		t.Fatalf("sent %v for a revoked record", got)
	}
}

// TestEmitterClose: what was pushed before close is still sent; a push
// after close fails at once with ErrNotRunning; close is idempotent and
// waits for the goroutine (goleak checks that it ended).
func TestEmitterClose(t *testing.T) {
	m := newEmitQueue()
	p := &fakeProducer{}
	e, result := emitted("before")
	m.push(emitBatch{effects: e, producer: asFuncEmitter(p), assignment: context.Background()})
	e.acks.finish(nil)
	m.close()
	if err := waitAck(t, result); err != nil {
		t.Fatalf("record pushed before close: %v", err)
	}
	late, lateResult := emitted("after")
	m.push(emitBatch{effects: late, producer: asFuncEmitter(p), assignment: context.Background()})
	late.acks.finish(nil)
	if err := waitAck(t, lateResult); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("record pushed after close: %v, want ErrNotRunning", err)
	}
	m.close()
	if got := p.keys(); len(got) != 1 || got[0] != "before" {
		t.Fatalf("sent %v, want [before]", got)
	}

	unused := newEmitQueue()
	unused.close() // never started: returns at once
}

// TestEmitterSurvivesClosedProducer: a producer that panics (sarama's send
// on its closed input) fails the record with ErrNotRunning instead of
// crashing the process, and the emitter goes on with the next record.
func TestEmitterSurvivesClosedProducer(t *testing.T) {
	m := newEmitQueue()
	defer m.close()
	broken := &fakeProducer{panic: true}
	e, result := emitted("k1", "k2")
	m.push(emitBatch{effects: e, producer: asFuncEmitter(broken), assignment: context.Background()})
	e.acks.finish(nil)
	if err := waitAck(t, result); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("ack error %v, want ErrNotRunning", err)
	}
	working := &fakeProducer{}
	e2, result2 := emitted("k3")
	m.push(emitBatch{effects: e2, producer: asFuncEmitter(working), assignment: context.Background()})
	e2.acks.finish(nil)
	if err := waitAck(t, result2); err != nil {
		t.Fatalf("next record: %v", err)
	}
}

// funcProducer is a fakeProducer with EmitFunc (as broker's franz-go
// producer has): it reports each record's offset (its index, from 1) to
// done before returning, or fails keys in fail.
type funcProducer struct {
	fakeProducer
	fail map[string]error
}

func (p *funcProducer) EmitFunc(_ string, key string, _ []byte, _ goka.Headers, done func(int32, int64, error)) {
	p.mu.Lock()
	p.sent = append(p.sent, key)
	offset := int64(len(p.sent))
	p.mu.Unlock()
	done(0, offset, p.fail[key]) // before returning: send must have added the share
}

// TestEmitterUsesFuncEmitter: with a producer that has EmitFunc, the emit
// queue sends through it, not through goka's promises (asFuncEmitter keeps
// it as it is); a state write's
// acknowledged offset becomes the storage's offset; the record is
// acknowledged once, after all of its writes, even though the producer
// reports each write before EmitFunc returns; and a failed emit fails the
// record.
func TestEmitterUsesFuncEmitter(t *testing.T) {
	m := newEmitQueue()
	p := &funcProducer{fail: map[string]error{"bad": errors.New("broker said no")}}
	st := &lockedStorage{Storage: storage.NewMemory()}

	e, result := emitted("out-key")
	e.ops = append([]effect{{kind: effectSet, topic: "table", key: "k", value: []byte("v"), storage: st}}, e.ops...)
	// The apply's own share is finished before the emitter runs, as it
	// usually is: from here on only the emitter's share holds the record.
	e.acks.finish(nil)
	m.push(emitBatch{effects: e, producer: asFuncEmitter(p), assignment: context.Background()})
	if err := waitAck(t, result); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if _, adapted := asFuncEmitter(p).(promiseEmitter); adapted {
		t.Fatal("a producer with EmitFunc was adapted to goka's promises")
	}
	if got := p.keys(); len(got) != 2 || got[0] != "k" || got[1] != "out-key" {
		t.Fatalf("sent %v through EmitFunc, want [k out-key]: acknowledged before all writes were sent", got)
	}
	if off, err := st.GetOffset(-1); err != nil || off != 1 {
		t.Fatalf("storage offset %d (%v), want 1, the table write's", off, err)
	}

	bad, badResult := emitted("bad")
	bad.acks.finish(nil)
	m.push(emitBatch{effects: bad, producer: asFuncEmitter(p), assignment: context.Background()})
	if err := waitAck(t, badResult); err == nil || err.Error() != "broker said no" {
		t.Fatalf("ack of a failed emit: %v, want the producer's error", err)
	}
	m.close() // the emitter is done: no acknowledgement can come later
	if len(result) > 0 || len(badResult) > 0 {
		t.Fatal("a record was acknowledged twice")
	}
}
