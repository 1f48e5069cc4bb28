package applier

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// journalChunk is the chunk size the journal tests apply: every record
// covers exactly one, so record k starts at base+k*journalChunk (within a
// segment; segments are multiples of it).
const journalChunk = 1024

// crashedReplica applies [0, synced) and syncs, applies [synced, applied)
// in journalChunk chunks, and abandons the applier as a crash would.
func crashedReplica(t *testing.T, l plugins.Layout, synced, applied int64) (dst, state string) {
	t.Helper()
	_, dst, state = dirs(t)
	a := openT(t, dst, state, l, Options{Sync: SyncNone})
	stream(t, a, 0, synced, 4096)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	stream(t, a, synced, applied, journalChunk)
	a.crash()
	return dst, state
}

// readRecords decodes every record of state's journal.
func readRecords(t *testing.T, state string) []record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, JournalName))
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for i := 0; i+recordSize <= len(b); i += recordSize {
		r, err := decodeRecord(b[i:])
		if err != nil {
			t.Fatalf("record %d: %v", i/recordSize, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func writeRecords(t *testing.T, state string, recs []record) {
	t.Helper()
	b := make([]byte, len(recs)*recordSize)
	for i, r := range recs {
		encodeRecord(b[i*recordSize:], r)
	}
	if err := os.WriteFile(filepath.Join(state, JournalName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// reopenAt reopens a crashed replica, checks that it recovered exactly
// want (synced and checkpointed), that nothing follows it, and that it
// continues to an exact copy of the master.
func reopenAt(t *testing.T, l plugins.Layout, dst, state string, want int64) {
	t.Helper()
	b := openT(t, dst, state, l, Options{Sync: SyncNone})
	if b.End() != want || b.Synced() != want {
		b.crash()
		t.Fatalf("recovered end %d synced %d, want %d", b.End(), b.Synced(), want)
	}
	if st, _, err := readCheckpoint(fsio.OS(), state); err != nil || st.End != want {
		t.Fatalf("checkpoint after recovery: %+v %v, want end %d", st, err, want)
	}
	checkTail(t, l, dst, want)
	end := int64(4 * seg)
	stream(t, b, want, end, 4096)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(filepath.Dir(dst), "src")
	writeSource(t, l, src, 0, end)
	sameDir(t, src, dst)
}

func TestJournalProvesAppliedChunks(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			const synced, applied = seg / 2, 2*seg + 5*journalChunk + 77
			dst, state := crashedReplica(t, l, synced, applied)
			reopenAt(t, l, dst, state, applied)
		})
	}
}

// TestJournalEmptyCheckpoint: a replica that never synced starts where its
// first chunk did; the journal proves that start and what follows.
func TestJournalEmptyCheckpoint(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			_, dst, state := dirs(t)
			a := openT(t, dst, state, l, Options{Sync: SyncNone})
			from, applied := int64(seg+300), int64(3*seg+10)
			stream(t, a, from, applied, journalChunk)
			a.crash()
			b := openT(t, dst, state, l, Options{Sync: SyncNone})
			defer b.Close()
			if b.Base() != from || b.End() != applied || b.Synced() != applied {
				t.Fatalf("recovered base %d end %d synced %d, want %d %d", b.Base(), b.End(), b.Synced(), from, applied)
			}
			checkTail(t, l, dst, applied)
		})
	}
}

// TestJournalCorruptDataByte: a data byte that differs from what was
// applied (a page lost with its host) ends the proof at its chunk.
func TestJournalCorruptDataByte(t *testing.T) {
	for _, l := range layouts(seg) {
		t.Run(l.Info().Name, func(t *testing.T) {
			const synced, applied = seg / 2, seg + 10*journalChunk
			dst, state := crashedReplica(t, l, synced, applied)
			bad := int64(seg + 3*journalChunk + 500) // inside chunk 3 of segment 1
			p := filepath.Join(dst, l.SegmentName(seg))
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte{0}, bad-seg); err != nil {
				t.Fatal(err)
			}
			f.Close()
			reopenAt(t, l, dst, state, seg+3*journalChunk)
		})
	}
}

// TestJournalTornEntry: an entry cut short or damaged ends the proof
// before it, even when whole entries follow.
func TestJournalTornEntry(t *testing.T) {
	const synced, applied = seg / 2, seg/2 + 20*journalChunk
	l := newTestLayout(seg, true)
	t.Run("cut", func(t *testing.T) {
		dst, state := crashedReplica(t, l, synced, applied)
		if err := os.Truncate(filepath.Join(state, JournalName), 7*recordSize+recordSize/2); err != nil {
			t.Fatal(err)
		}
		reopenAt(t, l, dst, state, synced+7*journalChunk)
	})
	t.Run("damaged", func(t *testing.T) {
		dst, state := crashedReplica(t, l, synced, applied)
		p := filepath.Join(state, JournalName)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[5*recordSize+20] ^= 0x40
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		reopenAt(t, l, dst, state, synced+5*journalChunk)
	})
}

