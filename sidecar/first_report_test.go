package sidecar

import (
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// A fork's slave sends a zero report and then its real offset, back to
// back: the master must serve it from the real offset, as RocketMQ's master
// does (the last complete report of its first read is the request), whether
// the two land in one read or in two, and lose no partial report after them.
func TestFirstReportLastOfFirstRead(t *testing.T) {
	mdir, _ := tempDirs(t)
	mid := writeRecords(t, mdir, testSeg, 100, 100)
	end := writeRecords(t, mdir, testSeg, 100, 100)
	both, endRep := reportBytes(0, mid), reportBytes(end)
	cases := []struct {
		name   string
		writes [][]byte // written before the first frame is read
	}{
		{"one write", [][]byte{both}},
		{"two writes", [][]byte{both[:8], both[8:]}},
		{"real offset split", [][]byte{both[:11], both[11:]}},
		{"partial report after", [][]byte{append(both, endRep[:5]...)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A grace far above what a loaded machine takes between the writes.
			log, logs := observedLog(t)
			tm := startMasterLog(t, mdir, MasterConfig{ZeroGrace: 5 * time.Second}, log)
			r := dialRaw(t, tm.addr)
			for i, w := range tc.writes {
				if i > 0 {
					// The second write goes out once the master has read the
					// first and waits for a report to replace the zero one: the
					// two arrive in two reads, as the fork's may.
					sidecartest.Eventually(t, 5*time.Second, "the master waiting after the zero report", func() bool {
						return logs.FilterMessageSnippet("waiting for one that replaces it").Len() > 0
					})
				}
				if _, err := r.conn.Write(w); err != nil {
					t.Fatal(err)
				}
			}
			if h := firstFrame(t, r); h.Offset != mid {
				t.Fatalf("first frame at %d, want the real offset %d", h.Offset, mid)
			}
			if tc.name != "partial report after" {
				return
			}
			for sent := mid; sent < end; { // receive up to end so that acking it is no lie
				h, b, ok := r.frame()
				if !ok {
					t.Fatal("master closed the connection")
				}
				sent = h.Offset + int64(len(b))
			}
			if _, err := r.conn.Write(endRep[5:]); err != nil {
				t.Fatal(err)
			}
			sidecartest.Eventually(t, 5*time.Second, "the split report after the request acknowledged", func() bool {
				s := tm.tracker.Snapshot()
				return len(s.Slaves) == 1 && s.Slaves[0].Acked == end
			})
		})
	}
}

// A slave that reports 0 alone is served at once after the grace, from
// the master's initial position.
func TestFirstReportZeroAlone(t *testing.T) {
	mdir, _ := tempDirs(t)
	writeRecords(t, mdir, testSeg, 10, 100)
	tm := startMaster(t, mdir, MasterConfig{})
	r := dialRaw(t, tm.addr)
	r.report(0)
	if h := firstFrame(t, r); h.Offset != 0 {
		t.Fatalf("first frame at %d, want 0", h.Offset)
	}
}
