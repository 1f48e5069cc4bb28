package onlineverify

import (
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"go.uber.org/zap"
)

// What --repair did with a difference (Difference.Repair).
const (
	RepairDone     = "repaired"
	repairPartial  = "not_repaired: a partial block (at the slave's end, the master's end or the end of what it has hashed): the writer may still change it"
	repairMatchNow = "not_repaired: the block matches now; nothing written"
	repairTooMany  = "not_repaired: more differing blocks than one run repairs"
	repairChanged  = "failed: the master's bytes no longer match the digest compared"
	repairNotRead  = "failed: the block read back after writing does not match the master's digest"
)

// repairAll repairs each remembered differing block in order; an I/O or
// protocol error ends the run (the blocks before it are repaired and
// logged), a block that may not or need not be written is only reported.
func (r *runner) repairAll(ctx context.Context) error {
	rl := &repairLog{path: r.opts.RepairLog}
	defer rl.close()
	for _, b := range r.bad {
		if err := ctx.Err(); err != nil {
			return err
		}
		st, err := r.repairBlock(b, rl)
		if err != nil {
			return fmt.Errorf("repair [%d, %d) of %s: %w", b.off, b.end, b.seg.Name, err)
		}
		if d := &r.rep.Differences[b.diff]; d.Repair == "" || d.Repair == RepairDone {
			d.Repair = st
		}
	}
	for i := range r.rep.Differences {
		if r.rep.Differences[i].Repair == "" {
			r.rep.Differences[i].Repair = repairTooMany
		}
	}
	return nil
}

// repairBlock is one block: never a partial one (the live block of either
// side, or one the master has not hashed whole), never one that matches
// when read again; the fetched bytes must have the CRC compared, and the
// block must read back with it after the write and fsync.
func (r *runner) repairBlock(b badBlock, rl *repairLog) (string, error) {
	if b.end != min(b.off+r.info.BlockSize, b.seg.Base+b.seg.Size) {
		return repairPartial, nil
	}
	data, err := r.src.Fetch(b.off, b.end)
	if err != nil {
		return "", fmt.Errorf("fetch from the master: %w", err)
	}
	r.rep.FetchedBytes += int64(len(data))
	if int64(len(data)) != b.end-b.off {
		return "", fmt.Errorf("master sent %d bytes, want %d: %w", len(data), b.end-b.off, ErrBadMaster)
	}
	if crc32.Checksum(data, castagnoli) != b.masterCRC {
		return repairChanged, nil
	}
	old, whole, err := r.localCRC(b.seg, b.off, b.end)
	if err != nil {
		return "", err
	}
	if whole && old == b.masterCRC {
		return repairMatchNow, nil
	}
	if err := r.writeBlock(b, data); err != nil {
		return "", err
	}
	if err := rl.append(repairRecord{Segment: b.seg.Name, Offset: b.off, Length: b.end - b.off, FileOffset: b.off - b.seg.Base,
		OldCRC: old, CRC: b.masterCRC, MasterEnd: r.info.End}); err != nil {
		return "", err
	}
	got, whole, err := r.localCRC(b.seg, b.off, b.end)
	if err != nil {
		return "", err
	}
	if !whole || got != b.masterCRC {
		return repairNotRead, nil
	}
	r.rep.RepairedBytes += b.end - b.off
	r.opts.Log.Info("block repaired", zap.String("segment", b.seg.Name), zap.Int64("offset", b.off), zap.Int64("bytes", b.end-b.off))
	return RepairDone, nil
}

// writeBlock writes data at the block's place in the existing segment file
// and fsyncs it before the repair is logged.
func (r *runner) writeBlock(b badBlock, data []byte) error {
	path := filepath.Join(r.local.Dir, b.seg.Name)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open for repair: %w", err)
	}
	if _, err := f.WriteAt(data, b.off-b.seg.Base); err != nil {
		f.Close()
		return fmt.Errorf("write %s at %d: %w", b.seg.Name, b.off-b.seg.Base, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", b.seg.Name, err)
	}
	return f.Close()
}
