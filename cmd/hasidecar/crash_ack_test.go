package main

// What an OK promises across a crash of the slave process, with real
// processes: a master with --ack-socket, a slave, and the in-process
// synchronous writer of the soak (goWriter), whose every append waits for
// OK. The slave is SIGKILLed at random moments and restarted; each time the
// end it recovers (its "slave recovered" line, logged before it receives
// anything) must cover every offset that got OK, and its bytes below must
// be the master's.

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/cmd/hasidecar/internal/spawn"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

// crashKills is how many SIGKILLs each acknowledgement level takes.
const crashKills = 5

func TestE2ECrashKeepsAckedBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		// 1 s between syncs: nearly every kill lands on acknowledged bytes
		// that no checkpoint records yet.
		{"ack_after_write", []string{"--ack-after", "write", "--fsync", "1s"}},
		{"ack_after_fsync", []string{"--ack-after", "fsync", "--fsync", "100ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) { testCrashKeepsAcked(t, tc.args) })
	}
}

func testCrashKeepsAcked(t *testing.T, slaveArgs []string) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	c := newSyncCluster(t)
	c.startMaster()
	gw, err := startGoWriter(t, c.mdir, c.sock, 4)
	if err != nil {
		t.Fatalf("open writer: %v", err)
	}
	stopped := false
	stopWriter := func() {
		if !stopped {
			stopped = true
			if err := gw.stop(); err != nil {
				t.Errorf("close writer: %v", err)
			}
		}
	}
	defer stopWriter()
	c.startSlave(slaveArgs...)
	for kill := range crashKills {
		from := writerOKMax(gw)
		sidecartest.Eventually(t, 30*time.Second, "64 KiB more synchronous commits", func() bool {
			return writerOKMax(gw) >= from+64<<10
		})
		// Where the kill lands in the slave's sync cycle: the schedule's
		// own randomness, not a stand-in for a condition.
		spawn.SleepUntil(t.Context(), time.Now().Add(time.Duration(rng.IntN(1200))*time.Millisecond))
		c.slave.kill()
		acked := writerOKMax(gw) // every OK answered so far was acknowledged before the kill
		c.startSlave(slaveArgs...)
		rec := recoveredOffset(t, c.slave)
		t.Logf("kill %d: highest OK offset %d, recovered end %d", kill+1, acked, rec)
		if rec < acked {
			t.Errorf("kill %d: offset %d got OK but the slave recovered only to %d (%d acknowledged bytes lost)",
				kill+1, acked, rec, acked-rec)
			continue
		}
		sameBytes(t, c.mdir, c.sdir, acked)
	}
	stopWriter()
	c.waitAckedValid()
	if err := c.slave.stop(); err != nil {
		t.Errorf("slave exit: %v", err)
	}
	c.verifyExact()
}

// writerOKMax is the highest offset the writer got OK for.
func writerOKMax(g *goWriter) int64 {
	g.resMu.Lock()
	defer g.resMu.Unlock()
	return g.okMax
}

// recoveredOffset waits for a (re)started slave's recovery line and
// returns the end it recovered from its own files, before any new frame.
func recoveredOffset(t *testing.T, p *proc) int64 {
	t.Helper()
	rec := int64(-1)
	sidecartest.Eventually(t, 30*time.Second, p.name+"'s recovery line", func() bool {
		m := recoveredEnd.FindStringSubmatch(p.out.String())
		if m != nil {
			rec, _ = strconv.ParseInt(m[1], 10, 64)
		}
		return m != nil
	})
	return rec
}
