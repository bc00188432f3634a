package broker

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestSweeperExpiresMemberKilledInJoin reproduces, step by step, how the
// embedded cluster's group coordinator (kfake) kept a member killed during a
// rebalance in a Stable group forever (see groupSweeper), and checks that
// the cluster removes it after its session timeout.
//
// The live member is a sarama consumer group. The dying member joins as
// sarama does on the wire (a JoinGroup without a member id, then with the
// id kfake gives it), and its connection is cut right after its second
// JoinGroup, as kill -9 would. A control function holds the live member's
// rejoin until the dying member's connection is closed, so that the
// rebalance completes while it is dead. kfake then sends it a JoinGroup
// response on a dead connection, which arms its session timer or not, at
// random (Go's select between the connection's free response slot and its
// closed done channel; and always when kfake's reader has not closed done
// yet). The live leader syncs and the group is Stable with both. With a
// timer, kfake expires the dying member itself; the test then tries again
// with a new one, until the sweeper had to remove one (measured: 6 tries
// in 20 left the member without a timer, so 40 tries all miss the bug
// about once in a million runs). Without the sweeper, the group keeps that
// member, and its partitions, forever, and the test fails on the first
// try that reproduces it.
func TestSweeperExpiresMemberKilledInJoin(t *testing.T) {
	const (
		group     = "sweep"
		topic     = "sweep-in"
		session   = 2 * time.Second
		rebalance = 1500 * time.Millisecond
		tries     = 40
	)
	c := startCluster(t)
	s := c.Settings()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.EnsureTopics(ctx, topic); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}

	// The live member's session timeout is longer than any hold of its
	// JoinGroup here (the rebalance timeout), so that kfake never expires
	// it while it waits in a rebalance (see TestSweeperKeepsHeldJoins).
	live := startSaramaMember(t, s, group, topic, 3*time.Second, rebalance)
	if _, err := c.Kfake().WaitGroupStable(ctx, group, 1); err != nil {
		t.Fatalf("live member never alone and stable: %v", err)
	}
	liveID := live.memberID()

	// Hold the live member's rejoin while the dying member is alive.
	var mu sync.Mutex
	dead := make(chan struct{})
	c.Kfake().ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake().KeepControl()
		if req.(*kmsg.JoinGroupRequest).MemberID == liveID {
			mu.Lock()
			wait := dead
			mu.Unlock()
			c.Kfake().SleepControl(func() {
				select {
				case <-wait:
				case <-ctx.Done():
				}
			})
		}
		return nil, nil, false
	})

	// The sweeper heartbeats for members whose JoinGroup is held
	// (TestSweeperKeepsHeldJoins), and a heartbeat arms the member's
	// session timer: with it, kfake expires the dying member itself. In
	// the wild, the dying member escapes those heartbeats when the
	// rebalance completes within the few milliseconds before the first
	// one; here they are refused, as if the completion always won.
	c.Kfake().ControlKey(int16(kmsg.Heartbeat), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake().KeepControl()
		hb := req.(*kmsg.HeartbeatRequest)
		if !strings.HasPrefix(hb.MemberID, "dying-") {
			return nil, nil, false
		}
		resp := hb.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.IllegalGeneration.Code
		return resp, nil, true
	})

	strategy := balanceStrategy(s.SaramaConfig())
	for try := 1; ; try++ {
		mu.Lock()
		dead = make(chan struct{})
		wait := dead
		mu.Unlock()
		joinAndDie(t, c.Brokers()[0], fmt.Sprintf("dying-%d", try), group, topic, strategy, session, rebalance)
		close(wait)
		if _, err := c.Kfake().WaitGroupStable(ctx, group, 2); err != nil {
			t.Fatalf("try %d: group never stable with the live and the dying member: %v", try, err)
		}
		stable := time.Now()
		await.UntilNil(t, 30*time.Second, fmt.Sprintf("try %d: the dead member to be removed", try), func() error {
			info := c.Kfake().GroupInfo(group)
			if info != nil && info.State == "Stable" && len(info.Members) == 1 &&
				info.Members[0].MemberID == liveID && live.claimed() == c.Partitions() {
				return nil
			}
			return fmt.Errorf("group %+v; the live member holds %d partitions", info, live.claimed())
		})
		if swept := sweptMembers(c); swept > 0 {
			t.Logf("try %d: the dead member was removed by the sweeper %v after the group became stable (session timeout %v)",
				try, time.Since(stable).Round(time.Millisecond), session)
			return
		}
		t.Logf("try %d: kfake expired the dead member itself (its JoinGroup response armed its timer); again", try)
		if try == tries {
			t.Fatalf("in %d tries, kfake always armed the dead member's timer: the race this test reproduces may be gone from kfake", tries)
		}
	}
}

