// Package verify compares two segment directories of one layout: the
// master's (A) and a replica's (B).
//
// The replicated end is where B's valid data ends (found with the layout's
// Scan). Up to it, B must hold the same segment names as A (from B's oldest
// segment on; older segments A deleted by retention are only noted), of the
// same sizes, with the same bytes. B ending before A is progress, not a
// difference; B holding data beyond A's end means B diverged. With Exact,
// the two directories must hold the same names and be identical files from
// the first byte to the last, which is what a finished replication yields.
package verify
