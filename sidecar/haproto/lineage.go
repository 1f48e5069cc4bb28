package haproto

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// Lineage in the hello (see doc.go for the bytes): a slave that keeps
// segment lineage (package sidecar/lineage) offers it in its hello; a
// master that wants it answers with a non-final reply {"lineage":true};
// the slave then sends Hello.Lineage entries of SegLineageSize bytes,
// oldest segment first. A master that finds a segment whose rollup
// differs may ask for its block CRCs (HelloReply.LineageOf); the slave
// answers with WriteBlockCRCs. Then the master sends its final reply.
const (
	// MaxLineage bounds the entries of one hello: 64 Ki segments of
	// 1 GiB is 64 TiB, and the entries take 1 MiB.
	MaxLineage = 65536
	// SegLineageSize is the size of one entry.
	SegLineageSize = 16
	// LineageBlock is the lineage block size (sidecar/lineage.BlockSize):
	// a hello's lineage tail covers less than one block.
	LineageBlock = 1 << 20
	// readChunk bounds what one read allocates ahead of the bytes a peer
	// actually sent, so a hostile count costs at most this much.
	readChunk = 64 << 10
)

// SegLineage is one segment's lineage as the slave offers it.
type SegLineage struct {
	// Base is the segment's base offset (absolute offset of its first byte).
	Base int64
	// Blocks counts the complete lineage blocks below the slave's end,
	// from the segment's start.
	Blocks uint32
	// Rollup is the CRC-32C of those blocks' CRCs, big-endian.
	Rollup uint32
}

// checkHelloLineage validates the lineage fields of a decoded hello.
func checkHelloLineage(h Hello) error {
	if h.Lineage < 0 || h.Lineage > MaxLineage {
		return fmt.Errorf("hello offers %d lineage entries, at most %d: %w", h.Lineage, MaxLineage, ErrBadHello)
	}
	if h.LineageTailStart == 0 && h.LineageTailCRC == 0 {
		return nil
	}
	// The tail block holds End-1 and does not start at End: it starts
	// less than one block below End.
	if h.LineageTailStart < 0 || h.LineageTailStart >= h.End || h.End-h.LineageTailStart >= LineageBlock {
		return fmt.Errorf("hello lineage tail at %d for an end of %d: %w", h.LineageTailStart, h.End, ErrBadHello)
	}
	return nil
}

// WriteLineage sends the entries in one write.
func WriteLineage(w io.Writer, ls []SegLineage) error {
	if len(ls) > MaxLineage {
		return fmt.Errorf("write %d lineage entries, at most %d: %w", len(ls), MaxLineage, ErrBadHello)
	}
	buf := make([]byte, len(ls)*SegLineageSize)
	for i, l := range ls {
		b := buf[i*SegLineageSize:]
		binary.BigEndian.PutUint64(b[0:8], uint64(l.Base))
		binary.BigEndian.PutUint32(b[8:12], l.Blocks)
		binary.BigEndian.PutUint32(b[12:16], l.Rollup)
	}
	_, err := w.Write(buf)
	return err
}

// ReadLineage reads n entries (the hello's Lineage) and checks that the
// bases are >= 0 and strictly increasing.
func ReadLineage(r io.Reader, n int) ([]SegLineage, error) {
	if n < 0 || n > MaxLineage {
		return nil, fmt.Errorf("read %d lineage entries, at most %d: %w", n, MaxLineage, ErrBadHello)
	}
	raw, err := readBounded(r, n*SegLineageSize)
	if err != nil {
		return nil, fmt.Errorf("read %d lineage entries: %w", n, err)
	}
	ls := make([]SegLineage, n)
	for i := range ls {
		b := raw[i*SegLineageSize:]
		ls[i] = SegLineage{
			Base:   int64(binary.BigEndian.Uint64(b[0:8])),
			Blocks: binary.BigEndian.Uint32(b[8:12]),
			Rollup: binary.BigEndian.Uint32(b[12:16]),
		}
		if ls[i].Base < 0 || (i > 0 && ls[i].Base <= ls[i-1].Base) {
			return nil, fmt.Errorf("lineage entry %d at base %d: bases must be >= 0 and increase: %w", i, ls[i].Base, ErrBadHello)
		}
	}
	return ls, nil
}

// WriteBlockCRCs sends a slave's answer to LineageOf: a uint32 count and
// the CRCs, in one write.
func WriteBlockCRCs(w io.Writer, crcs []uint32) error {
	if uint64(len(crcs)) > 1<<32-1 {
		return fmt.Errorf("write %d block CRCs: %w", len(crcs), ErrBadHello)
	}
	buf := make([]byte, 4+4*len(crcs))
	binary.BigEndian.PutUint32(buf, uint32(len(crcs)))
	putCRCs(buf[4:], crcs)
	_, err := w.Write(buf)
	return err
}

// ReadBlockCRCs reads an answer to LineageOf of at most max CRCs.
func ReadBlockCRCs(r io.Reader, max int) ([]uint32, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("read block CRC count: %w", err)
	}
	count := binary.BigEndian.Uint32(n[:])
	if max < 0 || uint64(count) > uint64(max) {
		return nil, fmt.Errorf("%d block CRCs, at most %d: %w", count, max, ErrBadHello)
	}
	return readCRCs(r, int(count))
}

// readCRCs reads n big-endian uint32s.
func readCRCs(r io.Reader, n int) ([]uint32, error) {
	raw, err := readBounded(r, 4*n)
	if err != nil {
		return nil, fmt.Errorf("read %d block CRCs: %w", n, err)
	}
	crcs := make([]uint32, n)
	for i := range crcs {
		crcs[i] = binary.BigEndian.Uint32(raw[4*i:])
	}
	return crcs, nil
}

func putCRCs(b []byte, crcs []uint32) {
	for i, c := range crcs {
		binary.BigEndian.PutUint32(b[4*i:], c)
	}
}

// readBounded reads exactly n bytes, growing its buffer by at most
// readChunk ahead of what arrived: a peer announcing many bytes and
// sending few makes us allocate little.
func readBounded(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		step := min(n-len(buf), readChunk)
		if cap(buf)-len(buf) < step {
			grown := make([]byte, len(buf), min(n, max(2*cap(buf), len(buf)+step)))
			copy(grown, buf)
			buf = grown
		}
		got, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+got]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// FindLineage returns the entry for base among ls (sorted by base, as
// ReadLineage returns and WriteLineage sends them): a slave answers a
// LineageOf only for a segment it listed.
func FindLineage(ls []SegLineage, base int64) (SegLineage, bool) {
	i := sort.Search(len(ls), func(i int) bool { return ls[i].Base >= base })
	if i < len(ls) && ls[i].Base == base {
		return ls[i], true
	}
	return SegLineage{}, false
}

// CheckCommon validates a reply's Common against the slave's end before
// the slave acts on it (cuts its files back to it): 0 <= Common <= end,
// and only in a diverged refusal.
func CheckCommon(rep HelloReply, end int64) error {
	if rep.Common == nil {
		return nil
	}
	if rep.Code != CodeDiverged || *rep.Common < 0 || *rep.Common > end {
		return fmt.Errorf("reply code %q with common %d for an end of %d: %w", rep.Code, *rep.Common, end, ErrBadHello)
	}
	return nil
}