// sweptMembers is the number of members the cluster's sweeper removed.
func sweptMembers(c *Cluster) int64 { return c.sweeper.evicted.Load() }

// TestSweeperKeepsLiveMembers checks that members that heartbeat are never
// removed, over several session timeouts, with rebalances.
func TestSweeperKeepsLiveMembers(t *testing.T) {
	const (
		group   = "sweep-live"
		topic   = "sweep-live-in"
		session = time.Second
	)
	c := startCluster(t)
	s := c.Settings()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.EnsureTopics(ctx, topic); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}
	a := startSaramaMember(t, s, group, topic, session, session)
	b := startSaramaMember(t, s, group, topic, session, session)
	if _, err := c.Kfake().WaitGroupStable(ctx, group, 2); err != nil {
		t.Fatalf("group never stable with two members: %v", err)
	}
	ids := []string{a.memberID(), b.memberID()}
	// The property is that nothing happens: the test watches for five
	// session timeouts, at every tick, that the sweeper removed no one and
	// that every member the group holds is one of the two live ones (a
	// removed member would rejoin under a new id), rather than looking once
	// at the end.
	deadline := time.Now().Add(5 * session)
	await.Every(50*time.Millisecond).Until(t, 30*time.Second, "five session timeouts", func() bool {
		if n := sweptMembers(c); n != 0 {
			t.Fatalf("the sweeper removed %d live member(s) after %v", n, (5*session - time.Until(deadline)).Round(time.Millisecond))
		}
		if info := c.Kfake().GroupInfo(group); info != nil {
			for _, m := range info.Members {
				if m.MemberID != ids[0] && m.MemberID != ids[1] {
					t.Fatalf("member %s is not one of the live members %v: one was removed and rejoined", m.MemberID, ids)
				}
			}
		}
		return time.Now().After(deadline)
	})
	info := c.Kfake().GroupInfo(group)
	if info == nil || len(info.Members) != 2 || sweptMembers(c) != 0 {
		t.Fatalf("members %+v, swept %d; want the two live members %v and none swept", info, sweptMembers(c), ids)
	}
	for _, m := range info.Members {
		if m.MemberID != ids[0] && m.MemberID != ids[1] {
			t.Fatalf("member %s is not one of the live members %v: one was removed and rejoined", m.MemberID, ids)
		}
	}
}

