package haproto

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The digest channel (doc.go has the bytes): a connection to the
// master's replication port that opens with DigestMagic carries
// request/response pairs (info, digests, fetch) until the client closes.
// It lets verify --online, the slave's scrub and repair compare lineage
// block CRCs and fetch byte ranges without replicating.

// DigestMagic opens a digest connection: the bytes "\xffHASIDD1". As an HA
// offset report it is negative, which no RocketMQ slave sends, and it
// differs from HelloMagic ("\xffHASIDE1") and the metadata magic
// ("\xffHASIMD1"), so the accept loop routes a connection from its first
// 8 bytes.
const DigestMagic int64 = -0xb7beacb6bbbbcf

// IsDigestMagic reports whether the first 8 bytes of a connection, read as
// a big-endian int64, open a digest connection.
func IsDigestMagic(v int64) bool { return v == DigestMagic }

// DigestVersion is the digest channel version carried in an info reply.
const DigestVersion = 1

// Bounds of the digest channel.
const (
	// MaxDigestRequest bounds a request document.
	MaxDigestRequest = 4 << 10
	// MaxDigestReply bounds a reply document (an info reply lists every
	// segment: 64 Ki segments of about 100 bytes each fit).
	MaxDigestReply = 8 << 20
	// MaxDigestSpan bounds the range of one digests request: 4096 CRCs.
	MaxDigestSpan = 4 << 30
	// MaxFetch bounds the range of one fetch request.
	MaxFetch = 4 << 20
)

// Operations of a DigestRequest.
const (
	OpInfo    = "info"
	OpDigests = "digests"
	OpFetch   = "fetch"
)

// Error codes of a DigestReply.
const (
	DigestCodeRange      = "range"
	DigestCodeBusy       = "busy"
	DigestCodeBadRequest = "bad_request"
)

// ErrBadDigest means a malformed digest request or reply: the connection
// ends.
var ErrBadDigest = errors.New("haproto: bad digest message")

// DigestRequest is one request of a digest connection.
type DigestRequest struct {
	Op   string `json:"op"`
	From int64  `json:"from"`
	To   int64  `json:"to"`
}

// DigestSegment describes one of the master's segments in an info reply.
type DigestSegment struct {
	Base int64  `json:"base"`
	Size int64  `json:"size"`
	Name string `json:"name"`
	// Covered is the master's lineage coverage of the segment: digests
	// can be asked below it.
	Covered int64 `json:"covered"`
}

// DigestReply is one reply of a digest connection. Error and Code are set
// on a refusal (nothing follows); the info fields only in an info reply.
type DigestReply struct {
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
	// Info reply.
	Version   int             `json:"version,omitempty"`
	Layout    LayoutInfo      `json:"layout,omitzero"`
	BlockSize int             `json:"block_size,omitempty"`
	End       int64           `json:"end,omitempty"`
	Segments  []DigestSegment `json:"segments,omitempty"`
	// CRCs and Data count what follows the document: CRCs uint32s (a
	// digests reply) or Data raw bytes (a fetch reply). WriteDigestReply
	// sets them.
	CRCs int `json:"crcs,omitempty"`
	Data int `json:"data,omitempty"`
}

// DigestError is a refusal carried in a DigestReply.
type DigestError struct {
	Code, Message string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("digest refused (%s): %s", e.Code, e.Message)
}

// Err is the reply's refusal as a *DigestError, or nil.
func (r DigestReply) Err() error {
	if r.Error == "" && r.Code == "" {
		return nil
	}
	return &DigestError{Code: r.Code, Message: r.Error}
}

// WriteDigestOpen sends DigestMagic, the first 8 bytes of a digest
// connection.
func WriteDigestOpen(w io.Writer) error {
	var b [8]byte
	PutReport(b[:], DigestMagic)
	_, err := w.Write(b[:])
	return err
}

// CheckDigestRequest validates a request: a known op, 0 <= from <= to,
// and a span within the op's bound.
func CheckDigestRequest(q DigestRequest) error {
	var limit int64
	switch q.Op {
	case OpInfo:
		limit = 1<<63 - 1
	case OpDigests:
		limit = MaxDigestSpan
	case OpFetch:
		limit = MaxFetch
	default:
		return fmt.Errorf("digest request op %q: %w", q.Op, ErrBadDigest)
	}
	if q.From < 0 || q.To < q.From || q.To-q.From > limit {
		return fmt.Errorf("digest request %s [%d, %d): want 0 <= from <= to, to-from <= %d: %w", q.Op, q.From, q.To, limit, ErrBadDigest)
	}
	return nil
}

// WriteDigestRequest sends a uint32 length and the JSON of q.
func WriteDigestRequest(w io.Writer, q DigestRequest) error {
	if err := CheckDigestRequest(q); err != nil {
		return err
	}
	return writeLenDoc(w, q, nil)
}

