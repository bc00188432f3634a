package broker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Producer state after a crash.
//
// An idempotent producer numbers the batches it sends to a partition, and
// the broker keeps, per producer and partition, the sequence number it
// expects next and the last five batches it wrote. With them it refuses a
// batch that skips ahead (OUT_OF_ORDER_SEQUENCE_NUMBER, which the producer
// answers by sending again from its first unacknowledged batch) and
// recognizes a batch that was written already (a retry). A broker that has
// no state for a producer accepts its first batch with any sequence number
// (KIP-360).
//
// kfake writes that state (seq_windows.json) only when it is closed, and
// does not rebuild it from its log at start as Kafka does: after a kill -9
// it knows the producer ids but no sequence, so every producer's first
// batch per partition is accepted whatever its sequence number. A producer
// that had two produce requests in flight when it learnt that the broker
// had gone (franz-go keeps up to five, and one that was idle keeps its
// permission to) can then have the later batch written while the earlier
// one is retried; the earlier one is refused as out of order, the producer
// starts its sequence again, and writes the earlier batch and the later one
// once more: the partition holds the later records, then the earlier, then
// the later again. The reliability suite saw this as outputs of a key out of
// order after a kill -9 of "riffle broker" (docs/reliability.md, scenario
// 7). Retries of batches written just before the kill were also written
// twice.
//
// rebuildProducerState closes the gap from outside: before kfake starts on
// a data directory, it reads every partition's segments, replays the
// batches of idempotent and transactional producers as kfake's sequence
// check would have accepted them, and writes the resulting state into
// seq_windows.json, where kfake loads it. For a (producer, partition) whose
// batches the log holds, the log wins: it is what the broker wrote, whether
// the last run ended with Close or kill -9. State of other pairs in the
// file (a producer whose batches were all deleted) is kept.
//
// It depends on kfake's on-disk format (version 1): topics.json,
// partitions/<topic>-<partition>/<base offset>.dat holding record batches
// in wire format, and seq_windows.json. TestRestartKeepsProducerSequences
// checks the result through the protocol, so a change of the format fails
// that test rather than passing silently.
func rebuildProducerState(dir string) error {
	var topics struct {
		Topics []struct {
			Name       string `json:"name"`
			Partitions int    `json:"partitions"`
		} `json:"topics"`
	}
	if found, err := readJSON(filepath.Join(dir, "topics.json"), &topics); err != nil || !found {
		return err
	}
	var state seqWindowsFile
	if _, err := readJSON(filepath.Join(dir, seqWindowsName), &state); err != nil {
		return err
	}
	rebuilt := map[producerPartition]*seqWindow{}
	for _, t := range topics.Topics {
		for p := range t.Partitions {
			pdir := filepath.Join(dir, "partitions", fmt.Sprintf("%s-%d", url.PathEscape(t.Name), p))
			if err := replayPartition(pdir, t.Name, int32(p), rebuilt); err != nil {
				return err
			}
		}
	}
	if len(rebuilt) == 0 {
		return nil
	}
	// Windows the log does not cover are kept as kfake wrote them.
	windows := make([]json.RawMessage, 0, len(state.Windows)+len(rebuilt))
	for _, raw := range state.Windows {
		var w seqWindow
		if err := json.Unmarshal(raw, &w); err != nil {
			return fmt.Errorf("broker: producer state: %s: %w", seqWindowsName, err)
		}
		if rebuilt[w.key()] == nil {
			windows = append(windows, raw)
		}
	}
	for _, w := range rebuilt {
		raw, err := json.Marshal(w)
		if err != nil {
			return fmt.Errorf("broker: producer state: %w", err)
		}
		windows = append(windows, raw)
	}
	return writeJSON(filepath.Join(dir, seqWindowsName), seqWindowsFile{Version: kfakePersistVersion, Windows: windows})
}

// seqWindowsName is kfake's file of producer state, and kfakePersistVersion
// the format version of the kfake in go.mod.
const (
	seqWindowsName      = "seq_windows.json"
	kfakePersistVersion = 1
)

// seqWindowsFile mirrors kfake's persistSeqWindows (persist.go).
type seqWindowsFile struct {
	Version int               `json:"version"`
	Windows []json.RawMessage `json:"windows"`
}

