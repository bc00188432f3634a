package asyncdsl

// laneKey names a lane: a partition number and a key. The topic is not part
// of it on purpose: co-partitioned topics share lanes, so that records of
// one key from two topics of a partition are processed in the order they
// were submitted (goka hands them to one partition goroutine in that order).
type laneKey struct {
	partition int32
	key       string
}

// lane is the FIFO of one key. All fields are guarded by e.mu.
//
// The task at head owns the lane: it is ready (waiting for a worker) or
// running. The tasks behind it are queued. A task leaves the lane when its
// Apply has returned, or when it ended without one (skipped, failed,
// abandoned, detached); leaveLaneLocked then hands the lane to the next task
// by pushing it on the ready queue. Because the hand-over happens under e.mu
// after Apply returned, and the next worker takes the task under e.mu, the
// effects of one task happen before the next task of its lane starts.
//
// count includes tasks that left the list but are not yet released: it is
// what WithMaxQueuedPerKey bounds. The lane is deleted (and recycled) when
// count drops to zero, which implies the list is empty.
type lane struct {
	key        laneKey
	head, tail *task
	count      int
}

// newLaneLocked creates the lane of k, which has none.
func (e *Executor) newLaneLocked(k laneKey) *lane {
	var l *lane
	if n := len(e.mu.free); n > 0 {
		l = e.mu.free[n-1]
		e.mu.free[n-1] = nil
		e.mu.free = e.mu.free[:n-1]
	} else {
		l = new(lane)
	}
	l.key = k
	e.mu.lanes[k] = l
	return l
}

// maxFreeLanes bounds the recycled lanes kept for reuse.
const maxFreeLanes = 1024

// dropLaneCountLocked removes one released task from the lane's count, and
// deletes the lane once nothing refers to it.
func (e *Executor) dropLaneCountLocked(l *lane) {
	l.count--
	if l.count > 0 {
		return
	}
	delete(e.mu.lanes, l.key)
	*l = lane{}
	if len(e.mu.free) < maxFreeLanes {
		e.mu.free = append(e.mu.free, l)
	}
}

// enterLaneLocked appends t to its lane. If t is at the head it becomes
// ready at once.
func (e *Executor) enterLaneLocked(t *task) {
	l := t.lane
	t.inLane = true
	t.prev = l.tail
	if l.tail != nil {
		l.tail.next = t
		l.tail = t
		t.state = stateQueued
		e.mu.queued++
		return
	}
	l.head, l.tail = t, t
	t.state = stateQueued
	e.mu.queued++
	e.readyLocked(t)
}

// leaveLaneLocked removes t from its lane if it is still in it, and hands
// the lane to the next task if t was the head. It is idempotent, because a
// task can be taken out of its lane by its worker or, first, by a revocation
// or failure that finished it.
func (e *Executor) leaveLaneLocked(t *task) {
	if !t.inLane {
		return
	}
	l := t.lane
	wasHead := l.head == t
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		l.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		l.tail = t.prev
	}
	t.prev, t.next, t.inLane = nil, nil, false
	if wasHead && l.head != nil && l.head.state == stateQueued {
		e.readyLocked(l.head)
	}
}

// readyLocked marks the lane head t ready and gives it to a worker.
func (e *Executor) readyLocked(t *task) {
	t.state = stateReady
	if e.hooked {
		t.readied = e.now()
	}
	e.mu.ready.push(t)
	e.wakeWorkerLocked()
}
