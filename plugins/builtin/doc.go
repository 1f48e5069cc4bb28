// Package builtin selects one of the in-process layouts by name, for the
// sidecar's --layout flag: "raw" (package plugins/raw) and "rocketmq"
// (package plugins/rocketmq). External layouts are started by package
// plugins/external instead.
package builtin