// seqWindow mirrors kfake's persistSeqWindowEntry: the state of one
// producer on one partition. Entries is a ring of the last five batches
// (At is the next slot to write, Count how many are valid); NextSeq is the
// first sequence number the next batch must have; Epoch is the producer
// epoch of the last batch.
type seqWindow struct {
	PID     int64       `json:"pid"`
	Topic   string      `json:"topic"`
	Part    int32       `json:"partition"`
	Entries [5]seqEntry `json:"entries,omitempty"`
	Count   uint8       `json:"count,omitempty"`
	At      uint8       `json:"at"`
	Epoch   int16       `json:"epoch"`
	Seen    bool        `json:"seen,omitempty"`
	NextSeq int32       `json:"next_seq,omitempty"`
}

type seqEntry struct {
	FirstSeq int32 `json:"first_seq"`
	NextSeq  int32 `json:"next_seq"`
	Offset   int64 `json:"offset"`
}

type producerPartition struct {
	pid   int64
	topic string
	part  int32
}

func (w seqWindow) key() producerPartition { return producerPartition{w.PID, w.Topic, w.Part} }

// push records a batch the broker accepted, as kfake's
// pidwindow.pushAndValidate does: a new epoch starts the window again.
func (w *seqWindow) push(epoch int16, firstSeq, numRecords int32, offset int64) {
	next := int32((int64(firstSeq) + int64(numRecords)) % math.MaxInt32)
	if !w.Seen || epoch != w.Epoch {
		*w = seqWindow{PID: w.PID, Topic: w.Topic, Part: w.Part, Seen: true, Epoch: epoch, NextSeq: next, At: 1, Count: 1}
		w.Entries[0] = seqEntry{firstSeq, next, offset}
		return
	}
	w.NextSeq = next
	w.Entries[w.At] = seqEntry{firstSeq, next, offset}
	w.At = (w.At + 1) % uint8(len(w.Entries))
	w.Count = min(w.Count+1, uint8(len(w.Entries)))
}

// replayPartition pushes the producer batches of one partition's segments,
// in offset order, into windows. It stops a segment at the first batch
// that is cut short or fails its CRC, where kfake truncates it at load.
func replayPartition(pdir, topic string, part int32, windows map[producerPartition]*seqWindow) error {
	entries, err := os.ReadDir(pdir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("broker: producer state: %w", err)
	}
	var bases []int64
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".dat"); ok {
			if base, err := strconv.ParseInt(name, 10, 64); err == nil {
				bases = append(bases, base)
			}
		}
	}
	slices.Sort(bases)
	for _, base := range bases {
		raw, err := os.ReadFile(filepath.Join(pdir, strconv.FormatInt(base, 10)+".dat"))
		if err != nil {
			return fmt.Errorf("broker: producer state: %w", err)
		}
		for len(raw) >= 12 {
			n := int(binary.BigEndian.Uint32(raw[8:12]))
			if n < 0 || 12+n > len(raw) {
				break
			}
			b, ok := decodeBatch(raw[:12+n])
			if !ok {
				break
			}
			raw = raw[12+n:]
			const control = 0x20 // a transaction marker, not a producer's records
			if b.ProducerID < 0 || b.FirstSequence < 0 || b.Attributes&control != 0 {
				continue
			}
			k := producerPartition{b.ProducerID, topic, part}
			w := windows[k]
			if w == nil {
				w = &seqWindow{PID: k.pid, Topic: topic, Part: part}
				windows[k] = w
			}
			w.push(b.ProducerEpoch, b.FirstSequence, b.NumRecords, b.FirstOffset)
		}
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// decodeBatch parses one record batch and checks its CRC (which covers
// everything after the CRC field, at bytes 17 to 21).
func decodeBatch(raw []byte) (kmsg.RecordBatch, bool) {
	var b kmsg.RecordBatch
	if len(raw) < 21 || binary.BigEndian.Uint32(raw[17:21]) != crc32.Checksum(raw[21:], castagnoli) {
		return b, false
	}
	return b, b.ReadFrom(raw) == nil
}

// readJSON reads path into v; a missing file is not an error.
func readJSON(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("broker: producer state: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("broker: producer state: %s: %w", filepath.Base(path), err)
	}
	return true, nil
}

// writeJSON replaces path with v's JSON, through a synced temporary file
// and a rename, so that a crash leaves the old file or the new one.
func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("broker: producer state: %w", err)
	}
	tmp := path + ".tmp" // kfake removes a leftover one at start
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("broker: producer state: %w", err)
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("broker: producer state: %w", err)
	}
	return nil
}