// ReadDigestRequest reads and validates one request.
func ReadDigestRequest(r io.Reader) (DigestRequest, error) {
	var q DigestRequest
	if err := readLenDoc(r, MaxDigestRequest, &q); err != nil {
		return q, fmt.Errorf("digest request: %w", err)
	}
	return q, CheckDigestRequest(q)
}

// WriteDigestReply sends a uint32 length, the JSON of rep with CRCs and
// Data set to the counts of crcs and data, then the CRCs (big-endian) and
// the data.
func WriteDigestReply(w io.Writer, rep DigestReply, crcs []uint32, data []byte) error {
	rep.CRCs, rep.Data = len(crcs), len(data)
	if (rep.Error != "" || rep.Code != "") && (len(crcs) > 0 || len(data) > 0) {
		return fmt.Errorf("digest refusal with a payload: %w", ErrBadDigest)
	}
	tail := make([]byte, 4*len(crcs))
	putCRCs(tail, crcs)
	if err := writeLenDoc(w, rep, tail); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	_, err := w.Write(data)
	return err
}

// ReadDigestReply reads one reply and what follows it, refusing more than
// maxCRCs CRCs or maxData bytes and a refusal without a code or with a
// payload. A refusal is returned as a reply (see DigestReply.Err), not as
// an error: the connection stays usable.
func ReadDigestReply(r io.Reader, maxCRCs, maxData int) (DigestReply, []uint32, []byte, error) {
	var rep DigestReply
	if err := readLenDoc(r, MaxDigestReply, &rep); err != nil {
		return rep, nil, nil, fmt.Errorf("digest reply: %w", err)
	}
	if err := checkDigestReply(rep, maxCRCs, maxData); err != nil {
		return rep, nil, nil, err
	}
	crcs, err := readCRCs(r, rep.CRCs)
	if err != nil {
		return rep, nil, nil, fmt.Errorf("digest reply: %w", err)
	}
	data, err := readBounded(r, rep.Data)
	if err != nil {
		return rep, nil, nil, fmt.Errorf("digest reply: read %d bytes: %w", rep.Data, err)
	}
	if rep.Data == 0 {
		data = nil
	}
	return rep, crcs, data, nil
}

func checkDigestReply(rep DigestReply, maxCRCs, maxData int) error {
	switch {
	case rep.CRCs < 0 || rep.CRCs > maxCRCs || rep.Data < 0 || rep.Data > maxData:
		return fmt.Errorf("digest reply of %d CRCs and %d bytes, at most %d and %d: %w", rep.CRCs, rep.Data, maxCRCs, maxData, ErrBadDigest)
	case (rep.Error != "") != (rep.Code != ""):
		return fmt.Errorf("digest reply error %q with code %q: %w", rep.Error, rep.Code, ErrBadDigest)
	case rep.Error != "" && (rep.CRCs > 0 || rep.Data > 0):
		return fmt.Errorf("digest refusal with a payload: %w", ErrBadDigest)
	case rep.End < 0 || rep.BlockSize < 0:
		return fmt.Errorf("digest reply end %d block size %d: %w", rep.End, rep.BlockSize, ErrBadDigest)
	}
	return checkDigestSegments(rep.Segments)
}

// checkDigestSegments: bases >= 0 and increasing, segments disjoint, each
// covered within its segment.
func checkDigestSegments(segs []DigestSegment) error {
	var next int64
	for i, s := range segs {
		if s.Base < next || s.Size <= 0 || s.Base > 1<<62 || s.Size > 1<<62 ||
			s.Covered < s.Base || s.Covered > s.Base+s.Size {
			return fmt.Errorf("digest reply segment %d: base %d size %d covered %d: %w", i, s.Base, s.Size, s.Covered, ErrBadDigest)
		}
		next = s.Base + s.Size
	}
	return nil
}

// writeLenDoc writes a uint32 length, the JSON of v and tail in one write.
func writeLenDoc(w io.Writer, v any, tail []byte) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode digest message: %w", err)
	}
	buf := make([]byte, 4, 4+len(doc)+len(tail))
	binary.BigEndian.PutUint32(buf, uint32(len(doc)))
	_, err = w.Write(append(append(buf, doc...), tail...))
	return err
}

// readLenDoc reads a uint32 length (at most limit) and decodes that many
// bytes of JSON into v.
func readLenDoc(r io.Reader, limit int, v any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return fmt.Errorf("read length: %w", err)
	}
	size := binary.BigEndian.Uint32(n[:])
	if uint64(size) > uint64(limit) {
		return fmt.Errorf("document of %d bytes exceeds %d: %w", size, limit, ErrBadDigest)
	}
	doc, err := readBounded(r, int(size))
	if err != nil {
		return fmt.Errorf("read document: %w", err)
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("decode: %v: %w", err, ErrBadDigest)
	}
	return nil
}
