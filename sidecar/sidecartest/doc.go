// Package sidecartest holds test support shared by the project's test
// packages, as net/http/httptest does for net/http: one copy of each
// helper, imported only from _test.go files.
//
// Eventually waits for a condition with a deadline; it never stands a sleep
// in for the condition (the short poll interval only paces the checks).
package sidecartest
