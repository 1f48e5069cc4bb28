package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hasidecar/hasidecar/sidecar/ack"
)

// ackCmdServer runs a real ack server for the wait/status commands.
func ackCmdServer(t *testing.T, policy string) (*ack.Tracker, string) {
	t.Helper()
	p, err := ack.ParsePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	tr := ack.NewTracker(zaptest.NewLogger(t), p, 0)
	sock := filepath.Join(t.TempDir(), "ack.sock")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ack.NewServer(zaptest.NewLogger(t), ack.ServerOptions{Path: sock}, tr, nil).Run(ctx) }()
	t.Cleanup(func() { cancel(); <-errc })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ack server did not start")
		}
		time.Sleep(time.Millisecond)
	}
	return tr, sock
}

func TestRunWaitExitCodes(t *testing.T) {
	tr, sock := ackCmdServer(t, "any")
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		err := runWait(t.Context(), args, &out, &errb)
		return exitCode(err, io.Discard), out.String()
	}
	if code, _ := run("--socket", sock, "--offset", "10", "--timeout", "2s"); code != 3 {
		t.Errorf("no slave: exit %d, want 3", code)
	}
	tr.AddSlave("s", "127.0.0.1:1")
	start := time.Now()
	if code, _ := run("--socket", sock, "--offset", "10", "--timeout", "50ms"); code != 2 || time.Since(start) > 3*time.Second {
		t.Errorf("timeout: exit %d after %v, want 2", code, time.Since(start))
	}
	tr.Ack("s", 10)
	if code, out := run("--socket", sock, "--offset", "10", "--timeout", "2s"); code != 0 || !strings.Contains(out, "acked=10") {
		t.Errorf("replicated: exit %d, out %q", code, out)
	}
	if code, _ := run("--socket", filepath.Join(t.TempDir(), "none"), "--offset", "1"); code != 1 {
		t.Errorf("no socket: exit %d, want 1", code)
	}
	for _, args := range [][]string{{"--offset", "1"}, {"--socket", sock}, {"--socket", sock, "--offset", "x"}, {"--bogus"}} {
		if code, _ := run(args...); code != 64 {
			t.Errorf("%v: exit %d, want 64", args, code)
		}
	}
}

func TestRunStatus(t *testing.T) {
	tr, sock := ackCmdServer(t, "quorum=1")
	tr.AddSlave("slave-1", "10.1.2.3:4444")
	tr.Sent("slave-1", 5000)
	tr.Ack("slave-1", 4000)
	tr.SetMasterEnd(6000)
	var out bytes.Buffer
	if err := runStatus(t.Context(), []string{"--socket", sock}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"master end", "6000", "quorum=1", "committed", "slave-1", "10.1.2.3:4444", "5000", "4000", "2000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := runStatus(t.Context(), []string{"--socket", sock, "--json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		MasterEnd int64  `json:"master_end"`
		Policy    string `json:"policy"`
		Committed int64  `json:"committed"`
		Slaves    []struct {
			ID  string `json:"id"`
			Lag int64  `json:"lag"`
		} `json:"slaves"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if doc.MasterEnd != 6000 || doc.Policy != "quorum=1" || doc.Committed != 4000 || len(doc.Slaves) != 1 || doc.Slaves[0].Lag != 2000 {
		t.Fatalf("json %+v", doc)
	}
	if code := exitCode(runStatus(t.Context(), nil, &out, &out), io.Discard); code != 64 {
		t.Errorf("no --socket: exit %d, want 64", code)
	}
}

// A master that never answers: `wait` says so and exits 1 once the
// timeout and the answer margin have passed, instead of claiming TIMEOUT.
func TestRunWaitNoAnswer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "mute.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		if _, err := io.ReadFull(s, make([]byte, ack.PreambleLen)); err == nil {
			s.Write(ack.AppendPreamble(nil, ack.Version, ack.PreambleOK))
			io.Copy(io.Discard, s) // reads the WAIT, never answers; ends when the client closes
		}
	}()
	var out, errb bytes.Buffer
	err = runWait(t.Context(), []string{"--socket", sock, "--offset", "10", "--timeout", "50ms"}, &out, &errb)
	if code := exitCode(err, io.Discard); code != 1 || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("exit %d, error %v; want 1 and 'did not answer'", code, err)
	}
}

func TestRunStatusDivergence(t *testing.T) {
	tr, sock := ackCmdServer(t, "any")
	var out bytes.Buffer
	if err := runStatus(t.Context(), []string{"--socket", sock}, &out, &out); err != nil || !strings.Contains(out.String(), "divergence      none") {
		t.Fatalf("no divergence: %v\n%s", err, out.String())
	}
	tr.AddSlave("s", "127.0.0.1:1")
	tr.Sent("s", 9000)
	tr.Diverge(4096, "writer truncated its log")
	out.Reset()
	if err := runStatus(t.Context(), []string{"--socket", sock}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ACTIVE", "above offset 4096", "writer truncated its log"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := runStatus(t.Context(), []string{"--socket", sock, "--json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Divergence struct {
			Active bool      `json:"active"`
			At     int64     `json:"at"`
			Reason string    `json:"reason"`
			Since  time.Time `json:"since"`
		} `json:"divergence"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if d := doc.Divergence; !d.Active || d.At != 4096 || d.Reason != "writer truncated its log" || time.Since(d.Since) > time.Minute {
		t.Fatalf("json divergence %+v", d)
	}
}
