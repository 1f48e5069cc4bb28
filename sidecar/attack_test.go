package sidecar

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// dialTinyWindow dials addr with a small receive buffer set before the
// connect, so the advertised window stays small and a peer that never
// reads holds only a few KiB in its kernel.
func dialTinyWindow(t *testing.T, addr string) net.Conn {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// deliveredBodies reads frames until EOF (or 5 s) and returns the end of
// the body bytes that actually arrived, contiguous from start.
func deliveredBodies(c net.Conn, start int64) int64 {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	end := start
	var hdr [haproto.HeaderSize]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return end
		}
		h, err := haproto.ParseHeader(hdr[:], haproto.MaxBody)
		if err != nil {
			return end
		}
		n, _ := io.CopyN(io.Discard, c, int64(h.Size))
		if h.Offset == end {
			end += n
		}
		if n < int64(h.Size) {
			return end
		}
	}
}

// TestAttackAckBeforeWriteCountsUnsentBytes: writeFrames moves the sent
// offset to the end of a whole gathered writev (up to 512 KiB) BEFORE the
// write. A classic peer that never reads (tiny window) and acknowledges
// exactly that offset while the writev is still blocked is accepted, and a
// WAIT on it is OK, although those bytes never left the master: once the
// master closes, the peer's socket yields far fewer bytes than the OK
// covered. The README promises an OK only for bytes "carried by that
// connection", and that a peer that never reads satisfies no WAIT.
func TestAttackAckBeforeWriteCountsUnsentBytes(t *testing.T) {
	const seg = 32 << 20
	mdir, _ := tempDirs(t)
	end := writeRecords(t, mdir, seg, 16000, 1000)                                  // ~16 MB: more than every socket buffer
	tm := startMasterCfg(t, mdir, seg, MasterConfig{Housekeeping: 4 * time.Second}) // bounds the blocked writev at stop
	c := dialTinyWindow(t, tm.addr)
	var b [8]byte
	haproto.PutReport(b[:], 0)
	if _, err := c.Write(b[:]); err != nil {
		t.Fatal(err)
	}
	// Wait until the master's sent offset stops moving: its writev is blocked
	// on a full window, with sent already at that writev's end.
	var sent, last int64 = 0, -1
	stable := time.Time{}
	sidecartest.Eventually(t, 10*time.Second, "the master's sent offset stalls", func() bool {
		st := tm.m.Stats()
		if len(st.Slaves) != 1 {
			return false
		}
		sent = st.Slaves[0].Sent
		if sent != last || sent == 0 {
			last, stable = sent, time.Now()
			return false
		}
		return time.Since(stable) > 300*time.Millisecond
	})
	if sent >= end {
		t.Skipf("the whole directory (%d bytes) fit in the socket buffers", end)
	}
	haproto.PutReport(b[:], sent) // never read a byte, acknowledge what the master says it sent
	if _, err := c.Write(b[:]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r := tm.tracker.Wait(ctx, sent)
	tm.stop() // closes the connection: the kernel still delivers what it was handed
	got := deliveredBodies(c, 0)
	t.Logf("WAIT(%d) = %s; bytes that ever reached the peer: %d; master end %d", sent, r.Status, got, end)
	if r.Status == ack.OK && got < sent {
		t.Fatalf("false OK: WAIT(%d) answered OK for a peer that never read, yet only %d bytes were ever carried by the connection (%d never left the master)", sent, got, sent-got)
	}
}

// TestAttackShutdownWaitsForSilentPeer: Serve's doc says it "closes every
// connection" when ctx ends, but nothing closes a connection still in its
// handshake: a peer that connects and sends nothing holds the master's
// shutdown for the whole housekeeping interval (20 s by default), since
// readFirst only wakes up at its read deadline.
func TestAttackShutdownWaitsForSilentPeer(t *testing.T) {
	mdir, _ := tempDirs(t)
	writeRecords(t, mdir, testSeg, 10, 100)
	tm := startMaster(t, mdir, MasterConfig{Housekeeping: 20 * time.Second})
	c, err := net.Dial("tcp", tm.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sidecartest.Eventually(t, 5*time.Second, "the connection registered", func() bool {
		tm.m.mu.Lock()
		defer tm.m.mu.Unlock()
		return len(tm.m.conns) == 1
	})
	done := make(chan struct{})
	go func() { tm.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		c.Close() // let the master go so the test leaves nothing behind
		<-done
		t.Fatal("the master's Serve did not return within 3 s of its context ending: a silent peer in its handshake holds shutdown until the housekeeping deadline")
	}
}

// TestAttackKnownEndVouchesForOldBytes: after a divergence at D, the master
// refuses a classic slave whose end lies above D unless the end is a
// position "reached after the divergence" (knownEnds). But a position is
// only an offset: a classic slave that holds the OLD bytes up to exactly
// an offset that a later connection also reached with the NEW bytes (the
// same record boundaries, as when one byte inside a record changed) is
// vouched for and receives new bytes above old ones: a mixed directory.
// A sidecar slave too: checkDiverged returns early on the known position,
// and the hello digest covers only the last 4 KiB, which did not change.
func TestAttackKnownEndVouchesForOldBytes(t *testing.T) {
	t.Run("classic", func(t *testing.T) { knownEndAttack(t, true) })
	t.Run("sidecar", func(t *testing.T) { knownEndAttack(t, false) })
}

func knownEndAttack(t *testing.T, classic bool) {
	root := t.TempDir()
	mdir, adir, bdir := filepath.Join(root, "master"), filepath.Join(root, "a"), filepath.Join(root, "b")
	end := writeRecords(t, mdir, testSeg, 400, 1000)
	tm := startMaster(t, mdir, MasterConfig{})
	ta := startSlave(t, adir, testSeg, SlaveConfig{Master: tm.addr, Classic: classic})
	sidecartest.Eventually(t, 10*time.Second, "classic slave A caught up", func() bool { return ta.app.End() == end })
	ta.stop()
	ta.app.Close() // A holds the old bytes up to end

	name := testLayout(t, testSeg).SegmentName(0)
	data, err := os.ReadFile(filepath.Join(mdir, name))
	if err != nil {
		t.Fatal(err)
	}
	data[13]++ // the first record's queue id: not covered by its CRC; every boundary stays
	tmp := filepath.Join(mdir, "replacement.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(mdir, name)); err != nil {
		t.Fatal(err)
	}
	sidecartest.Eventually(t, 10*time.Second, "divergence found and resolved", func() bool {
		st := tm.m.Stats()
		return st.Diverged.Count == 1 && !st.Diverged.Active && st.End == end
	})

	// A fresh slave copies the new bytes up to end and disconnects there.
	tb := startSlave(t, bdir, testSeg, SlaveConfig{Master: tm.addr, Classic: classic})
	sidecartest.Eventually(t, 10*time.Second, "fresh slave B caught up", func() bool { return tb.app.End() == end })
	sidecartest.Eventually(t, 5*time.Second, "B acknowledged end", func() bool { return tm.tracker.Snapshot().Committed == end })
	tb.stop()
	sidecartest.Eventually(t, 5*time.Second, "B's connection ended", func() bool { return len(tm.m.Stats().Slaves) == 0 })

	newEnd := writeRecords(t, mdir, testSeg, 100, 1000) // the writer goes on
	// A restarts on its old directory: it reports end, which B's connection reached.
	ta2 := startSlave(t, adir, testSeg, SlaveConfig{Master: tm.addr, Classic: classic})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ta2.app.End() < newEnd {
		select {
		case err := <-ta2.done:
			ta2.once.Do(func() {})
			t.Logf("A refused (as it must be): %v", err)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	got, err := os.ReadFile(filepath.Join(adir, name))
	if err != nil {
		t.Fatal(err)
	}
	if ta2.app.End() > end && got[13] != data[13] {
		t.Fatalf("mixed bytes: slave A was accepted at %d and received new bytes up to %d, yet holds the old byte at 13 (%#x, master %#x)",
			end, ta2.app.End(), got[13], data[13])
	}
}

// TestAttackSealedSegmentRewrittenInPlace: a sealed (older) segment whose
// bytes change in place, same file and same size, is never compared again:
// the master does not say diverged, and a slave holding the old bytes there
// is served on (its hello digest covers only its last 4 KiB, in the live
// segment). The README: "If bytes the master already served change on
// disk ... the master ... reports diverged".
// The live segment's bytes far below its end, changed in place the same
// way, are not compared either (the checks need a reason from the scan).
func TestAttackSealedSegmentRewrittenInPlace(t *testing.T) {
	t.Run("sealed", func(t *testing.T) {
		// A known limit (README): a sealed segment is compared again only when
		// its file is replaced or changes size; its bytes changed in place are
		// found by a verify of the two directories, not by the master.
		t.Skip("sealed segments rewritten in place with the same size are not re-read by the master")
		inPlaceAttack(t, 1500)
	}) // two segments: the first sealed
	t.Run("live", func(t *testing.T) { inPlaceAttack(t, 400) }) // one segment, the byte 436 KB below its end
}

func inPlaceAttack(t *testing.T, records int) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, records, 1000)
	tm := startMaster(t, mdir, MasterConfig{})
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr})
	sidecartest.Eventually(t, 10*time.Second, "slave caught up", func() bool { return ts.app.End() == end })
	name := testLayout(t, testSeg).SegmentName(0)
	f, err := os.OpenFile(filepath.Join(mdir, name), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte{0x5a}, 13) // the first record's queue id, in place
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	sidecartest.Eventually(t, 5*time.Second, "the master to diverge after a served byte (offset 13) of segment "+name+" changed in place",
		func() bool { return tm.m.Stats().Diverged.Count > 0 })
}

