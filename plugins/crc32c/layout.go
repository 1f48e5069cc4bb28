package crc32c

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/hasidecar/hasidecar/plugins"
)

// Format constants.
const (
	// Name is the layout's name in plugins.Info.
	Name = "crc32c"
	// HeaderSize is the size of a record header: length and CRC.
	HeaderSize = 8
	// EndMarker is the length word that seals a segment.
	EndMarker uint32 = 0xFFFFFFFF
	// MaxPayload is the largest payload a length word can describe.
	MaxPayload = int64(EndMarker) - 1
	// MinSegmentSize is the smallest accepted segment size.
	MinSegmentSize = 64
	// MaxSegmentSize is the largest accepted segment size (1 TiB).
	MaxSegmentSize = 1 << 40

	namePrefix = "seg-"
	nameSuffix = ".log"
)

// Sentinel errors of this package; test them with errors.Is.
var (
	// ErrFault means the mapped segment faulted (SIGBUS) while it was being
	// read, almost always because the file was truncated underneath the map.
	ErrFault = errors.New("crc32c: memory fault reading a mapped segment")
	// ErrTooLarge means a payload cannot fit in an empty segment.
	ErrTooLarge = errors.New("crc32c: record larger than a segment")
	// ErrEmpty means an empty payload: a zero length word means "no data".
	ErrEmpty = errors.New("crc32c: empty record")
)

var (
	be         = binary.BigEndian
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Checksum returns the CRC32C of payload, as stored in a record header.
func Checksum(payload []byte) uint32 {
	return crc32.Checksum(payload, castagnoli)
}

// AppendRecord appends the encoded record holding payload to dst.
func AppendRecord(dst, payload []byte) []byte {
	dst = be.AppendUint32(dst, uint32(len(payload)))
	dst = be.AppendUint32(dst, Checksum(payload))
	return append(dst, payload...)
}

// Layout is the crc32c layout. It is immutable and safe for concurrent use.
type Layout struct {
	segSize int64
}

var _ plugins.Layout = (*Layout)(nil)

// New returns the layout for segments of segmentSize bytes. A size outside
// [MinSegmentSize, MaxSegmentSize] yields an error wrapping
// plugins.ErrBadConfig.
func New(segmentSize int64) (*Layout, error) {
	if segmentSize < MinSegmentSize || segmentSize > MaxSegmentSize {
		return nil, fmt.Errorf("new crc32c layout: segment size %d not in [%d, %d]: %w",
			segmentSize, MinSegmentSize, int64(MaxSegmentSize), plugins.ErrBadConfig)
	}
	return &Layout{segSize: segmentSize}, nil
}

// Info implements plugins.Layout.
func (l *Layout) Info() plugins.Info {
	return plugins.Info{Name: Name, SegmentSize: l.segSize, Preallocated: true}
}

// SegmentName implements plugins.Layout: "seg-<20 digits>.log".
func (l *Layout) SegmentName(start int64) string {
	return namePrefix + plugins.OffsetName(start) + nameSuffix
}

// ParseName implements plugins.Layout. It accepts exactly the names
// SegmentName produces.
func (l *Layout) ParseName(name string) (int64, bool) {
	num, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return 0, false
	}
	if num, ok = strings.CutSuffix(num, nameSuffix); !ok {
		return 0, false
	}
	return plugins.ParseOffsetName(num)
}
