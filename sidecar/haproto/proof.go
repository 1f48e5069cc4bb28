package haproto

import (
	"fmt"
	"io"
)

// A proof challenge lets a master check a sidecar slave's bytes at chosen
// offsets, beyond the tail digest of its hello: after the master's data
// was rewritten at offset D, a slave whose end lies above D must show that
// its bytes at D are the master's new ones, or it holds a mixture.
//
// A slave that can answer says so in its hello (Hello.Proofs). The master
// then may answer the hello with a HelloReply whose Prove lists at most
// MaxProofRanges ranges (no Error): the slave sends a Proof, as a document
// of the same shape as the hello (HelloMagic, uint32 length, JSON), with
// one CRC-32C (Castagnoli) per range in order, and the master sends its
// final HelloReply. A range never crosses a segment, lies below the
// slave's end and spans at most MaxProofRange bytes.

// MaxProofRanges and MaxProofRange bound one challenge: a hostile master
// cannot make a slave read more than 4 MiB for one connection.
const (
	MaxProofRanges = 64
	MaxProofRange  = 64 << 10
)

// Range is [From, To) in absolute offsets.
type Range struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Proof is a slave's answer to a challenge.
type Proof struct {
	CRCs []uint32 `json:"crcs"`
}

// CheckRanges validates a challenge against the slave's end and layout.
func CheckRanges(rs []Range, end, segmentSize int64) error {
	if len(rs) > MaxProofRanges {
		return fmt.Errorf("proof challenge of %d ranges, at most %d: %w", len(rs), MaxProofRanges, ErrBadHello)
	}
	for _, r := range rs {
		if r.From < 0 || r.To <= r.From || r.To > end || r.To-r.From > MaxProofRange ||
			r.From/segmentSize != (r.To-1)/segmentSize {
			return fmt.Errorf("proof range [%d, %d) for an end of %d: %w", r.From, r.To, end, ErrBadHello)
		}
	}
	return nil
}

// WriteProof sends a slave's proof.
func WriteProof(w io.Writer, p Proof) error {
	return writeDoc(w, "proof", p)
}

// ReadProof reads a slave's proof of n ranges.
func ReadProof(r io.Reader, n int) (Proof, error) {
	var p Proof
	if err := readMagicDoc(r, "proof", "proof does not open with the hello magic", &p); err != nil {
		return p, err
	}
	if len(p.CRCs) != n {
		return p, fmt.Errorf("proof of %d CRCs for %d ranges: %w", len(p.CRCs), n, ErrBadHello)
	}
	return p, nil
}
