// Command hasidecar-layout-crc32c serves the crc32c layout (package
// plugins/crc32c) as a go-plugin layout plugin. The sidecar starts it with
// --layout-plugin; run by hand it only prints go-plugin's refusal.
//
// Segment size: the -segment-size flag (e.g. "64MiB"), else the environment
// variable HASIDECAR_SEGMENT_SIZE, else 1GiB. Master and slave must start the
// plugin with the same size; the sidecar compares the Info it reports.
//
// Test hook: when HASIDECAR_LAYOUT_TEST_HANG_FILE names a file, every Scan
// blocks while that file exists, so tests can simulate a hung plugin.
package main
