package applier

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// proof is what the journal proves beyond a checkpoint: the bytes
// [from, end) are in the segment files as the master sent them.
type proof struct {
	base, from, end int64 // base: the applier's first offset afterwards
	entries         int
	stop            string // why the replay stopped
}

func (p proof) bytes() int64 { return p.end - p.from }

// verifyBuf bounds the memory a replay reads segment bytes with.
const verifyBuf = 1 << 20

// replayJournal accepts, from the journal's first record on, the records of
// st's generation that continue the proven end (from st.End; any first
// offset when st records nothing), stay in one segment and whose bytes in
// the segment files still have the recorded CRC-32C. It stops at the first
// record that fails; nothing it reads is trusted beyond that.
func (a *Applier) replayJournal(st state) proof {
	p := proof{base: st.Base, from: st.End, end: st.End}
	b, err := a.jnl.read()
	if err != nil {
		p.stop = err.Error()
		return p
	}
	v := segVerifier{a: a, buf: make([]byte, verifyBuf)}
	defer v.close()
	for i := 0; ; i++ {
		if (i+1)*recordSize > len(b) {
			p.stop = fmt.Sprintf("end of journal after %d entries", i)
			return p
		}
		r, err := decodeRecord(b[i*recordSize:])
		if err == nil {
			err = a.placeRecord(r, st, p)
		}
		if err == nil {
			err = v.verify(r)
		}
		if err != nil {
			p.stop = fmt.Sprintf("entry %d: %v", i, err)
			return p
		}
		if p.entries == 0 && st.End == 0 {
			p.base, p.from = r.Off, r.Off
		}
		p.end = r.end()
		p.entries++
	}
}

// placeRecord checks that r belongs to st's generation, continues the
// proven end and stays within one segment.
func (a *Applier) placeRecord(r record, st state, p proof) error {
	if r.Gen != st.Seq {
		return fmt.Errorf("generation %d, the checkpoint's is %d: %w", r.Gen, st.Seq, errBadRecord)
	}
	if (p.entries > 0 || st.End > 0) && r.Off != p.end {
		return fmt.Errorf("offset %d, proven end %d: %w", r.Off, p.end, errBadRecord)
	}
	if start := plugins.SegmentStart(a.info, r.Off); r.end() > start+a.info.SegmentSize {
		return fmt.Errorf("%d bytes at offset %d cross the segment ending at %d: %w",
			r.Len, r.Off, start+a.info.SegmentSize, errBadRecord)
	}
	return nil
}

// read returns the journal's records, at most max of them: a journal made
// longer from outside costs no more memory than a full one.
func (j *journal) read() ([]byte, error) {
	fi, err := j.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	n := min(fi.Size(), int64(j.max)*recordSize)
	b := make([]byte, n)
	if _, err := j.f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	return b, nil
}

// segVerifier reads records' bytes back from the segment files, keeping
// the last segment open: consecutive records mostly share one.
type segVerifier struct {
	a     *Applier
	start int64
	f     fsio.File
	buf   []byte
}

// verify checks that the segment file holds r's bytes with r's CRC-32C.
func (v *segVerifier) verify(r record) error {
	start := plugins.SegmentStart(v.a.info, r.Off)
	if v.f == nil || v.start != start {
		v.close()
		f, err := v.a.fs.OpenFile(v.a.segPath(start), os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("segment of offset %d: %w", r.Off, err)
		}
		v.f, v.start = f, start
	}
	var sum uint32
	for pos, end := r.Off-start, r.end()-start; pos < end; {
		n := int(min(int64(len(v.buf)), end-pos))
		if _, err := v.f.ReadAt(v.buf[:n], pos); err != nil {
			return fmt.Errorf("read %s at %d: %w", v.f.Name(), pos, err)
		}
		sum = crc32.Update(sum, castagnoli, v.buf[:n])
		pos += int64(n)
	}
	if sum != r.Sum {
		return fmt.Errorf("bytes [%d, %d) in %s differ from the entry's crc: %w", r.Off, r.end(), v.f.Name(), errBadRecord)
	}
	return nil
}

func (v *segVerifier) close() {
	if v.f != nil {
		_ = v.f.Close()
		v.f = nil
	}
}
