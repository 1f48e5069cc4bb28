package onlineverify

// Segment is one of the master's segments as its info reply lists it.
type Segment struct {
	Base    int64  // absolute offset of the segment's first byte
	Size    int64  // the segment size
	Name    string // its file name, the same on the slave
	Covered int64  // the master has hashed the segment's bytes below this offset
}

// MasterInfo is the master's answer to "info": its block size, published
// end and segments, oldest first.
type MasterInfo struct {
	BlockSize int64
	End       int64
	Segments  []Segment
}

// Source is the master's side of the digest exchange; a digest client
// (sidecar/digest) wrapped by FromClient is one. Calls are made from one
// goroutine at a time.
type Source interface {
	Info() (MasterInfo, error)
	// Digests returns the CRC-32C of each block starting in [from, to), the
	// last one partial when to cuts it; from is a block start.
	Digests(from, to int64) ([]uint32, error)
	// Fetch returns the master's bytes [from, to), within one segment.
	Fetch(from, to int64) ([]byte, error)
}
