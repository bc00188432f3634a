package broker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// groupSweeper makes the embedded cluster (kfake) expire the members of
// classic consumer groups as a Kafka broker does. It mends two holes of
// kfake's group coordinator from outside, through requests any client could
// send: it removes members that died but that kfake keeps (a LeaveGroup on
// their behalf), and it keeps members whose JoinGroup kfake holds in a
// rebalance from being expired meanwhile (a heartbeat on their behalf).
//
// Why: kfake (re)arms a member's session timer only when the member
// heartbeats or when a reply to its JoinGroup or SyncGroup reaches its
// connection. A member whose first JoinGroup with its member id is held in
// a rebalance (the pending member's timer is stopped when it joins) and
// whose connection dies before the rebalance completes has no timer; the
// reply to its JoinGroup fails, or succeeds at random (kfake's reply
// selects between a free slot of the connection's response channel and the
// connection's closed done channel), and only a reply that succeeds arms
// the timer. If the group's leader, alive, then syncs before the rebalance
// timeout, the group becomes Stable and kfake stops the timer that would
// have removed members that never synced. From then on nothing removes the
// dead member: the group stays Stable with it, and the partitions that the
// leader assigned to it are never consumed. docs/reliability.md has the
// trace and the test that reproduces it (TestSweeperExpiresMemberKilledInJoin).
//
// The second hole: kfake's session timer keeps running while it holds a
// member's JoinGroup in a rebalance (Kafka never expires a member awaiting
// its join: the rebalance timeout bounds those). When the timer fires, kfake
// removes the member and drops its JoinGroup without an answer, so the
// client waits for its read timeout (sarama: "i/o timeout", after 30 s) and
// its processor fails. A goka member is exposed to it after every
// rebalance: goka waits 5 s after a session ends before it joins again, so
// its JoinGroup arrives about 5 s after its last heartbeat, and with a 6 s
// session timeout any hold of more than about a second (a dead member that
// has not expired yet, a slow member) removes it
// (TestSweeperKeepsHeldJoins). So, while a group prepares a rebalance, the
// sweeper heartbeats every sweepInterval for each member whose last request
// was a JoinGroup with its member id, with the group's generation; kfake
// answers REBALANCE_IN_PROGRESS and restarts the member's session timer. A
// member that died with its JoinGroup held is kept until the rebalance
// completes, as Kafka keeps it, and the rule above applies to it after.
//
// How: control functions observe every JoinGroup, SyncGroup, Heartbeat,
// OffsetCommit and LeaveGroup (they never handle a request, so kfake
// processes each as usual), and remember per member when it was last heard
// from and its session timeout. Every sweepInterval, and at once after a
// JoinGroup, the sweeper reads each group it knows of
// (kfake.Cluster.GroupInfo). Only a Stable group is swept of dead members: while a group rebalances, kfake's own rebalance and pending-sync
// timers bound its members, and a live member's JoinGroup may be held
// longer than its session timeout. A member of a Stable group that has not
// been heard from for longer than its session timeout, counted from the
// later of its last request and the moment the sweeper first saw the
// group Stable in that generation (a live follower syncs and heartbeats
// soon after), is dead: Kafka would have expired it. All such members of
// one group leave in one LeaveGroup request (v3+ takes a list), which
// kfake handles as if they had left themselves: it removes them and
// rebalances.
//
// Ownership: the sweeper's goroutine (run) owns the client it sends
// LeaveGroups and heartbeats with, created when first needed; stop ends the
// goroutine, closes the client and waits. The control functions run on kfake's
// goroutines and only touch mu's maps. Lock order: nothing is called with
// mu held except map operations, so kfake's run loop (which waits for the
// control functions) never waits for the sweeper, and the sweeper calls
// GroupInfo and sends requests without mu.
//
// Bounds: one entry per group that sent a JoinGroup (forgotten once it is
// empty and idle) and per member the group lists or that was heard from in
// the last forgetAfter; per interval, one GroupInfo per group, one
// LeaveGroup per group with dead members, and one heartbeat per member
// awaiting its join while its group prepares a rebalance (which lasts at
// most the rebalance timeout).
type groupSweeper struct {
	fake      *kfake.Cluster
	newClient func() (*kgo.Client, error)
	logf      func(format string, args ...any)
	interval  time.Duration

	evicted  atomic.Int64 // members removed by the sweeper
	heldBeat atomic.Int64 // heartbeats sent for members awaiting their join

	// wake nudges run when a member joins, so that its first heartbeat on
	// its behalf does not wait for the next tick. Capacity 1.
	wake chan struct{}

	mu struct {
		sync.Mutex
		groups map[string]*sweptGroup
	}

	// ctx is cancelled by stop; it ends run and any LeaveGroup in flight.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run returned
}

// sweptGroup is what the sweeper knows of one classic group.
type sweptGroup struct {
	members map[string]*sweptMember
	// stableGen is the generation in which the sweeper saw the group
	// Stable since stableSince; stableSince is zero while the group is
	// not Stable.
	stableGen   int32
	stableSince time.Time
}

