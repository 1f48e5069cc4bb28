package rocketmq

import (
	"fmt"
	"math"

	"github.com/hasidecar/hasidecar/plugins"
)

// Magic codes of the RocketMQ commit log.
const (
	// MagicV1 marks a version 1 message record (1-byte topic length).
	MagicV1 uint32 = 0xDAA320A7
	// MagicV2 marks a version 2 message record (2-byte topic length), used
	// by brokers for topics longer than 127 bytes.
	MagicV2 uint32 = 0xDAA320AB
	// BlankMagicCode marks the blank record that seals a segment.
	BlankMagicCode uint32 = 0xCBD43194
)

const (
	// Name is the layout's name in plugins.Info.
	Name = "rocketmq"
	// DefaultSegmentSize is RocketMQ's default commit-log file size (1 GiB).
	DefaultSegmentSize = 1 << 30
	// MinSegmentSize is the smallest accepted segment: one minimal record
	// plus the 8-byte blank record must fit.
	MinSegmentSize = 128
	// MaxSegmentSize is the largest accepted segment: a blank record's
	// TOTALSIZE (int32) must be able to cover the rest of a segment.
	MaxSegmentSize = math.MaxInt32
)

// Options configures a Layout. The zero value is RocketMQ's default.
type Options struct {
	// SegmentSize is the fixed segment size; 0 means DefaultSegmentSize.
	SegmentSize int64
	// MessageMagic lists the accepted message magics; empty means
	// {MagicV1, MagicV2}. MagicV2 records have a 2-byte topic length; every
	// other magic is read with the version 1 format (1-byte topic length).
	MessageMagic []uint32
	// BlankMagic is the end-of-segment magic; 0 means BlankMagicCode.
	BlankMagic uint32
	// SkipCRC turns off the body CRC check (RocketMQ's
	// checkCRCOnRecover=false). Stable still protects readers from a record
	// whose body is still being copied.
	SkipCRC bool
}

// Layout is the built-in RocketMQ commit-log layout. It is immutable and safe
// for concurrent use.
type Layout struct {
	segSize int64
	magics  []uint32
	blank   uint32
	skipCRC bool
}

var (
	_ plugins.Layout        = (*Layout)(nil)
	_ plugins.MappedScanner = (*Layout)(nil)
)

// New validates opts and returns the layout. Invalid options yield an error
// wrapping plugins.ErrBadConfig.
func New(opts Options) (*Layout, error) {
	l := &Layout{segSize: opts.SegmentSize, blank: opts.BlankMagic, skipCRC: opts.SkipCRC}
	if l.segSize == 0 {
		l.segSize = DefaultSegmentSize
	}
	if l.blank == 0 {
		l.blank = BlankMagicCode
	}
	l.magics = append([]uint32(nil), opts.MessageMagic...)
	if len(l.magics) == 0 {
		l.magics = []uint32{MagicV1, MagicV2}
	}
	if l.segSize < MinSegmentSize || l.segSize > MaxSegmentSize {
		return nil, fmt.Errorf("new rocketmq layout: segment size %d not in [%d, %d]: %w",
			l.segSize, MinSegmentSize, MaxSegmentSize, plugins.ErrBadConfig)
	}
	for _, m := range l.magics {
		if m == 0 || m == l.blank {
			return nil, fmt.Errorf("new rocketmq layout: message magic %#x is zero or the blank magic: %w",
				m, plugins.ErrBadConfig)
		}
	}
	return l, nil
}

// Info implements plugins.Layout.
func (l *Layout) Info() plugins.Info {
	return plugins.Info{Name: Name, SegmentSize: l.segSize, Preallocated: true}
}

// SegmentName implements plugins.Layout: the start offset as 20 zero-padded
// decimal digits, like RocketMQ's UtilAll.offset2FileName.
func (l *Layout) SegmentName(start int64) string {
	return plugins.OffsetName(start)
}

// ParseName implements plugins.Layout. It accepts exactly 20 ASCII digits
// whose value fits an int64; alignment is the caller's business.
func (l *Layout) ParseName(name string) (int64, bool) {
	return plugins.ParseOffsetName(name)
}

// version returns the record format of a message magic: 1, 2, or 0 when the
// magic is not an accepted message magic.
func (l *Layout) version(magic uint32) int {
	for _, m := range l.magics {
		if m == magic {
			if magic == MagicV2 {
				return 2
			}
			return 1
		}
	}
	return 0
}