// TestSweeperKeepsHeldJoins checks that a live member whose JoinGroup the
// cluster holds in a rebalance for longer than its session timeout keeps
// its membership and gets its answer. Without the sweeper's heartbeats,
// kfake expires it while it waits and never answers its JoinGroup: the
// member's request times out, and it joins again as a new member.
//
// Member a (sarama, session 2 s) is in a group with b, a member that hangs
// without leaving (session 5 s, stops heartbeating after its sync). A new
// member c joins, a's rejoin is held until b expires, about 5 s later.
func TestSweeperKeepsHeldJoins(t *testing.T) {
	const (
		group     = "sweep-held"
		topic     = "sweep-held-in"
		session   = 2 * time.Second
		hung      = 5 * time.Second
		rebalance = 8 * time.Second
	)
	c := startCluster(t)
	s := c.Settings()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.EnsureTopics(ctx, topic); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}
	a := startSaramaMember(t, s, group, topic, session, rebalance)
	if _, err := c.Kfake().WaitGroupStable(ctx, group, 1); err != nil {
		t.Fatalf("a never alone and stable: %v", err)
	}
	aID := a.memberID()
	strategy := balanceStrategy(s.SaramaConfig())

	b := dialMember(t, c.Brokers()[0], "hung")
	bID, gen := b.join(t, group, topic, strategy, hung, rebalance)
	b.sync(t, group, bID, gen)
	if _, err := c.Kfake().WaitGroupStable(ctx, group, 2); err != nil {
		t.Fatalf("a and b never stable: %v", err)
	}

	// c's JoinGroup is held with a's until b expires.
	cm := dialMember(t, c.Brokers()[0], "new")
	cID, gen := cm.join(t, group, topic, strategy, session, rebalance)
	cm.sync(t, group, cID, gen)
	info, err := c.Kfake().WaitGroupStable(ctx, group, 2)
	if err != nil {
		t.Fatalf("a and c never stable: %v", err)
	}
	ids := map[string]bool{}
	for _, m := range info.Members {
		ids[m.MemberID] = true
	}
	if !ids[aID] || !ids[cID] {
		t.Fatalf("members %v, want a (%s) and c (%s): a was expired while its JoinGroup was held", ids, aID, cID)
	}
	if errs := a.errors(); len(errs) > 0 {
		t.Fatalf("a's Consume failed: %v", errs)
	}
	t.Logf("a kept its membership; the sweeper heartbeat %d times for members awaiting their join", c.sweeper.heldBeat.Load())
}

// saramaMember is a sarama consumer group member that consumes until the
// test ends.
type saramaMember struct {
	mu     sync.Mutex
	id     string
	claims int
	errs   []error // what Consume returned, other than nil
}

func (m *saramaMember) errors() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]error(nil), m.errs...)
}

func (m *saramaMember) memberID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id
}

// claimed is the number of partitions of the member's current session.
func (m *saramaMember) claimed() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.claims
}

func (m *saramaMember) Setup(s sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.id = s.MemberID()
	m.claims = 0
	for _, ps := range s.Claims() {
		m.claims += len(ps)
	}
	return nil
}

func (m *saramaMember) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (m *saramaMember) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for range c.Messages() {
	}
	return nil
}

// startSaramaMember starts a member of group with a heartbeat of a tenth of
// session, and waits until it has joined once.
func startSaramaMember(t *testing.T, s kafka.Settings, group, topic string, session, rebalance time.Duration) *saramaMember {
	t.Helper()
	cfg := s.SaramaConfig()
	cfg.ClientID = "live"
	cfg.Consumer.Group.Session.Timeout = session
	cfg.Consumer.Group.Heartbeat.Interval = session / 10
	cfg.Consumer.Group.Rebalance.Timeout = rebalance
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 50 * time.Millisecond
	cfg.Net.ReadTimeout = rebalance + 5*time.Second
	cg, err := sarama.NewConsumerGroup(s.Brokers, group, cfg)
	if err != nil {
		t.Fatalf("NewConsumerGroup: %v", err)
	}
	m := &saramaMember{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, m); err != nil && ctx.Err() == nil {
				m.mu.Lock()
				m.errs = append(m.errs, err)
				m.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := cg.Close(); err != nil {
			t.Errorf("closing the consumer group: %v", err)
		}
	})
	await.Until(t, 30*time.Second, "the member to join", func() bool { return m.memberID() != "" })
	return m
}

