// Package pace holds a reading loop to a byte rate on average: the slave's
// continuous scrub (--scrub-rate) and `hasidecar verify --online` (--rate)
// both read a replica no faster than the operator allows.
//
// Contract: after n bytes taken in all, the next read may start at
// start + n/rate, so the average is exact whatever the read sizes. A loop
// that fell more than a second behind (it paused: a pass rest, a slow peer)
// starts counting afresh instead of bursting to catch up. Rate 0 or less
// is unlimited.
package pace
