package sidecar

import (
	"context"
	"fmt"

	"github.com/hasidecar/hasidecar/sidecar/haproto"
)

// agreeReports puts the report format in an accepting hello reply and
// remembers it for the ack reader: extended reports when the slave
// offered them (haproto/report2.go), else classic ones.
func (c *masterConn) agreeReports(rep *haproto.HelloReply) {
	if c.hello == nil {
		return
	}
	rep.Reports = haproto.PickReports(c.hello.Reports)
	c.reports = max(rep.Reports, haproto.ReportsClassic)
}

// readReports reads the slave's reports in the format agreed in the hello
// until the connection fails.
func (c *masterConn) readReports(ctx context.Context) error {
	c.rep.SetReports(max(c.reports, haproto.ReportsClassic))
	if c.reports == haproto.Reports2 {
		return c.readAcks2(ctx)
	}
	return c.readAcks(ctx)
}

// readAcks2 is readAcks for extended reports: each is checked by the
// reader (haproto.Report2Reader), its written end against what this
// connection sent, and only then recorded.
func (c *masterConn) readAcks2(ctx context.Context) error {
	var rr haproto.Report2Reader
	return c.readLoop(ctx, func(p []byte) error {
		last, ok, err := rr.Feed(p)
		if err != nil {
			return fmt.Errorf("slave sent a bad extended report: %w", err)
		}
		if ok {
			return c.ack2(last)
		}
		return nil
	})
}

// ack2 records an extended report. A written end above what was sent on
// this connection is a lie, as an acknowledgement above it is; acked is
// then counted exactly as a classic report is (ack).
func (c *masterConn) ack2(r haproto.Report2) error {
	if sent := c.rep.Sent(); r.Written > sent {
		return fmt.Errorf("slave reported written %d but was sent only up to %d: %w", r.Written, sent, ErrLie)
	}
	c.rep.Progress(r.Written, r.Synced)
	return c.ack(r.Acked)
}