// joinAndDie joins group as a new member the way sarama does on the wire
// (JoinGroup v5 without a member id, then again with the id the broker
// gives) and cuts the connection right after the second JoinGroup, before
// any reply: a member killed while its join is held in a rebalance. It
// returns once the broker has closed its side, that is, once the broker
// has seen the connection die.
func joinAndDie(t *testing.T, addr, clientID, group, topic, strategy string, session, rebalance time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc := &rawConn{conn: conn, f: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))}

	join := joinRequest(group, topic, strategy, session, rebalance)
	rc.send(t, join)
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = join.Version
	rc.recv(t, resp)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != kerr.MemberIDRequired {
		t.Fatalf("first JoinGroup of %s: %v, want MEMBER_ID_REQUIRED", clientID, err)
	}
	join.MemberID = resp.MemberID
	rc.send(t, join)
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// The broker's reader sees EOF and closes the connection; until then
	// our read blocks. Its JoinGroup stays held in the group.
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, conn); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("waiting for the broker to close %s's connection: %v", clientID, err)
	}
}

// joinRequest is a consumer's JoinGroup (v5, as sarama sends it) of group,
// without a member id, subscribing to topic.
func joinRequest(group, topic, strategy string, session, rebalance time.Duration) *kmsg.JoinGroupRequest {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 5
	req.Group = group
	req.SessionTimeoutMillis = int32(session / time.Millisecond)
	req.RebalanceTimeoutMillis = int32(rebalance / time.Millisecond)
	req.ProtocolType = "consumer"
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name = strategy
	proto.Metadata = meta.AppendTo(nil)
	req.Protocols = []kmsg.JoinGroupRequestProtocol{proto}
	return req
}

// balanceStrategy is the name of the balance strategy a member with cfg
// joins with (goka's copartitioning strategy with kafka.DefaultSaramaConfig).
func balanceStrategy(cfg *sarama.Config) string {
	if st := cfg.Consumer.Group.Rebalance.Strategy; st != nil { //nolint:staticcheck // goka sets the deprecated field
		return st.Name()
	}
	return cfg.Consumer.Group.Rebalance.GroupStrategies[0].Name()
}

// dialMember connects a member that speaks the group protocol itself.
func dialMember(t *testing.T, addr, clientID string) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{conn: conn, f: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))}
}

// join joins group as sarama does (JoinGroup v5, twice) and returns the
// member id and generation once the rebalance completed.
func (r *rawConn) join(t *testing.T, group, topic, strategy string, session, rebalance time.Duration) (string, int32) {
	t.Helper()
	req := joinRequest(group, topic, strategy, session, rebalance)
	for {
		r.send(t, req)
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Version = req.Version
		r.recv(t, resp)
		switch err := kerr.ErrorForCode(resp.ErrorCode); err {
		case nil:
			return resp.MemberID, resp.Generation
		case kerr.MemberIDRequired:
			req.MemberID = resp.MemberID
		default:
			t.Fatalf("JoinGroup: %v", err)
		}
	}
}

// sync sends the SyncGroup of a follower and waits for its answer.
func (r *rawConn) sync(t *testing.T, group, member string, generation int32) {
	t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 3
	req.Group = group
	req.MemberID = member
	req.Generation = generation
	r.send(t, req)
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = req.Version
	r.recv(t, resp)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("SyncGroup: %v", err)
	}
}

// rawConn speaks the Kafka protocol over one connection, one request at a
// time, for requests and responses without flexible headers.
type rawConn struct {
	conn net.Conn
	f    *kmsg.RequestFormatter
	corr int32
}

func (r *rawConn) send(t *testing.T, req kmsg.Request) {
	t.Helper()
	r.corr++
	if _, err := r.conn.Write(r.f.AppendRequest(nil, req, r.corr)); err != nil {
		t.Fatalf("send %T: %v", req, err)
	}
}

func (r *rawConn) recv(t *testing.T, resp kmsg.Response) {
	t.Helper()
	if err := r.conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(r.conn, size[:]); err != nil {
		t.Fatalf("receive %T: %v", resp, err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(r.conn, body); err != nil {
		t.Fatalf("receive %T: %v", resp, err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != r.corr {
		t.Fatalf("response to request %d, want %d", corr, r.corr)
	}
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatalf("decode %T: %v", resp, err)
	}
}
