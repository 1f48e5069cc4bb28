package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

// vfSeg is the segment size of the directories these tests build: not the
// verify command's default (1 GiB), so that the size must be detected.
const vfSeg = 1 << 20

// vfFill writes RocketMQ records into a fresh directory until the third
// 1 MiB segment holds data, copies it to a second directory and returns
// both with the valid end.
func vfFill(t *testing.T) (master, slave string, end int64) {
	t.Helper()
	root := t.TempDir()
	master, slave = filepath.Join(root, "master"), filepath.Join(root, "slave")
	w, err := rocketmq.OpenWriter(nil, master, rocketmq.WriterOptions{SegmentSize: vfSeg})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.Repeat("b", 1000))
	for w.End() < 2*vfSeg+300_000 {
		if _, err := w.Append(&rocketmq.Message{Topic: "t", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	end = w.End()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	vfCopy(t, master, slave)
	return master, slave, end
}

func vfCopy(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// vfPoke overwrites one byte of a file.
func vfPoke(t *testing.T, path string, pos int64, b byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{b}, pos); err != nil {
		t.Fatal(err)
	}
}

// vfZeroNext adds the all-zero preallocated segment a broker keeps after
// the one it writes, and returns its path.
func vfZeroNext(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, plugins.OffsetName(3*vfSeg))
	if err := os.WriteFile(p, make([]byte, vfSeg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func vfWant(t *testing.T, out string, code, want int, subs ...string) {
	t.Helper()
	if code != want {
		t.Fatalf("exit %d, want %d; output:\n%s", code, want, out)
	}
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Fatalf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestE2EVerifyMissingDirectoryIsAnError(t *testing.T) {
	master, _, _ := vfFill(t)
	gone := filepath.Join(t.TempDir(), "nonexistent")
	out, code := runBin(t, "verify", master, gone)
	vfWant(t, out, code, 1, gone, "does not exist")
	if strings.Contains(out, "OK") {
		t.Fatalf("a missing directory was called OK:\n%s", out)
	}
	empty := t.TempDir()
	out, code = runBin(t, "verify", empty, master)
	vfWant(t, out, code, 1, empty, "no segment")
}

func TestE2EVerifyDetectsSizeAndFindsThirdSegmentCorruption(t *testing.T) {
	master, slave, _ := vfFill(t)
	third := plugins.OffsetName(2 * vfSeg)
	vfPoke(t, filepath.Join(slave, third), 1234, 0xEE)
	out, code := runBin(t, "verify", master, slave)
	vfWant(t, out, code, 2, "detected", "segment "+third, fmt.Sprintf("bytes differ from offset %d", 2*vfSeg+1234))
}

func TestE2EVerifyIdenticalNamesWhatWasCompared(t *testing.T) {
	master, slave, end := vfFill(t)
	out, code := runBin(t, "verify", master, slave)
	vfWant(t, out, code, 0, "segment size 1MiB (1048576 bytes) detected",
		fmt.Sprintf("OK: 3 segments, %d bytes compared up to offset %d (valid end %d on both)", end, end, end))
}

func TestE2EVerifyExplicitSizeMismatchIsAnError(t *testing.T) {
	master, slave, _ := vfFill(t)
	out, code := runBin(t, "verify", "--segment-size", "1GiB", master, slave)
	vfWant(t, out, code, 1, "1048576", "1073741824", plugins.OffsetName(0))
}

func TestE2EVerifyExactAcceptsZeroPreallocatedNext(t *testing.T) {
	master, slave, _ := vfFill(t)
	vfZeroNext(t, master)
	out, code := runBin(t, "verify", "--exact", master, slave)
	vfWant(t, out, code, 0, plugins.OffsetName(3*vfSeg), "preallocated")
}

func TestE2EVerifyExactRejectsNonZeroPreallocatedNext(t *testing.T) {
	master, slave, _ := vfFill(t)
	vfPoke(t, vfZeroNext(t, master), 4321, 1)
	out, code := runBin(t, "verify", "--exact", master, slave)
	vfWant(t, out, code, 2, plugins.OffsetName(3*vfSeg), fmt.Sprintf("offset %d", 3*vfSeg+4321))
}

func TestE2EVerifyJSON(t *testing.T) {
	master, slave, end := vfFill(t)
	// A byte inside the first record of the second segment: the slave's valid
	// data then ends there too, a second difference.
	vfPoke(t, filepath.Join(slave, plugins.OffsetName(vfSeg)), 10, 0xEE)
	out, code := runBin(t, "verify", "--json", master, slave)
	if code != 2 {
		t.Fatalf("exit %d, want 2:\n%s", code, out)
	}
	var got struct {
		Verdict     string `json:"verdict"`
		SegmentSize int64  `json:"segment_size"`
		Segments    int    `json:"segments"`
		Bytes       int64  `json:"bytes"`
		Diffs       []struct {
			Segment string `json:"segment"`
			Offset  int64  `json:"offset"`
		} `json:"differences"`
	}
	if err := json.Unmarshal([]byte(vfJSONLine(out)), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.Verdict != "different" || got.SegmentSize != vfSeg || got.Segments != 3 || got.Bytes != end ||
		len(got.Diffs) != 2 || got.Diffs[0].Segment != plugins.OffsetName(vfSeg) || got.Diffs[0].Offset != vfSeg+10 {
		t.Fatalf("JSON report %+v\n%s", got, out)
	}
	out, code = runBin(t, "verify", "--json", master, filepath.Join(master, "nonexistent"))
	vfWant(t, out, code, 1, `"verdict":"error"`)
}

// vfJSONLine returns the first output line that is a JSON object.
func vfJSONLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}
