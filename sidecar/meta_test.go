package sidecar

import (
	"testing"

	"github.com/hasidecar/hasidecar/sidecar/meta"
)

// The master routes metadata connections by this magic without importing
// package meta at run time; the two constants must agree.
func TestMetaMagicAgrees(t *testing.T) {
	if metaMagic != meta.MetaMagic {
		t.Fatalf("sidecar metaMagic %#x != meta.MetaMagic %#x", metaMagic, meta.MetaMagic)
	}
}
