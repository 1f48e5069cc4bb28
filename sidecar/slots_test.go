package sidecar

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/meta"
	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

func metaServer(t *testing.T, idle time.Duration) *meta.Server {
	dir := filepath.Join(t.TempDir(), "config")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return meta.NewServer(nil, meta.ServerOptions{Dir: dir, IdleTimeout: idle})
}

// pollMeta keeps p polling until ctx ends; errs gets its first failure.
func pollMeta(ctx context.Context, wg *sync.WaitGroup, p *metaPoller, polled chan<- struct{}, errs chan<- error) {
	wg.Go(func() {
		for first := true; ctx.Err() == nil; first = false {
			if err := p.list(); err != nil {
				if ctx.Err() == nil {
					errs <- err
				}
				return
			}
			if first {
				polled <- struct{}{}
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond): // the poller's own interval
			}
		}
	})
}

// Metadata connections polling at their cap neither take replication
// slots nor lock a real slave out; one more metadata connection is refused.
func TestMetaPollersDoNotLockSlavesOut(t *testing.T) {
	const slots = 4
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 200, 100)
	tm := startMaster(t, mdir, MasterConfig{MaxSlaves: slots, MaxMetaConns: slots, Meta: metaServer(t, 0)})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	polled, errs := make(chan struct{}, slots), make(chan error, slots)
	for range slots {
		pollMeta(ctx, &wg, dialMeta(t, tm.addr), polled, errs)
	}
	for range slots {
		select {
		case <-polled:
		case err := <-errs:
			t.Fatalf("metadata poller: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("metadata pollers not answered within 5s")
		}
	}
	if err := dialMeta(t, tm.addr).list(); err == nil {
		t.Fatalf("metadata connection %d served, want it refused over --max-meta-conns %d", slots+1, slots)
	}
	ts := startSlave(t, sdir, testSeg, SlaveConfig{Master: tm.addr})
	sidecartest.Eventually(t, 10*time.Second, "the slave at the master's end", func() bool { return ts.s.End() == end })
	select {
	case err := <-errs:
		t.Fatalf("metadata poller: %v", err)
	default:
	}
}

// A sidecar slave over --max-slaves is told why and logs the master's
// reason; a classic one is refused with the reason in the master's log.
// Once a slot frees, the sidecar slave gets in.
func TestSlaveOverCapLearnsWhy(t *testing.T) {
	mdir, sdir := tempDirs(t)
	end := writeRecords(t, mdir, testSeg, 200, 100)
	mlog, mlogs := observedLog(t)
	tm := startMasterLog(t, mdir, MasterConfig{MaxSlaves: 1}, mlog)
	holder := dialRaw(t, tm.addr)
	holder.report(0)
	firstFrame(t, holder) // it holds the only slot
	classic := dialRaw(t, tm.addr)
	classic.report(0)
	if !classic.closed() {
		t.Fatal("classic slave over the cap not closed")
	}
	slog, slogs := observedLog(t)
	ts := startSlaveLog(t, sdir, SlaveConfig{Master: tm.addr, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}, slog)
	const turnedAway = "master turned this slave away; retrying"
	sidecartest.Eventually(t, 5*time.Second, "the slave to log that it was turned away", func() bool { return len(entriesWith(slogs, turnedAway)) > 0 })
	want := (&capError{kind: kindReplication, n: 1, max: 1}).Error()
	if f, ok := fieldOf(entriesWith(slogs, turnedAway)[0], "reason"); !ok || f.String != want {
		t.Fatalf("slave logged reason %q (present %v), want the master's %q", f.String, ok, want)
	}
	refusals := entriesWith(mlogs, "refusing slave: connection cap reached")
	if len(refusals) < 2 {
		t.Fatalf("master logged %d cap refusals, want the classic and the sidecar slave's", len(refusals))
	}
	for i, sidecar := range []bool{false, true} {
		f, _ := fieldOf(refusals[i], "error")
		var ce *capError
		if err, _ := f.Interface.(error); !errors.As(err, &ce) || ce.max != 1 {
			t.Fatalf("master refusal %d logged error %v, want the cap", i, f.Interface)
		}
		if f, _ := fieldOf(refusals[i], "sidecar"); (f.Integer == 1) != sidecar {
			t.Fatalf("master refusal %d: sidecar=%v, want %v", i, f.Integer == 1, sidecar)
		}
	}
	holder.conn.Close()
	sidecartest.Eventually(t, 10*time.Second, "the slave in once the slot is free", func() bool { return ts.s.End() == end })
}

// A metadata connection idle for the server's idle timeout is closed and
// gives its slot back.
func TestIdleMetaConnectionGivesItsSlotBack(t *testing.T) {
	mdir, _ := tempDirs(t)
	writeRecords(t, mdir, testSeg, 10, 100)
	tm := startMaster(t, mdir, MasterConfig{MaxMetaConns: 1, Meta: metaServer(t, 200*time.Millisecond)})
	idle := dialMeta(t, tm.addr)
	if err := idle.list(); err != nil {
		t.Fatal(err)
	}
	if err := dialMeta(t, tm.addr).list(); err == nil {
		t.Fatal("second metadata connection served over a cap of 1")
	}
	if err := idle.closedByMaster(5 * time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("idle metadata connection: %v, want it closed by the master", err)
	}
	sidecartest.Eventually(t, 5*time.Second, "a new metadata connection served", func() bool { return dialMeta(t, tm.addr).list() == nil })
}