// sweptMember is what the sweeper knows of one member.
type sweptMember struct {
	lastSeen time.Time
	session  time.Duration // from its last JoinGroup; 0 if none was seen
	// joining: its last request was a JoinGroup with its member id.
	joining bool
	// proxied counts the sweeper's heartbeats for it not yet observed:
	// observe must not take them for the member's own.
	proxied int
}

// sweepInterval is how often the sweeper looks at the groups. A dead member
// is removed within its session timeout plus about one interval of when
// Kafka would have removed it.
const sweepInterval = 500 * time.Millisecond

// forgetAfter is how long the sweeper remembers a member that its group no
// longer lists.
const forgetAfter = time.Minute

// startGroupSweeper registers the sweeper's control functions with fake and
// starts its goroutine. newClient builds the client of its LeaveGroups.
func startGroupSweeper(fake *kfake.Cluster, newClient func() (*kgo.Client, error), logf func(string, ...any)) *groupSweeper {
	s := &groupSweeper{
		fake:      fake,
		newClient: newClient,
		logf:      logf,
		interval:  sweepInterval,
		done:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.groups = make(map[string]*sweptGroup)
	for _, key := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit, kmsg.LeaveGroup} {
		fake.ControlKey(int16(key), s.observe)
	}
	go s.run()
	return s
}

// observe is the control function: it records the request and lets kfake
// handle it (handled = false keeps the function registered).
func (s *groupSweeper) observe(req kmsg.Request) (kmsg.Response, error, bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		g := s.groupLocked(r.Group)
		if r.MemberID == "" {
			// A pending member: kfake times it out itself, and it is
			// not in the group until it joins again with its id.
			return nil, nil, false
		}
		m := g.memberLocked(r.MemberID, now)
		m.lastSeen = now
		m.session = time.Duration(r.SessionTimeoutMillis) * time.Millisecond
		m.joining = true
		select {
		case s.wake <- struct{}{}:
		default: // a wake is pending
		}
	case *kmsg.SyncGroupRequest:
		s.seenLocked(r.Group, r.MemberID, now)
	case *kmsg.HeartbeatRequest:
		if r.Version == proxyHeartbeatVersion {
			if m := s.memberLocked(r.Group, r.MemberID); m != nil && m.proxied > 0 {
				m.proxied-- // the sweeper's own
				break
			}
		}
		s.seenLocked(r.Group, r.MemberID, now)
	case *kmsg.OffsetCommitRequest:
		s.seenLocked(r.Group, r.MemberID, now)
	case *kmsg.LeaveGroupRequest:
		g := s.mu.groups[r.Group]
		if g == nil {
			break
		}
		delete(g.members, r.MemberID) // before v3
		for _, m := range r.Members {
			delete(g.members, m.MemberID)
		}
	}
	return nil, nil, false
}

func (s *groupSweeper) groupLocked(name string) *sweptGroup {
	g := s.mu.groups[name]
	if g == nil {
		g = &sweptGroup{members: make(map[string]*sweptMember)}
		s.mu.groups[name] = g
	}
	return g
}

// memberLocked returns the member, known from now on if it was not.
func (g *sweptGroup) memberLocked(id string, now time.Time) *sweptMember {
	m := g.members[id]
	if m == nil {
		m = &sweptMember{lastSeen: now}
		g.members[id] = m
	}
	return m
}

// seenLocked records a request of a member of a group the sweeper knows.
func (s *groupSweeper) seenLocked(group, member string, now time.Time) {
	if g := s.mu.groups[group]; g != nil && member != "" {
		m := g.memberLocked(member, now)
		m.lastSeen = now
		m.joining = false
	}
}

// memberLocked returns a known member, or nil.
func (s *groupSweeper) memberLocked(group, member string) *sweptMember {
	if g := s.mu.groups[group]; g != nil {
		return g.members[member]
	}
	return nil
}

func (s *groupSweeper) run() {
	defer close(s.done)
	var client *kgo.Client
	defer func() {
		if client != nil {
			client.Close()
		}
	}()
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		case <-s.wake:
		}
		for _, a := range s.sweep(time.Now()) {
			if client == nil {
				c, err := s.newClient()
				if err != nil {
					s.logf("broker: group %s: cannot act for members (dead %v, joining %v): %v", a.group, a.dead, a.joining, err)
					continue
				}
				client = c
			}
			s.heartbeat(s.ctx, client, a)
			s.leave(s.ctx, client, a.group, a.dead)
		}
	}
}

// action is what the sweeper does for one group: remove its dead members,
// heartbeat for its members awaiting their join.
type action struct {
	group      string
	generation int32
	dead       []string
	joining    []string
}

