package haproto

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hasidecar/hasidecar/plugins"
)

// HelloMagic opens a sidecar hello. As an offset report it would be negative,
// which no RocketMQ slave sends, so a master can tell the two apart from the
// first 8 bytes. The bytes read "\xffHASIDE1".
const HelloMagic int64 = -0xb7beacb6bbbacf

// Version is the hello protocol version.
const Version = 1

// MaxHello bounds a hello document so a hostile peer cannot make us allocate.
const MaxHello = 64 << 10

// LayoutInfo is plugins.Info as it travels in a hello.
type LayoutInfo struct {
	Name         string `json:"name"`
	SegmentSize  int64  `json:"segment_size"`
	Preallocated bool   `json:"preallocated"`
}

// FromInfo converts a plugins.Info.
func FromInfo(i plugins.Info) LayoutInfo {
	return LayoutInfo{Name: i.Name, SegmentSize: i.SegmentSize, Preallocated: i.Preallocated}
}

// Info converts back to plugins.Info.
func (l LayoutInfo) Info() plugins.Info {
	return plugins.Info{Name: l.Name, SegmentSize: l.SegmentSize, Preallocated: l.Preallocated}
}

// Hello is what a sidecar slave announces before its first report.
type Hello struct {
	Version int        `json:"version"`
	Layout  LayoutInfo `json:"layout"`
	// End is the slave's end offset (the report that will follow).
	End int64 `json:"end"`
	// TailStart and TailCRC describe the slave's last bytes below End
	// (at most TailWindow, never before its segment's start): a master
	// whose bytes differ there knows the slave diverged.
	TailStart int64  `json:"tail_start"`
	TailCRC   uint32 `json:"tail_crc"`
	// Name is the slave's name (its host name by default), the master's
	// label for it in status and metrics. Optional: a master that predates
	// it ignores it (JSON decoding skips unknown fields), an empty one
	// leaves the master naming the slave by its address:port. At most
	// MaxName bytes of printable ASCII (CheckName).
	Name string `json:"name,omitempty"`
	// Proofs says the slave answers proof challenges (proof.go). A master
	// that predates it ignores it.
	Proofs bool `json:"proofs,omitempty"`
	// Reports is the highest report format the slave speaks (report2.go).
	Reports int `json:"reports,omitempty"`
	// Lineage is how many SegLineage entries the slave holds for the
	// master (lineage.go), 0..MaxLineage; it sends them only after a
	// non-final reply with LineageWanted. LineageOK says the slave speaks
	// lineage at all, even with no entry to offer. A master that predates
	// them ignores both.
	Lineage   int  `json:"lineage,omitempty"`
	LineageOK bool `json:"lineage_ok,omitempty"`
	// LineageTailStart and LineageTailCRC describe the lineage block
	// holding End-1 when End is not at a block start: its start and the
	// CRC-32C of [start, End). Both 0 (omitted) otherwise.
	LineageTailStart int64  `json:"lineage_tail_start,omitempty"`
	LineageTailCRC   uint32 `json:"lineage_tail_crc,omitempty"`
}

// MaxName bounds a slave's name: it is a metric label and a STATUS field.
const MaxName = 128

// CheckName accepts a slave name of 1..MaxName printable ASCII bytes
// without spaces, so that it is safe as a label, in a log and on a wire.
func CheckName(name string) error {
	if name == "" || len(name) > MaxName {
		return fmt.Errorf("slave name %q: want 1..%d bytes: %w", name, MaxName, ErrBadHello)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("slave name %q: byte %d is not printable ASCII without spaces: %w", name, i, ErrBadHello)
		}
	}
	return nil
}

// TailWindow is how many bytes below the slave's end the tail digest covers.
const TailWindow = 4096

