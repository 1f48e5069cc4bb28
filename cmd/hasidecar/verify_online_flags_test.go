package main

import (
	"io"
	"strings"
	"testing"
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