// sweep reads every known group and returns what to do for the members
// that are dead, or awaiting their join, by the rules of the type comment.
func (s *groupSweeper) sweep(now time.Time) []action {
	s.mu.Lock()
	names := make([]string, 0, len(s.mu.groups))
	for name := range s.mu.groups {
		names = append(names, name)
	}
	s.mu.Unlock()

	var actions []action
	for _, name := range names {
		info := s.fake.GroupInfo(name) // on kfake's run loop; without mu
		s.mu.Lock()
		g := s.mu.groups[name]
		switch {
		case g == nil:
		case info == nil || (info.State == "Empty" && len(info.Members) == 0 && g.idleLocked(now)):
			delete(s.mu.groups, name)
		default:
			a := action{group: name, generation: info.Epoch, dead: g.deadLocked(info, now)}
			if info.State == "PreparingRebalance" {
				for _, im := range info.Members {
					if m := g.members[im.MemberID]; m != nil && m.joining {
						m.proxied++
						a.joining = append(a.joining, im.MemberID)
					}
				}
			}
			if len(a.dead) > 0 || len(a.joining) > 0 {
				actions = append(actions, a)
			}
		}
		s.mu.Unlock()
	}
	return actions
}

// idleLocked reports whether none of g's members was heard from lately:
// an empty group that a member is joining right now must not be forgotten.
func (g *sweptGroup) idleLocked(now time.Time) bool {
	for _, m := range g.members {
		if now.Sub(m.lastSeen) <= forgetAfter {
			return false
		}
	}
	return true
}

// deadLocked updates g from info and returns the dead members.
func (g *sweptGroup) deadLocked(info *kfake.GroupInfo, now time.Time) []string {
	listed := make(map[string]bool, len(info.Members))
	for _, m := range info.Members {
		listed[m.MemberID] = true
	}
	for id, m := range g.members {
		// Removed by kfake, or it left. Not at once: a JoinGroup is
		// observed before kfake adds its member, and GroupInfo may run
		// in between.
		if !listed[id] && now.Sub(m.lastSeen) > forgetAfter {
			delete(g.members, id)
		}
	}
	if info.State != "Stable" {
		g.stableSince = time.Time{}
		return nil
	}
	if g.stableSince.IsZero() || g.stableGen != info.Epoch {
		g.stableGen, g.stableSince = info.Epoch, now
	}
	var dead []string
	for _, im := range info.Members {
		m := g.memberLocked(im.MemberID, now)
		if m.session <= 0 {
			continue // no JoinGroup seen: kfake restored it, with a timer
		}
		since := m.lastSeen
		if g.stableSince.After(since) {
			since = g.stableSince
		}
		if now.Sub(since) > m.session {
			dead = append(dead, im.MemberID)
		}
	}
	return dead
}

// proxyHeartbeatVersion is the version of the sweeper's heartbeats, by
// which observe tells them from the members' own (sarama sends v1 and up,
// franz-go v4): its client is pinned to it.
const proxyHeartbeatVersion = 0

// heartbeat sends a heartbeat for each member of a.joining, so that kfake
// does not expire it while it holds its JoinGroup. REBALANCE_IN_PROGRESS is
// the expected answer; any other error (the member is gone, the generation
// moved on) means there is nothing to keep.
func (s *groupSweeper) heartbeat(ctx context.Context, client *kgo.Client, a action) {
	for _, id := range a.joining {
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group = a.group
		req.Generation = a.generation
		req.MemberID = id
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := req.RequestWith(rctx, client)
		cancel()
		if err != nil {
			// Not sent, or no answer: observe may never see it.
			s.mu.Lock()
			if m := s.memberLocked(a.group, id); m != nil && m.proxied > 0 {
				m.proxied--
			}
			s.mu.Unlock()
			if ctx.Err() == nil {
				s.logf("broker: group %s: heartbeat for member %s awaiting its join: %v", a.group, id, err)
			}
			continue
		}
		s.heldBeat.Add(1)
	}
}

// leave sends one LeaveGroup for the dead members of group and logs the
// outcome per member.
func (s *groupSweeper) leave(ctx context.Context, client *kgo.Client, group string, dead []string) {
	if len(dead) == 0 {
		return
	}
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 3 // the first version with a list of members
	req.Group = group
	for _, id := range dead {
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = id
		req.Members = append(req.Members, m)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(rctx, client)
	if err != nil {
		if ctx.Err() == nil {
			s.logf("broker: group %s: removing dead members %v: %v", group, dead, err)
		}
		return
	}
	for _, m := range resp.Members {
		if m.ErrorCode != 0 {
			// UNKNOWN_MEMBER_ID: kfake removed it meanwhile.
			continue
		}
		s.evicted.Add(1)
		s.logf("broker: group %s: removed member %s: no heartbeat for longer than its session timeout, and the embedded cluster did not expire it", group, m.MemberID)
	}
}

// stop ends the goroutine and waits for it. The control functions stay
// registered with kfake (it has no way to remove them from outside a
// control function) and keep recording into the maps, which nothing reads
// any more; the cluster is closed right after.
func (s *groupSweeper) stop() {
	s.cancel()
	<-s.done
}

// sweeperClient builds the client of the sweeper's LeaveGroups. It connects
// as the cluster's Settings do, TLS and SASL included.
func (c *Cluster) sweeperClient() (*kgo.Client, error) {
	s := c.Settings()
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(int16(kmsg.Heartbeat), proxyHeartbeatVersion)
	// KgoOptions carries the settings' TLS and SASL.
	return kgo.NewClient(append(s.KgoOptions(), kgo.ClientID("riffle-broker-sweeper"), kgo.MaxVersions(versions))...)
}
