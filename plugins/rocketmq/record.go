package rocketmq

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
)

// SYSFLAG bits that change the record layout.
const (
	// SysFlagBornHostV6 makes BORNHOST 20 bytes (IPv6 + port).
	SysFlagBornHostV6 int32 = 0x10
	// SysFlagStoreHostV6 makes STOREHOSTADDRESS 20 bytes (IPv6 + port).
	SysFlagStoreHostV6 int32 = 0x20
)

const (
	// MinRecordSize is the size of a v1 record with IPv4 hosts and an
	// empty body, topic and properties.
	MinRecordSize = 91
	// BlankSize is the size of the blank record's header, and the room a
	// writer always leaves at the end of a segment for it.
	BlankSize = 8
	// MaxTopicLen and MaxPropertiesLen are the largest lengths the (signed,
	// 16-bit) length fields can hold.
	MaxTopicLen      = math.MaxInt16
	MaxPropertiesLen = math.MaxInt16
	// v1MaxTopicLen is the largest topic a v1 record holds (signed byte).
	v1MaxTopicLen = math.MaxInt8

	offPhys    = 28 // PHYSICALOFFSET
	offSysFlag = 36 // SYSFLAG
	offBornTS  = 40 // BORNTIMESTAMP; BORNHOST follows
	ipv4Host   = 8
	ipv6Host   = 20
)

var be = binary.BigEndian

// Plausible defaults for hosts left zero: loopback, an ephemeral client port
// and the broker's default port.
var (
	defaultBornHost  = [8]byte{127, 0, 0, 1, 0, 0, 0x9c, 0x40} // 127.0.0.1:40000
	defaultStoreHost = [8]byte{127, 0, 0, 1, 0, 0, 0x2a, 0x9f} // 127.0.0.1:10911
)

// Message is one message to encode as a commit-log record.
type Message struct {
	Topic       string
	QueueID     int32
	QueueOffset int64
	Body        []byte
	Properties  string
	// BornHost and StoreHost are an IPv4 address (4 bytes) and a port
	// (4 bytes, big-endian). Zero values are replaced by loopback addresses.
	// With SysFlagBornHostV6/SysFlagStoreHostV6 set, the host is written in
	// the 20-byte form as an IPv4-mapped IPv6 address.
	BornHost, StoreHost           [8]byte
	BornTimestamp, StoreTimestamp int64
	Flag                          int32
	SysFlag                       int32
}

// CheckMessage reports whether m can be encoded: the topic and properties
// must fit their 16-bit length fields and the record its 32-bit TOTALSIZE.
func CheckMessage(m *Message) error {
	if len(m.Topic) > MaxTopicLen {
		return fmt.Errorf("check message: topic of %d bytes > %d: %w", len(m.Topic), MaxTopicLen, ErrMessage)
	}
	if len(m.Properties) > MaxPropertiesLen {
		return fmt.Errorf("check message: properties of %d bytes > %d: %w", len(m.Properties), MaxPropertiesLen, ErrMessage)
	}
	if int64(len(m.Body)) > math.MaxInt32-MinRecordSize-2*MaxTopicLen {
		return fmt.Errorf("check message: body of %d bytes: %w", len(m.Body), ErrMessage)
	}
	return nil
}

func hostLen(sysFlag, bit int32) int {
	if sysFlag&bit != 0 {
		return ipv6Host
	}
	return ipv4Host
}

// RecordSize returns the encoded size of m: 91 + len(body) + len(topic) +
// len(props) for a v1 record with IPv4 hosts, one more for v2 (topic > 127
// bytes), 12 more per IPv6 host.
func RecordSize(m *Message) int {
	n := MinRecordSize + len(m.Body) + len(m.Topic) + len(m.Properties)
	if len(m.Topic) > v1MaxTopicLen {
		n++
	}
	return n + hostLen(m.SysFlag, SysFlagBornHostV6) - ipv4Host + hostLen(m.SysFlag, SysFlagStoreHostV6) - ipv4Host
}

// AppendRecord appends the record of m at physical offset physOffset to dst
// and returns the extended slice. It writes a v1 record, or v2 when the topic
// is longer than 127 bytes. m must pass CheckMessage; otherwise the lengths
// are cut to their fields and the record will not validate.
func AppendRecord(dst []byte, m *Message, physOffset int64) []byte {
	size := RecordSize(m)
	dst = slices.Grow(dst, size)
	n := len(dst)
	dst = dst[:n+size]
	b := dst[n:]
	magic := MagicV1
	if len(m.Topic) > v1MaxTopicLen {
		magic = MagicV2
	}
	be.PutUint32(b[0:], uint32(size))
	be.PutUint32(b[4:], magic)
	be.PutUint32(b[8:], bodyCRC(m.Body))
	be.PutUint32(b[12:], uint32(m.QueueID))
	be.PutUint32(b[16:], uint32(m.Flag))
	be.PutUint64(b[20:], uint64(m.QueueOffset))
	be.PutUint64(b[offPhys:], uint64(physOffset))
	be.PutUint32(b[offSysFlag:], uint32(m.SysFlag))
	be.PutUint64(b[offBornTS:], uint64(m.BornTimestamp))
	p := offBornTS + 8
	p += putHost(b[p:], m.BornHost, defaultBornHost, m.SysFlag&SysFlagBornHostV6 != 0)
	be.PutUint64(b[p:], uint64(m.StoreTimestamp))
	p += 8
	p += putHost(b[p:], m.StoreHost, defaultStoreHost, m.SysFlag&SysFlagStoreHostV6 != 0)
	be.PutUint32(b[p:], 0)   // RECONSUMETIMES
	be.PutUint64(b[p+4:], 0) // PREPAREDTRANSACTIONOFFSET
	p += 12
	be.PutUint32(b[p:], uint32(len(m.Body)))
	p += 4 + copy(b[p+4:], m.Body)
	if magic == MagicV2 {
		be.PutUint16(b[p:], uint16(len(m.Topic)))
		p += 2
	} else {
		b[p] = byte(len(m.Topic))
		p++
	}
	p += copy(b[p:], m.Topic)
	be.PutUint16(b[p:], uint16(len(m.Properties)))
	copy(b[p+2:], m.Properties)
	return dst
}

// putHost writes a host in its 8-byte form, or 20-byte IPv4-mapped IPv6
// form, substituting def for a zero host. It returns the bytes written.
func putHost(b []byte, h, def [8]byte, v6 bool) int {
	if h == ([8]byte{}) {
		h = def
	}
	if !v6 {
		copy(b, h[:])
		return ipv4Host
	}
	clear(b[:10])
	b[10], b[11] = 0xff, 0xff
	copy(b[12:], h[:])
	return ipv6Host
}

// PutBlank writes the 8-byte header of a blank record of TOTALSIZE size (the
// bytes left in the segment) with BlankMagicCode into dst.
func PutBlank(dst []byte, size int) {
	putBlank(dst, size, BlankMagicCode)
}

func putBlank(dst []byte, size int, magic uint32) {
	be.PutUint32(dst[0:], uint32(size))
	be.PutUint32(dst[4:], magic)
}

// bodyCRC is RocketMQ's UtilAll.crc32: CRC32 (IEEE) & 0x7FFFFFFF.
func bodyCRC(body []byte) uint32 {
	return crc32.ChecksumIEEE(body) & 0x7FFFFFFF
}
