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
