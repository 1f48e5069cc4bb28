package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/sidecartest"
)

func mustInt(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestE2EMetadataMirror changes, adds and deletes files in the master's
// metadata directory and sees the slave's copies follow byte for byte,
// while a reader on the slave never sees a partial file.
func TestE2EMetadataMirror(t *testing.T) {
	c := newCluster(t)
	mmeta, smeta := filepath.Join(c.dir, "m", "config"), filepath.Join(c.dir, "s", "config")
	os.MkdirAll(mmeta, 0o755)
	versions := map[string][][]byte{}
	put := func(name string, size int, fill byte) {
		b := bytes.Repeat([]byte{fill}, size)
		b[0], b[len(b)-1] = '"', '"' // valid JSON: a string
		versions[name] = append(versions[name], b)
		tmp := filepath.Join(mmeta, "."+name+".new")
		os.WriteFile(tmp, b, 0o644)
		os.Rename(tmp, filepath.Join(mmeta, name)) // as a broker does
	}
	put("topics.json", 200<<10, 'a')
	put("consumerOffset.json", 1000, 'b')
	os.WriteFile(filepath.Join(mmeta, "notes.txt"), []byte("not mirrored"), 0o644)
	c.startMaster("--meta-dir", mmeta)
	c.startSlave("--meta-dir", smeta, "--meta-interval", "100ms", "--meta-delete")

	var torn atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { watchWhole(filepath.Join(smeta, "topics.json"), &torn, stop) })
	defer func() { close(stop); wg.Wait() }()

	same := func(name string) bool {
		want := versions[name][len(versions[name])-1]
		got, err := os.ReadFile(filepath.Join(smeta, name))
		return err == nil && bytes.Equal(got, want)
	}
	sidecartest.Eventually(t, 20*time.Second, "first mirror", func() bool { return same("topics.json") && same("consumerOffset.json") })
	for i := 0; i < 5; i++ {
		put("topics.json", 100<<10+i*4096, byte('c'+i))
		sidecartest.Eventually(t, 20*time.Second, "changed file", func() bool { return same("topics.json") })
	}
	put("subscriptionGroup.json", 5000, 'z')
	os.Remove(filepath.Join(mmeta, "consumerOffset.json"))
	sidecartest.Eventually(t, 20*time.Second, "added and deleted", func() bool {
		_, err := os.Stat(filepath.Join(smeta, "consumerOffset.json"))
		return same("subscriptionGroup.json") && os.IsNotExist(err)
	})
	if _, err := os.Stat(filepath.Join(smeta, "notes.txt")); !os.IsNotExist(err) {
		t.Fatal("a file outside --meta-include was mirrored")
	}
	if n := torn.Load(); n > 0 {
		t.Fatalf("a reader on the slave saw %d partial files", n)
	}
}

// watchWhole reads path in a loop and counts reads that are not a whole
// version (each version starts and ends with a quote).
func watchWhole(path string, torn *atomic.Int64, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		b, err := os.ReadFile(path)
		if err == nil && (len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"') {
			torn.Add(1)
		}
	}
}

// TestE2EMetadataOnDemand: with a long interval, SIGHUP on the slave
// mirrors a change at once.
func TestE2EMetadataOnDemand(t *testing.T) {
	c := newCluster(t)
	mmeta, smeta := filepath.Join(c.dir, "m", "config"), filepath.Join(c.dir, "s", "config")
	os.MkdirAll(mmeta, 0o755)
	os.WriteFile(filepath.Join(mmeta, "topics.json"), []byte(`{"v":1}`), 0o644)
	c.startMaster("--meta-dir", mmeta)
	c.startSlave("--meta-dir", smeta, "--meta-interval", "1h")
	sidecartest.Eventually(t, 20*time.Second, "first mirror", func() bool {
		b, _ := os.ReadFile(filepath.Join(smeta, "topics.json"))
		return string(b) == `{"v":1}`
	})
	os.WriteFile(filepath.Join(mmeta, "topics.json"), []byte(`{"v":2}`), 0o644)
	// The master serves a file only once it has been quiet a while: SIGHUP,
	// wait for that sync to finish, and again until the change came over.
	sidecartest.Eventually(t, 20*time.Second, "mirror on SIGHUP", func() bool {
		n := strings.Count(c.slave.out.String(), "on SIGHUP\t")
		c.slave.cmd.Process.Signal(syscall.SIGHUP)
		sidecartest.Eventually(t, 10*time.Second, "the SIGHUP sync", func() bool {
			return strings.Count(c.slave.out.String(), "on SIGHUP\t") > n
		})
		b, _ := os.ReadFile(filepath.Join(smeta, "topics.json"))
		return string(b) == `{"v":2}`
	})
}
