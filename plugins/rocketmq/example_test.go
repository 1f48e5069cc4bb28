package rocketmq_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hasidecar/hasidecar/plugins/rocketmq"
)

// A writer fills a commit-log directory; the layout tells where valid data
// ends in each segment.
func Example() {
	dir, err := os.MkdirTemp("", "commitlog")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	w, err := rocketmq.OpenWriter(nil, dir, rocketmq.WriterOptions{SegmentSize: 4096})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	for i := range 20 {
		if _, err := w.Append(&rocketmq.Message{Topic: "demo", Body: make([]byte, 100+i)}); err != nil {
			fmt.Println(err)
			return
		}
	}
	l := w.Layout()
	for _, start := range []int64{0, 4096} {
		sc, err := l.Scan(filepath.Join(dir, l.SegmentName(start)), start, start)
		fmt.Println(l.SegmentName(start), sc.End, sc.Stable, sc.Full, err)
	}
	fmt.Println("writer end", w.End())
	// Output:
	// 00000000000000000000 4096 4096 true <nil>
	// 00000000000000004096 4310 4096 false <nil>
	// writer end 4310
}
