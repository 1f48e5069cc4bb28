//go:build race

package main

// raceBuild makes the end-to-end tests build the binary with -race too.
const raceBuild = true
