package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hasidecar/hasidecar/sidecar/onlineverify"
)

// TestVerifyOnlineFlagMistakes: the online flags are refused without
// --online, and --online without its required flags, as usage errors
// (exit 64) before anything is read or dialled.
func TestVerifyOnlineFlagMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--master", "h:1", "a", "b"}, "--master needs --online"},
		{[]string{"--repair", "a", "b"}, "--repair needs --online"},
		{[]string{"--online", "--dir", "d"}, "needs --master"},
		{[]string{"--online", "--master", "h:1"}, "needs --master HOST:PORT and --dir"},
		{[]string{"--online", "--master", "h:1", "--dir", "d", "x"}, "not directory arguments"},
		{[]string{"--online", "--master", "nohostport", "--dir", "d"}, "--master"},
		{[]string{"--online", "--master", "h:1", "--dir", "d", "--rate", "fast"}, "--rate"},
		{[]string{"--online", "--master", "h:1", "--dir", "d", "--tls-cert", "c"}, "go together"},
	} {
		err := runVerify(t.Context(), c.args, io.Discard, io.Discard)
		if err == nil || exitCode(err, io.Discard) != 64 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v (exit %d), want a usage error saying %q", c.args, err, exitCode(err, io.Discard), c.want)
		}
	}
}

func TestOnlineProgressLine(t *testing.T) {
	got := onlineProgressLine(onlineverify.Progress{Done: 1 << 30, Total: 3 << 30, Elapsed: 2 * time.Second})
	if want := "verify: 33.3% (1024.0MiB of 3072.0MiB), 512.0MiB/s, ETA 4s"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if got := onlineProgressLine(onlineverify.Progress{Total: 5}); got != "verify: 0.0% (0.0MiB of 0.0MiB), 0.0MiB/s, ETA -" {
		t.Fatalf("at the start: %q", got)
	}
}
