package meta

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"testing"
)

func FuzzDecodeManifest(f *testing.F) {
	f.Add(EncodeManifest(nil))
	f.Add(EncodeManifest([]Entry{
		{Name: "a.json", Size: 3, MtimeNs: 1700000000000000000, Sum: sha256.Sum256([]byte("abc"))},
		{Name: "b.json", Status: StatusTooLarge, Size: 1 << 30, Reason: "too large"},
	}))
	f.Add([]byte{0, 0, 0, 1, 1, '.'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		entries, err := DecodeManifest(p)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes: no field is lost.
		if again := EncodeManifest(entries); !bytes.Equal(again, p) {
			t.Fatalf("re-encoded %x, decoded from %x", again, p)
		}
		for _, e := range entries {
			if ValidName(e.Name) != nil || !e.Status.valid() || e.Size < 0 {
				t.Fatalf("accepted entry %+v", e)
			}
		}
	})
}

func FuzzDecodeContent(f *testing.F) {
	f.Add(EncodeContent(Content{Name: "a.json", MtimeNs: 1, Sum: sha256.Sum256([]byte("{}")), Data: []byte("{}")}))
	f.Add(EncodeContent(Content{Name: "b.json", Status: StatusVanished, Reason: "gone"}))
	f.Add([]byte{1, '/', 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		c, err := DecodeContent(p)
		if err != nil {
			return
		}
		if again := EncodeContent(c); !bytes.Equal(again, p) {
			t.Fatalf("re-encoded %x, decoded from %x", again, p)
		}
		if ValidName(c.Name) != nil || (c.Status != StatusOK && len(c.Data) != 0) {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(typeList, []byte(nil))
	f.Add(typeGet, EncodeGet("topics.json", 1<<20))
	f.Add(typeGet, EncodeGet("../x", 1))
	f.Add(typeGet, EncodeGet("x", -1))
	f.Add(uint8(0x7f), []byte("x"))
	f.Fuzz(func(t *testing.T, typ uint8, p []byte) {
		r, err := DecodeRequest(typ, p)
		if err != nil {
			return
		}
		if r.Get && (ValidName(r.Name) != nil || r.Limit <= 0 || !bytes.Equal(EncodeGet(r.Name, r.Limit), p)) ||
			!r.Get && (typ != typeList || len(p) != 0) {
			t.Fatalf("accepted type %#x payload %q as %+v", typ, p, r)
		}
	})
}

// FuzzReadFrame feeds arbitrary bytes to the frame reader under a small
// bound: it never returns a payload over the bound.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{typeList, 0, 0, 0, 0})
	f.Add([]byte{typeGet, 0, 0, 0, 3, 'a', 'b', 'c'})
	f.Add([]byte{typeManifest, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReader(bytes.NewReader(b))
		for {
			_, p, err := readFrame(br, 64)
			if err != nil {
				return
			}
			if len(p) > 64 {
				t.Fatalf("payload of %d bytes over the bound", len(p))
			}
		}
	})
}
