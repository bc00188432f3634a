//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

// The broker keeps what it acknowledged: records are produced without a
// pause while "riffle broker -data-dir" is killed (SIGKILL) and started
// again; afterwards every acknowledged record must be in the topic, at the
// partition and offset it was acknowledged at.
func TestBrokerKeepsAcknowledged(t *testing.T) {
	for _, tc := range []struct {
		name       string
		syncWrites bool
	}{{"sync", true}, {"nosync", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) })
			c, b := startPersistentBroker(t, t.TempDir(), tc.syncWrites)
			type at struct {
				p int32
				o int64
			}
			var (
				mu    sync.Mutex
				acked = map[at]string{}
				errs  int
				first error
			)
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					v := fmt.Sprintf("v%07d", i)
					c.client.Produce(ctx, &kgo.Record{Topic: inputT, Key: []byte(keyName(i % 320)), Value: []byte(v)}, func(r *kgo.Record, err error) {
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							if errs++; first == nil {
								first = err
							}
							return
						}
						acked[at{r.Partition, r.Offset}] = string(r.Value)
					})
					if i%200 == 199 {
						time.Sleep(20 * time.Millisecond) // the producer's pace
					}
				}
			}()
			count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
			// waitAcked waits until 3000 more records are acknowledged.
			waitAcked := func() {
				t.Helper()
				n := count()
				await.Until(t, 2*time.Minute, "3000 more acknowledged records", func() bool { return count() >= n+3000 })
			}
			for range size(2, 5) {
				waitAcked()
				t.Logf("broker killed and restarted after %d acknowledged records, away %s", count(), b.restart(syscall.SIGKILL).Round(time.Millisecond))
			}
			waitAcked()
			cancel()
			wg.Wait()
			fctx, fcancel := context.WithTimeout(t.Context(), 30*time.Second)
			_ = c.client.Flush(fctx)
			fcancel()
			mu.Lock()
			defer mu.Unlock()
			missing, moved := 0, 0
			got := map[at]string{}
			for _, r := range c.readToEnd(t, inputT, 60*time.Second) {
				got[at{r.Partition, r.Offset}] = string(r.Value)
			}
			for k, v := range acked {
				switch g, ok := got[k]; {
				case !ok:
					missing++
				case g != v:
					moved++
				}
			}
			t.Logf("RESULT broker-kill9-acked-%s: %d acknowledged, %d in the topic, %d missing, %d at another offset, %d produce errors (first: %v)", tc.name, len(acked), len(got), missing, moved, errs, first)
			if missing+moved > 0 {
				t.Errorf("%d acknowledged records missing and %d at another offset after SIGKILLs of the broker", missing, moved)
			}
		})
	}
}
