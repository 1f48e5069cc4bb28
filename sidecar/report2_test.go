package sidecar

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/ack"
	"github.com/hasidecar/hasidecar/sidecar/haproto"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// slaveStats is the master's view of its only slave connection.
func slaveStats(tm *testMaster) (SlaveConnStats, bool) {
	st := tm.m.Stats()
	if len(st.Slaves) != 1 {
		return SlaveConnStats{}, false
	}
	return st.Slaves[0], true
}

// TestReports2WrittenAheadOfSynced: a sidecar slave negotiates extended
// reports; the master shows its written end at the master's end and its
// synced end behind it (the test applier never fsyncs), with a write lag
// measured and no flush lag invented.
func TestReports2WrittenAheadOfSynced(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 300, 500)
	tm := startMaster(t, mdir, MasterConfig{Heartbeat: 50 * time.Millisecond})
	startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr, Name: "ext", Heartbeat: 50 * time.Millisecond})
	var s SlaveConnStats
	sidecartest.Eventually(t, 10*time.Second, "written end at the master's end", func() bool {
		var ok bool
		s, ok = slaveStats(tm)
		return ok && s.SlaveWritten == end && s.Acked == end
	})
	if s.Reports != haproto.Reports2 || s.SlaveSynced < 0 || s.SlaveSynced >= s.SlaveWritten {
		t.Fatalf("stats %+v: want extended reports, synced known and behind written %d", s, end)
	}
	if s.WriteLag < 0 || s.FlushLag >= 0 && s.SlaveSynced == 0 {
		t.Fatalf("write lag %v flush lag %v: want a measured write lag and no flush lag for a slave that fsynced nothing", s.WriteLag, s.FlushLag)
	}
}

// TestReports2ClassicUnknown: a classic slave (8-byte reports) shows its
// acknowledgement, and its written and synced ends stay unknown.
func TestReports2ClassicUnknown(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 300, 500)
	tm := startMaster(t, mdir, MasterConfig{Heartbeat: 50 * time.Millisecond})
	startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr, Classic: true, Heartbeat: 50 * time.Millisecond})
	var s SlaveConnStats
	sidecartest.Eventually(t, 10*time.Second, "classic slave acknowledges the end", func() bool {
		var ok bool
		s, ok = slaveStats(tm)
		return ok && s.Acked == end
	})
	if s.Reports != haproto.ReportsClassic || s.SlaveWritten != -1 || s.SlaveSynced != -1 || s.WriteLag != -1 || s.FlushLag != -1 {
		t.Fatalf("classic stats %+v: want written, synced and their lags unknown", s)
	}
}

// extSlave says hello offering extended reports over raw TCP and returns
// the connection once the master agreed.
func extSlave(t *testing.T, tm *testMaster) net.Conn {
	c, err := net.Dial("tcp", tm.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := haproto.Hello{Version: haproto.Version, Layout: haproto.FromInfo(testLayout(t, testSeg).Info()), Name: "hostile", Reports: 7}
	if err := haproto.WriteHello(c, h); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	rep, err := haproto.ReadHelloReply(c)
	if err != nil || rep.Error != "" || rep.Reports != haproto.Reports2 {
		t.Fatalf("hello reply %+v %v: want an accepting reply picking reports 2", rep, err)
	}
	return c
}

func send2(t *testing.T, c net.Conn, r haproto.Report2) {
	var b [haproto.Report2Size]byte
	haproto.PutReport2(b[:], r)
	if _, err := c.Write(b[:]); err != nil {
		t.Fatal(err)
	}
}

// TestReports2HostileSlave: a peer whose extended report breaks a rule
// (an end above what it was sent, synced or acked above written, an end
// going back) is disconnected, and what it claimed never shows: no
// acknowledgement counts past what the connection was sent, no status
// shows an end the master did not check.
func TestReports2HostileSlave(t *testing.T) {
	mdir, _ := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 300, 500)
	tm := startMaster(t, mdir, MasterConfig{Heartbeat: 50 * time.Millisecond})
	sidecartest.Eventually(t, 5*time.Second, "master end", func() bool { return tm.tail.State().End == end })
	for _, tc := range []struct {
		name string
		bad  func(sent int64) []haproto.Report2
	}{
		{"written above sent", func(sent int64) []haproto.Report2 {
			return []haproto.Report2{{Acked: sent, Written: sent + 1, Synced: 0}}
		}},
		{"synced above written", func(sent int64) []haproto.Report2 { return []haproto.Report2{{Acked: 10, Written: 10, Synced: 11}} }},
		{"acked above written", func(sent int64) []haproto.Report2 { return []haproto.Report2{{Acked: sent, Written: 10, Synced: 0}} }},
		{"written going back", func(sent int64) []haproto.Report2 {
			return []haproto.Report2{{Acked: 0, Written: 20, Synced: 0}, {Acked: sent, Written: 19, Synced: 0}}
		}},
		{"negative", func(sent int64) []haproto.Report2 { return []haproto.Report2{{Acked: -1, Written: 10, Synced: 0}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := extSlave(t, tm)
			send2(t, c, haproto.Report2{})
			var s SlaveConnStats
			sidecartest.Eventually(t, 5*time.Second, "the master to send everything", func() bool {
				var ok bool
				s, ok = slaveStats(tm)
				return ok && s.Sent == end && s.Reports == haproto.Reports2
			})
			for _, r := range tc.bad(s.Sent) {
				send2(t, c, r)
			}
			sidecartest.Eventually(t, 5*time.Second, "the master to drop the peer", func() bool {
				_, ok := slaveStats(tm)
				return !ok
			})
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if res := tm.tracker.Wait(ctx, 11); res.Status == ack.OK {
				t.Fatalf("WAIT(11) answered OK after a report breaking a rule: %+v", res)
			}
		})
	}
}
