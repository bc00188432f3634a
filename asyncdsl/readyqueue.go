package asyncdsl

// readyQueue is the FIFO of lane heads waiting for a worker, a growable ring
// guarded by e.mu. Entries are never removed from the middle: a task finished
// while it waited here (abandoned by a revocation, failed with its
// assignment) stays until a worker pops it and skips it because it is no
// longer ready. At most one entry per task exists at a time: a task becomes
// ready when it reaches the head of its lane, and again only after a worker
// popped and ran it and a refused write sent it back for a dead letter
// (refused.go).
type readyQueue struct {
	buf  []*task
	head int
	n    int
}

func (q *readyQueue) push(t *task) {
	if q.n == len(q.buf) {
		size := 2 * len(q.buf)
		if size == 0 {
			size = 64
		}
		buf := make([]*task, size)
		k := copy(buf, q.buf[q.head:])
		copy(buf[k:], q.buf[:q.head])
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = t
	q.n++
}

// pop returns the oldest entry, or nil if the queue is empty.
func (q *readyQueue) pop() *task {
	if q.n == 0 {
		return nil
	}
	t := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return t
}
