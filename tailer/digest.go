package tailer

import "hash/crc32"

// digestBlock is the granularity at which published bytes are remembered:
// a rewrite is located to the first block whose checksum changed.
const digestBlock = 64 << 10

// digest remembers a CRC-32C per digestBlock of the bytes published in one
// segment, so that a rewrite in place (same file, new bytes: a writer that
// restarted and rewrote its tail) can be located without a copy of the old
// bytes. Loop-only. 1 GiB of published bytes costs 64 KiB of sums.
type digest struct {
	start int64    // the segment's start; -1 when unused
	sums  []uint32 // one per complete block
	tail  uint32   // checksum of the partial block after them
	n     int64    // bytes covered, from the segment's start
}

// reset makes the digest cover nothing of the segment at start.
func (d *digest) reset(start int64) {
	d.start, d.sums, d.tail, d.n = start, d.sums[:0], 0, 0
}

// extend hashes data[d.n:to] (data is the segment from its first byte).
func (d *digest) extend(data []byte, to int64) {
	to = min(to, int64(len(data)))
	for d.n < to {
		blockEnd := (d.n/digestBlock + 1) * digestBlock
		hi := min(blockEnd, to)
		d.tail = crc32.Update(d.tail, castagnoli, data[d.n:hi])
		d.n = hi
		if hi == blockEnd {
			d.sums = append(d.sums, d.tail)
			d.tail = 0
		}
	}
}

// firstDiff returns the start of the first block whose bytes in data differ
// from the ones hashed (relative to the segment), or d.n when all match.
// A block data does not fully hold counts as differing.
func (d *digest) firstDiff(data []byte) int64 {
	for i, sum := range d.sums {
		lo := int64(i) * digestBlock
		if lo+digestBlock > int64(len(data)) || crc32.Checksum(data[lo:lo+digestBlock], castagnoli) != sum {
			return lo
		}
	}
	lo := int64(len(d.sums)) * digestBlock
	if lo == d.n {
		return d.n
	}
	if d.n > int64(len(data)) || crc32.Checksum(data[lo:d.n], castagnoli) != d.tail {
		return lo
	}
	return d.n
}

// truncate makes the digest cover data[:to] only (to <= d.n, bytes below it
// unchanged).
func (d *digest) truncate(data []byte, to int64) {
	full := to / digestBlock
	if full < int64(len(d.sums)) {
		d.sums = d.sums[:full]
	}
	d.n, d.tail = min(d.n, full*digestBlock), 0
	if d.n == full*digestBlock {
		d.extend(data, to)
	}
}

// lastChanged reports whether the last hashed block (complete or partial)
// differs in data: a cheap periodic look at where a writer that restarted
// below End and rewrote through it must have changed bytes.
func (d *digest) lastChanged(data []byte) bool {
	if d.n == 0 {
		return false
	}
	lo, sum := int64(len(d.sums))*digestBlock, d.tail
	if lo == d.n {
		lo, sum = lo-digestBlock, d.sums[len(d.sums)-1]
	}
	return d.n > int64(len(data)) || crc32.Checksum(data[lo:d.n], castagnoli) != sum
}