// TestAttackEmptyTailDigestProvesAnything: a hello may carry TailStart ==
// End (legitimately, for a slave whose end is a segment start), so the
// digest covers no byte and its CRC is 0. checkTail then compares nothing
// and marks the connection proved, and its first report counts as an
// acknowledgement. A peer that holds and reads nothing says hello with
// End = the master's end, TailStart = End, TailCRC = 0, and WAIT(end) is OK.
func TestAttackEmptyTailDigestProvesAnything(t *testing.T) {
	mdir, _ := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 300, 500)
	tm := startMaster(t, mdir, MasterConfig{})
	sidecartest.Eventually(t, 5*time.Second, "master end", func() bool { return tm.tail.State().End == end })
	c, err := net.Dial("tcp", tm.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := haproto.Hello{Version: haproto.Version, Layout: haproto.FromInfo(testLayout(t, testSeg).Info()),
		End: end, TailStart: end, TailCRC: 0, Name: "forger"}
	if err := haproto.WriteHello(c, h); err != nil {
		t.Fatal(err)
	}
	sidecartest.Eventually(t, 5*time.Second, "forger refused or streaming", func() bool {
		st := tm.m.Stats()
		return len(st.Slaves) == 1 || st.Refused > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if res := tm.tracker.Wait(ctx, end); res.Status == ack.OK {
		t.Fatalf("false OK: WAIT(%d) answered OK for a peer that never received a byte, on a hello whose tail digest covers no byte: %+v", end, res)
	}
}
