// Package config holds the typed configuration of each long-running role,
// Master and Slave, and the one function per role that validates it as a
// whole: Validate. cmd/hasidecar maps flags, HASIDECAR_<FLAG> variables and
// the TOML file onto these types (keys are the flag names), then calls
// Validate before anything touches disk or the network; `hasidecar run`,
// the roles, `hasidecar config check` and SIGHUP all go through it, so a
// file passes the check exactly when the role would start with it, and a
// reload with any invalid value applies nothing.
//
// Errors: Validate joins one *FieldError per problem, naming the setting
// (its key) and its value, wrapping ErrInvalid.
//
// # Settings
//
// Setting, default, bounds; R marks what SIGHUP reloads (everything else
// needs a restart; a reload logs such changes and leaves them alone).
//
// Both roles:
//
//	log-level        info      debug, info, warn, error                R
//	log-format       console   console or json
//	layout           rocketmq  a built-in layout (rocketmq, raw)
//	segment-size     1GiB      > 0; rocketmq: the files' size when not given (DefaultSegmentSize)
//	layout-plugin    ""        external layout plugin binary (overrides layout)
//	layout-plugin-args ""      its arguments
//	layout-plugin-timeout 5s   > 0
//	rocketmq-magic, rocketmq-blank-magic  RocketMQ's  32-bit codes
//	rocketmq-skip-crc false
//	metrics-listen   ""        off, or host:port
//	tls-cert, tls-key, tls-ca  ""  all three or none
//	meta-dir         ""        off, or the metadata directory
//	meta-include     *.json    at least one valid glob pattern
//	meta-max-size    16MiB     > 0
//	heartbeat        5s        >= 100ms (MinHeartbeat)                 R (master)
//	housekeeping     20s       >= 1s (MinHousekeeping) and > heartbeat R (master)
//
// Master:
//
//	dir              required  may not exist yet (the broker creates it)
//	state-dir        DIR.hasidecar  outside dir (not dir, not inside it); lineage in state-dir/lineage
//	listen           0.0.0.0:10912  host:port, port 0-65535
//	batch            32KiB     1 to 4 MiB - 12 bytes (MaxBatch)
//	initial          full      full or last-segment
//	report-grace     3s        > 0
//	gap-log          1m        > 0
//	max-slaves       16        >= 0 (0: no limit)
//	max-meta-conns   16        >= 0 (0: no limit)
//	max-digest-conns 16        >= 0 (0: no limit)
//	allow-slaves     ""        "" lets everyone in; otherwise IPs/CIDRs, at least one (",,," is refused: fail closed)
//	poll-min, poll-max  5ms, 500ms > 0, poll-max >= poll-min
//	settle, rescan   20ms, 1s  > 0
//	ack-socket       ""        off, or a Unix socket path
//	ack-socket-mode  0660      octal permission bits
//	ack-max-conns    1024      >= 1
//	ack-max-waits    65536     >= 1
//	ack-policy       any       any, all or quorum=N                    R
//	fallbehind-max   256MiB    > 0                                     R
//
// Slave:
//
//	dir              required  created if missing
//	state-dir        DIR.hasidecar  outside dir (not dir, not inside it)
//	master           required  host:port with a host and a port 1-65535
//	name             ""        1-128 printable ASCII bytes without spaces; default: the host name
//	classic          false
//	fsync            100ms     every, none or an interval
//	ack-after        write     write or fsync
//	max-backoff      5s        > 0
//	exit-on-refusal, reseed, meta-delete  false
//	tls-server-name  ""        default: the host of master
//	meta-interval    1m        > 0
package config