// TestJournalStaleGeneration: intact entries of an earlier generation,
// even ones that continue the checkpoint's end, prove nothing.
func TestJournalStaleGeneration(t *testing.T) {
	const synced, applied = seg / 2, seg/2 + 20*journalChunk
	l := newTestLayout(seg, false)
	dst, state := crashedReplica(t, l, synced, applied)
	recs := readRecords(t, state)
	if len(recs) != 20 {
		t.Fatalf("%d journal records, want 20", len(recs))
	}
	for i := range recs {
		recs[i].Gen--
	}
	writeRecords(t, state, recs)
	reopenAt(t, l, dst, state, synced)
}

// TestJournalEntryPastSegmentFiles: entries whose bytes the segment files
// do not hold (a file cut short or gone) or that cross a segment boundary
// are rejected, and the proof ends before them.
func TestJournalEntryPastSegmentFiles(t *testing.T) {
	const synced, applied = seg / 2, 2*seg + 4*journalChunk
	t.Run("short file", func(t *testing.T) {
		l := newTestLayout(seg, false)
		dst, state := crashedReplica(t, l, synced, applied)
		cut := int64(2*journalChunk + 10) // into chunk 2 of segment 2
		if err := os.Truncate(filepath.Join(dst, l.SegmentName(2*seg)), cut); err != nil {
			t.Fatal(err)
		}
		reopenAt(t, l, dst, state, 2*seg+2*journalChunk)
	})
	for _, l := range layouts(seg) {
		t.Run("missing file "+l.Info().Name, func(t *testing.T) {
			dst, state := crashedReplica(t, l, synced, applied)
			if err := os.Remove(filepath.Join(dst, l.SegmentName(2*seg))); err != nil {
				t.Fatal(err)
			}
			reopenAt(t, l, dst, state, 2*seg)
		})
	}
	t.Run("crossing", func(t *testing.T) {
		l := newTestLayout(seg, true)
		dst, state := crashedReplica(t, l, synced, applied)
		recs := readRecords(t, state)
		// Merge the last entry of segment 0 with the first of segment 1:
		// its bytes are all there with the right CRC, but no chunk spans
		// two segments.
		k := (seg - synced) / journalChunk
		first, second := recs[k-1], recs[k]
		merged := record{Gen: first.Gen, Off: first.Off, Len: first.Len + second.Len,
			Sum: crcPieces([][]byte{payload(first.Off, second.end())})}
		recs = append(append(recs[:k-1:k-1], merged), recs[k+1:]...)
		writeRecords(t, state, recs)
		reopenAt(t, l, dst, state, first.Off)
	})
}

// TestJournalBounded: under SyncNone a full journal forces a sync, which
// starts the next generation, so the file never holds more than its limit.
func TestJournalBounded(t *testing.T) {
	l := newTestLayout(seg, true)
	_, dst, state := dirs(t)
	a := openT(t, dst, state, l, Options{Sync: SyncNone})
	a.jnl.max = 10
	stream(t, a, 0, 9*journalChunk, journalChunk)
	if a.Synced() != 0 {
		t.Fatalf("synced %d before the journal filled", a.Synced())
	}
	stream(t, a, 9*journalChunk, 35*journalChunk, journalChunk)
	if a.Synced() != 30*journalChunk {
		t.Fatalf("synced %d after 35 chunks, want the 30 of three full journals", a.Synced())
	}
	fi, err := os.Stat(filepath.Join(state, JournalName))
	if err != nil || fi.Size() > 10*recordSize {
		t.Fatalf("journal %v, %v: want at most %d bytes", fi.Size(), err, 10*recordSize)
	}
	a.crash()
	b := openT(t, dst, state, l, Options{Sync: SyncNone})
	defer b.Close()
	if b.End() != 35*journalChunk {
		t.Fatalf("recovered end %d, want %d", b.End(), 35*journalChunk)
	}
}

// TestJournalSyncEveryUnused: under SyncEvery nothing is journaled (every
// chunk is synced before Apply returns).
func TestJournalSyncEveryUnused(t *testing.T) {
	l := newTestLayout(seg, false)
	_, dst, state := dirs(t)
	a := openT(t, dst, state, l, Options{Sync: SyncEvery})
	defer a.Close()
	stream(t, a, 0, 10*journalChunk, journalChunk)
	fi, err := os.Stat(filepath.Join(state, JournalName))
	if err != nil || fi.Size() != 0 || a.Synced() != a.End() {
		t.Fatalf("journal %v %v, synced %d end %d", fi.Size(), err, a.Synced(), a.End())
	}
}

func TestJournalRecordRoundTrip(t *testing.T) {
	r := record{Gen: 9, Off: 1<<40 + 3, Len: 1 << 20, Sum: 0xdeadbeef}
	var b [recordSize]byte
	encodeRecord(b[:], r)
	got, err := decodeRecord(b[:])
	if err != nil || got != r {
		t.Fatalf("decode: %+v, %v", got, err)
	}
	for i := range b {
		c := b
		c[i] ^= 0x04
		if _, err := decodeRecord(c[:]); !errors.Is(err, errBadRecord) {
			t.Fatalf("flipped byte %d accepted: %v", i, err)
		}
	}
	if _, err := decodeRecord(b[:recordSize-1]); !errors.Is(err, errBadRecord) {
		t.Fatalf("short record accepted: %v", err)
	}
}