// HelloReply is the master's answer.
type HelloReply struct {
	Version int        `json:"version"`
	Layout  LayoutInfo `json:"layout"`
	// Error is empty when the master accepts the slave.
	Error string `json:"error,omitempty"`
	// Retry is true when the refusal may pass by itself (the master is still
	// starting); false when retrying cannot help (layout mismatch, diverged
	// or too old a slave) and the slave should stop and say so.
	Retry bool `json:"retry,omitempty"`
	// Code classifies a refusal: "layout", "diverged", "reseed" or "unavailable".
	Code string `json:"code,omitempty"`
	// End is the master's end offset when it answered (optional; a master
	// that predates it sends none, decoded as 0): the slave's first
	// measure of how far behind it is.
	End int64 `json:"end,omitempty"`
	// Prove, in a reply without Error, is a proof challenge (proof.go): the
	// slave answers with a Proof and then reads the final reply.
	Prove []Range `json:"prove,omitempty"`
	// Reports is the report format the master picked (report2.go).
	Reports int `json:"reports,omitempty"`
	// LineageWanted, in a non-final reply without Error, asks the slave
	// for its Hello.Lineage SegLineage entries (lineage.go).
	LineageWanted bool `json:"lineage,omitempty"`
	// LineageOf, in a non-final reply without Error, asks the slave for
	// the block CRCs of the segment at that base (WriteBlockCRCs).
	LineageOf *int64 `json:"lineage_of,omitempty"`
	// Common, in a "diverged" refusal decided by lineage, is the offset
	// below which every byte was compared equal (a block start, the
	// partial tail's start, or 0 when the first block differs).
	Common *int64 `json:"common,omitempty"`
	// LineageSkipped, in a reply after a lineage comparison, counts the
	// slave's segments the master did not compare (it no longer holds
	// them or has not hashed them yet).
	LineageSkipped int `json:"lineage_skipped,omitempty"`
}

// Refusal codes carried in HelloReply.Code.
const (
	CodeLayout      = "layout"
	CodeDiverged    = "diverged"
	CodeReseed      = "reseed"
	CodeUnavailable = "unavailable"
)

// WriteHello sends the magic, length and JSON of h.
func WriteHello(w io.Writer, h Hello) error {
	return writeDoc(w, "hello", h)
}

// ReadHelloBody reads the length and JSON that follow the magic.
func ReadHelloBody(r io.Reader) (Hello, error) {
	var h Hello
	doc, err := readDoc(r)
	if err != nil {
		return h, err
	}
	if err := decodeDoc(doc, &h); err != nil {
		return h, err
	}
	// The digest covers at most TailWindow bytes: a wider one would make the
	// master hash its whole directory for one connection.
	if h.End < 0 || h.TailStart < 0 || h.TailStart > h.End || h.End-h.TailStart > TailWindow {
		return h, fmt.Errorf("hello end %d tail %d: %w", h.End, h.TailStart, ErrBadHello)
	}
	return h, checkHelloLineage(h)
}

// WriteHelloReply sends the reply as a frame at HelloMagic: the magic
// where a frame's offset goes, the length where its size goes.
func WriteHelloReply(w io.Writer, rep HelloReply) error {
	return writeDoc(w, "hello reply", rep)
}

// writeDoc writes HelloMagic, a uint32 length and the JSON of v in one write.
func writeDoc(w io.Writer, what string, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	buf := make([]byte, HeaderSize, HeaderSize+len(doc))
	PutReport(buf[0:8], HelloMagic)
	binary.BigEndian.PutUint32(buf[8:12], uint32(len(doc)))
	_, err = w.Write(append(buf, doc...))
	return err
}

// ReadHelloReply reads the master's reply frame.
func ReadHelloReply(r io.Reader) (HelloReply, error) {
	var rep HelloReply
	return rep, readMagicDoc(r, "hello reply", "master answered the hello with a data frame (is it a RocketMQ broker? use --classic)", &rep)
}

// readMagicDoc reads HelloMagic, then a length and the JSON document it
// decodes into v; notMagic says what a peer that sent something else is.
func readMagicDoc(r io.Reader, what, notMagic string, v any) error {
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	if int64(binary.BigEndian.Uint64(magic[:])) != HelloMagic {
		return fmt.Errorf("%s: %w", notMagic, ErrBadHello)
	}
	doc, err := readDoc(r)
	if err != nil {
		return err
	}
	return decodeDoc(doc, v)
}

func readDoc(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("read hello length: %w", err)
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > MaxHello {
		return nil, fmt.Errorf("hello of %d bytes exceeds %d: %w", size, MaxHello, ErrBadHello)
	}
	doc := make([]byte, size)
	if _, err := io.ReadFull(r, doc); err != nil {
		return nil, fmt.Errorf("read hello body: %w", err)
	}
	return doc, nil
}

func decodeDoc(doc []byte, v any) error {
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("decode hello: %v: %w", err, ErrBadHello)
	}
	return nil
}
