package sidecartest

import (
	"testing"
	"time"
)

// PollInterval paces Eventually's checks.
const PollInterval = 5 * time.Millisecond

// Eventually calls cond until it returns true, and fails the test (naming
// what it waited for) when d passes first.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	EventuallyEvery(t, d, PollInterval, what, cond)
}

// EventuallyEvery is Eventually checking every interval (a benchmark that
// waits for a condition wants a finer pace than PollInterval).
func EventuallyEvery(t testing.TB, d, every time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(every)
	}
}
