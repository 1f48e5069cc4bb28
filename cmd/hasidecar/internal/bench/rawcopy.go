package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// rawCopy is the benchmark's baseline: the same segment files read from
// src, sent over one loopback TCP connection and written into dst, with no
// protocol beyond a name and a length per file. It returns the elapsed time
// and the bytes copied (whole files, zero tails included).
func rawCopy(ctx context.Context, src, dst string) (time.Duration, int64, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer ln.Close()
	names, err := listFiles(src)
	if err != nil {
		return 0, 0, err
	}
	total := int64(0)
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(src, n)); err == nil {
			total += st.Size()
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	var recvErr error
	wg.Go(func() { recvErr = rawReceive(ln, dst) })
	sendErr := rawSend(ctx, ln.Addr().String(), src, names)
	if sendErr != nil {
		ln.Close() // the receiver may still wait in Accept
	}
	wg.Wait()
	if sendErr != nil {
		return 0, 0, sendErr
	}
	return time.Since(start), total, recvErr
}

func listFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func rawSend(ctx context.Context, addr, src string, names []string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, n := range names {
		f, err := os.Open(filepath.Join(src, n))
		if err != nil {
			return err
		}
		st, _ := f.Stat()
		hdr := binary.BigEndian.AppendUint16(nil, uint16(len(n)))
		hdr = binary.BigEndian.AppendUint64(append(hdr, n...), uint64(st.Size()))
		if _, err := conn.Write(hdr); err != nil {
			f.Close()
			return err
		}
		_, err = io.Copy(conn, f) // sendfile(2) where the kernel allows
		f.Close()
		if err != nil {
			return fmt.Errorf("send %s: %w", n, err)
		}
	}
	return nil
}

func rawReceive(ln net.Listener, dst string) error {
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, 1<<20)
	for {
		var l [2]byte
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		name := make([]byte, binary.BigEndian.Uint16(l[:]))
		var sz [8]byte
		if _, err := io.ReadFull(conn, name); err != nil {
			return err
		}
		if _, err := io.ReadFull(conn, sz[:]); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(dst, filepath.Base(string(name))))
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(f, io.LimitReader(conn, int64(binary.BigEndian.Uint64(sz[:]))), buf)
		f.Close()
		if err != nil {
			return err
		}
	}
}
