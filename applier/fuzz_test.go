package applier

import (
	"errors"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
)

// FuzzDecodeCheckpoint feeds arbitrary bytes, as a damaged disk could, to
// the checkpoint decoder: it must never panic, must reject with
// ErrCorruptCheckpoint, and what it accepts must re-encode to the same slot.
func FuzzDecodeCheckpoint(f *testing.F) {
	info := plugins.Info{Name: "rocketmq", SegmentSize: 1 << 30, Preallocated: true}
	file := make([]byte, checkpointSize)
	encodeSlot(file[slotStride:], state{Seq: 7, Base: 1 << 30, End: 3<<30 + 17, Info: info})
	f.Add(append([]byte(nil), file...))
	encodeSlot(file, state{Seq: 8, Base: 1 << 30, End: 3<<30 + 99, Info: info})
	f.Add(append([]byte(nil), file...))
	f.Add(file[:slotSize])
	f.Add(file[:slotSize-1])
	f.Add([]byte{})
	f.Add(make([]byte, checkpointSize))
	torn := append([]byte(nil), file...)
	torn[40] ^= 1
	f.Add(torn)
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeCheckpoint(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptCheckpoint) {
				t.Fatalf("error %v does not wrap ErrCorruptCheckpoint", err)
			}
			return
		}
		if st.Base < 0 || st.End < st.Base || st.Info.Check() != nil {
			t.Fatalf("accepted an inconsistent state %+v", st)
		}
		var again [slotSize]byte
		encodeSlot(again[:], st)
		back, err := decodeSlot(again[:])
		if err != nil || back != st {
			t.Fatalf("round trip: %+v -> %+v, %v", st, back, err)
		}
	})
}

func TestCheckpointSlotRoundTrip(t *testing.T) {
	st := state{Seq: 3, Base: 5, End: 1 << 40, Info: plugins.Info{Name: "raw", SegmentSize: 64 << 20}}
	var b [slotSize]byte
	encodeSlot(b[:], st)
	got, err := decodeSlot(b[:])
	if err != nil || got != st {
		t.Fatalf("decode: %+v, %v", got, err)
	}
	for i := range b {
		c := b
		c[i] ^= 0x10
		if _, err := decodeSlot(c[:]); !errors.Is(err, ErrCorruptCheckpoint) {
			t.Fatalf("flipped byte %d accepted: %v", i, err)
		}
	}
}

// FuzzDecodeJournal feeds arbitrary bytes, as a torn append or a host
// crash could leave them, to the journal record decoder, record after
// record as recovery reads them: it must never panic, must reject with
// errBadRecord, and what it accepts must re-encode to the same bytes and
// describe a chunk with a sane placement.
func FuzzDecodeJournal(f *testing.F) {
	var rec [2 * recordSize]byte
	encodeRecord(rec[:], record{Gen: 3, Off: 1 << 30, Len: 4096, Sum: 0x1234})
	encodeRecord(rec[recordSize:], record{Gen: 3, Off: 1<<30 + 4096, Len: 77, Sum: 0xfeed})
	f.Add(append([]byte(nil), rec[:]...))
	f.Add(rec[:recordSize+recordSize/2])
	f.Add(rec[:recordSize-1])
	f.Add([]byte{})
	f.Add(make([]byte, 4*recordSize))
	torn := append([]byte(nil), rec[:]...)
	torn[recordSize+9] ^= 1
	f.Add(torn)
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := 0; i < len(b); i += recordSize {
			r, err := decodeRecord(b[i:])
			if err != nil {
				if !errors.Is(err, errBadRecord) {
					t.Fatalf("error %v does not wrap errBadRecord", err)
				}
				return
			}
			if r.Len == 0 || r.Off < 0 || r.end() < r.Off {
				t.Fatalf("accepted an impossible chunk %+v", r)
			}
			var again [recordSize]byte
			encodeRecord(again[:], r)
			if string(again[:]) != string(b[i:i+recordSize]) {
				t.Fatalf("round trip of %+v changed the bytes", r)
			}
		}
	})
}
