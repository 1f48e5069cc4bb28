package haproto

import (
	"bytes"
	"errors"
	"testing"
)

func TestCheckRanges(t *testing.T) {
	const seg = 1 << 20
	good := []Range{{From: 100, To: 200}, {From: seg - 10, To: seg}}
	if err := CheckRanges(good, seg+50, seg); err != nil {
		t.Fatalf("valid challenge refused: %v", err)
	}
	for name, rs := range map[string][]Range{
		"empty range":     {{From: 5, To: 5}},
		"beyond end":      {{From: 0, To: seg + 51}},
		"negative":        {{From: -1, To: 10}},
		"too long":        {{From: 0, To: MaxProofRange + 1}},
		"crosses segment": {{From: seg - 10, To: seg + 10}},
		"too many":        make([]Range, MaxProofRanges+1),
	} {
		if err := CheckRanges(rs, seg+50, seg); !errors.Is(err, ErrBadHello) {
			t.Errorf("%s: %v, want ErrBadHello", name, err)
		}
	}
}

func TestProofRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	p := Proof{CRCs: []uint32{1, 2, 3}}
	if err := WriteProof(&buf, p); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	got, err := ReadProof(bytes.NewReader(raw), 3)
	if err != nil || len(got.CRCs) != 3 || got.CRCs[2] != 3 {
		t.Fatalf("proof = %+v, %v", got, err)
	}
	if _, err := ReadProof(bytes.NewReader(raw), 2); !errors.Is(err, ErrBadHello) {
		t.Fatalf("a proof of 3 CRCs for 2 ranges: %v, want ErrBadHello", err)
	}
	if _, err := ReadProof(bytes.NewReader(raw[1:]), 3); err == nil {
		t.Fatal("a proof without the magic was accepted")
	}
}
