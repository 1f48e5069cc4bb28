package meta

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// MetaMagic opens a meta connection: the bytes "\xffHASIMD1". As an HA offset
// report it is negative, which no RocketMQ slave sends, and it differs from
// the replication hello ("\xffHASIDE1"), so the master's accept loop can route
// a connection from its first 8 bytes.
const MetaMagic int64 = -0xb7beacb6b2bbcf

// IsMetaMagic reports whether the first 8 bytes of a connection, read as a
// big-endian int64, open a meta connection.
func IsMetaMagic(v int64) bool { return v == MetaMagic }

// Frame types.
const (
	typeList     uint8 = 0x01
	typeGet      uint8 = 0x02
	typeManifest uint8 = 0x81
	typeContent  uint8 = 0x82
	typeError    uint8 = 0xFF
)

// Bounds of the wire protocol.
const (
	// MaxEntries bounds the files one manifest lists.
	MaxEntries = 4096
	// MaxManifest bounds a MANIFEST payload.
	MaxManifest = 4 << 20
	// MaxNameLen bounds a file name (Linux's NAME_MAX).
	MaxNameLen = 255
	maxRequest = 8 + MaxNameLen
	maxReason  = 255
	maxError   = 1024
	// contentOverhead is the CONTENT header's largest size.
	contentOverhead = 1 + MaxNameLen + 1 + 8 + sha256.Size + 1 + maxReason
	frameHeader     = 5
)

// Entry is one file of a manifest.
type Entry struct {
	Name    string
	Status  Status
	Size    int64
	MtimeNs int64
	Sum     [sha256.Size]byte
	Reason  string
}

// Content is a CONTENT response.
type Content struct {
	Name    string
	Status  Status
	MtimeNs int64
	Sum     [sha256.Size]byte
	Reason  string
	Data    []byte
}

// writeFrame sends one frame in a single write.
func writeFrame(w io.Writer, typ uint8, payload []byte) error {
	buf := make([]byte, frameHeader, frameHeader+len(payload))
	buf[0] = typ
	binary.BigEndian.PutUint32(buf[1:], uint32(len(payload)))
	_, err := w.Write(append(buf, payload...))
	return err
}

// readFrame reads one frame whose payload may be at most max bytes; the
// length is checked before anything is allocated.
func readFrame(r *bufio.Reader, max int) (uint8, []byte, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if uint64(n) > uint64(max) {
		return 0, nil, fmt.Errorf("read frame type %#x: length %d over %d: %w", h[0], n, max, ErrProtocol)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, fmt.Errorf("read frame type %#x: %w", h[0], noEOF(err))
	}
	return h[0], p, nil
}

// noEOF turns a clean EOF inside a frame into the unexpected EOF it is.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// clip shortens a reason to what its uint8 length can carry.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func putStr8(b []byte, s string) []byte {
	s = clip(s, maxReason)
	return append(append(b, byte(len(s))), s...)
}

func putInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// EncodeManifest builds a MANIFEST payload.
func EncodeManifest(entries []Entry) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(entries)))
	for _, e := range entries {
		b = putStr8(b, e.Name)
		b = append(b, byte(e.Status))
		b = putInt64(b, e.Size)
		b = putInt64(b, e.MtimeNs)
		b = append(b, e.Sum[:]...)
		b = putStr8(b, e.Reason)
	}
	return b
}

// EncodeContent builds a CONTENT payload.
func EncodeContent(c Content) []byte {
	b := make([]byte, 0, contentOverhead+len(c.Data))
	b = putStr8(b, c.Name)
	b = append(b, byte(c.Status))
	b = putInt64(b, c.MtimeNs)
	b = append(b, c.Sum[:]...)
	b = putStr8(b, c.Reason)
	return append(b, c.Data...)
}
