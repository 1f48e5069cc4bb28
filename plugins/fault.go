package plugins

import (
	"errors"
	"runtime/debug"
)

// CatchFault runs fn with memory faults turned into a returned address
// instead of a crash: a segment truncated while a layout has it mapped
// raises SIGBUS on the next read of the lost pages. Any other panic keeps
// going, with its stack.
func CatchFault(fn func()) (addr uintptr, faulted bool) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		var fault interface{ Addr() uintptr }
		if e, ok := p.(error); ok && errors.As(e, &fault) {
			addr, faulted = fault.Addr(), true
			return
		}
		panic(p) // not a fault: a bug, keep its stack
	}()
	fn()
	return 0, false
}
