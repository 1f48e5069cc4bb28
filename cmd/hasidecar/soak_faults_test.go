package main

// The soak's faults that go beyond the network and process kills: a
// rewritten live segment, descriptor exhaustion on the master, a flood of
// pipelined WAITs. Each checks its own promise as it goes; the soak's final
// comparison checks the rest.

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/report"
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// soakFDLimit is the master's descriptor limit in the soak: low enough that
// fd_exhaustion really exhausts it, far above what serving needs.
const soakFDLimit = 512

// startSoakMaster starts the master under soakFDLimit.
func (s *soak) startSoakMaster() {
	c := s.c
	c.master = startLimited(s.t, "master", soakFDLimit, "master", "--dir", c.mdir, "--listen", c.addr,
		"--segment-size", e2eSegment, "--ack-socket", c.sock, "--heartbeat", "500ms", "--housekeeping", "5s")
	sidecartest.Eventually(s.t, 20*time.Second, "master ack socket", func() bool { return query(s.t, c.sock) != nil })
}

// slaveLevels are the acknowledgement levels a slave restarts with; an OK
// must survive a SIGKILL of the slave under each.
var slaveLevels = [][]string{
	{"--ack-after", "fsync", "--fsync", "every"},
	{"--ack-after", "write", "--fsync", "100ms"},
	{"--ack-after", "write", "--fsync", "1s"},
}

// startSoakSlave starts the slave behind the proxy at a random level.
func (s *soak) startSoakSlave(extra ...string) {
	level := slaveLevels[s.rng.IntN(len(slaveLevels))]
	s.levels[strings.Join(level, " ")]++
	args := append(append([]string{"--master", s.px.Addr()}, level...), extra...)
	s.c.startSlave(args...)
}

// rewriteSegment plays a broker that restarted and lost its last records:
// the writer stops, the tail of the live segment from a record boundary on
// is zeroed in place, and the writer starts again from there with other
// bytes. OKs above the cut are void (the master itself lost those bytes).
// The slave, if it held bytes above the cut, must be refused as diverged;
// it is then reseeded. Either way it must never hold a mixture: the final
// comparison checks its bytes.
func (s *soak) rewriteSegment() {
	s.stopWriter(false)
	end := validEnd(s.t, s.c.mdir)
	cut, ok := s.cutPoint(end)
	if !ok {
		s.startWriter()
		return
	}
	mark := len(s.c.slave.out.String())
	s.zero(cut, end)
	s.okMax = min(s.okMax, cut)
	s.t.Logf("rewrite: zeroed [%d, %d) of the live segment", cut, end)
	refused := false
	sidecartest.Eventually(s.t, 30*time.Second, "the slave refused as diverged, or caught up at the cut", func() bool {
		if strings.Contains(s.c.slave.out.String()[mark:], `"code": "diverged"`) {
			refused = true
			return true
		}
		st := query(s.t, s.c.sock)
		return st != nil && st.MasterEnd == cut && report.MaxAcked(st) == cut
	})
	if refused {
		s.reseeds++
		s.c.slave.kill()
		s.okMax = 0 // an operator's reseed moves the acknowledged bytes aside
		s.startSoakSlave("--reseed")
	}
	s.startWriter()
}

// cutPoint picks a record boundary in the live segment below end, or false
// when the live segment holds fewer than two records.
func (s *soak) cutPoint(end int64) (int64, bool) {
	seg := plugins.SegmentStart(plugins.Info{SegmentSize: faultSeg}, max(end-1, 0))
	data, err := os.ReadFile(filepath.Join(s.c.mdir, plugins.OffsetName(seg)))
	if err != nil {
		s.t.Fatalf("read live segment: %v", err)
	}
	var bounds []int64
	for pos := int64(0); seg+pos < end && pos+4 <= int64(len(data)); {
		bounds = append(bounds, seg+pos)
		size := int64(binary.BigEndian.Uint32(data[pos:]))
		if size <= 0 {
			break
		}
		pos += size
	}
	if len(bounds) < 2 {
		return 0, false
	}
	return bounds[1+s.rng.IntN(len(bounds)-1)], true
}

// zero overwrites [from, to) of the live segment with zeros, in place.
func (s *soak) zero(from, to int64) {
	seg := plugins.SegmentStart(plugins.Info{SegmentSize: faultSeg}, from)
	f, err := os.OpenFile(filepath.Join(s.c.mdir, plugins.OffsetName(seg)), os.O_RDWR, 0)
	if err != nil {
		s.t.Fatalf("open live segment: %v", err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, to-from), from-seg); err != nil {
		s.t.Fatalf("zero live segment: %v", err)
	}
}

// exhaustDescriptors opens more ack-socket connections than the master has
// descriptors, holds them, closes them, and checks the master survived.
func (s *soak) exhaustDescriptors(hold time.Duration) {
	var conns []net.Conn
	for range soakFDLimit + 100 {
		cn, err := net.DialTimeout("unix", s.c.sock, time.Second)
		if err != nil {
			break // the backlog is full: exhausted
		}
		cn.Write(ack.AppendPreamble(nil, ack.Version, 0))
		conns = append(conns, cn)
	}
	s.pause(hold)
	for _, cn := range conns {
		cn.Close()
	}
	if s.c.master.exited() {
		s.t.Fatalf("master exited under descriptor exhaustion (%d connections): %v", len(conns), s.c.master.err)
	}
	sidecartest.Eventually(s.t, 20*time.Second, "the master serving QUERY after descriptor exhaustion", func() bool {
		return query(s.t, s.c.sock) != nil
	})
}

// floodWaits pipelines many WAITs for offsets far beyond the end over a few
// connections, then leaves; the master must stay up and keep answering.
func (s *soak) floodWaits() {
	far := int64(1) << 50
	var conns []net.Conn
	for i := range 4 {
		cn, err := net.DialTimeout("unix", s.c.sock, time.Second)
		if err != nil {
			s.t.Fatalf("flood connection %d: %v", i, err)
		}
		conns = append(conns, cn)
		buf := ack.AppendPreamble(nil, ack.Version, 0)
		for id := range 20000 {
			buf = ack.AppendWait(buf, uint32(id+1), far, 2*time.Second)
		}
		cn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := cn.Write(buf); err != nil {
			s.t.Logf("flood connection %d: %v (the master may refuse a flood)", i, err)
		}
	}
	s.pause(500 * time.Millisecond)
	for _, cn := range conns {
		cn.Close()
	}
	if s.c.master.exited() {
		s.t.Fatalf("master exited under a WAIT flood: %v", s.c.master.err)
	}
	if query(s.t, s.c.sock) == nil {
		s.t.Fatal("master does not answer QUERY after a WAIT flood")
	}
}

func (s *soak) summaryExtra() string {
	return fmt.Sprintf("reseeds=%d levels=%v", s.reseeds, s.levels)
}
