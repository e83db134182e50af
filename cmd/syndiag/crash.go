package main

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/syndiag/syndiag/flows"
)

// exitInternal is the exit code of a run in which syndiag itself failed (a
// panic: a bug, whatever the input). It is not 2, Go's own code for a
// panic, which means "unreadable input" here.
const exitInternal = 4

// internalError describes a recovered panic for a person: what it panicked
// with and the line of code that did, from the goroutine's stack.
func internalError(v any, stack []byte) string {
	if rp, ok := v.(*flows.ReadPanic); ok {
		v, stack = rp.Value, rp.Stack
	}
	msg := fmt.Sprintf("internal error: %v", v)
	if site := panicSite(stack); site != "" {
		msg += " at " + site
	}
	return msg
}

// panicSite finds, in a stack as runtime/debug.Stack writes it, the first
// frame below the panic that is not the runtime's own (runtime.panicmem,
// runtime.sigpanic, …): the function that panicked and its file and line,
// e.g. "flows.(*Tracker).late (tracker.go:231)". It returns "" when the
// stack has no panic frame.
func panicSite(stack []byte) string {
	lines := strings.Split(string(bytes.TrimSpace(stack)), "\n")
	seenPanic := false
	for i := 1; i+1 < len(lines); i++ {
		fn := lines[i]
		if strings.HasPrefix(fn, "\t") || strings.HasPrefix(fn, "goroutine ") {
			continue
		}
		if strings.HasPrefix(fn, "panic(") {
			seenPanic = true
			continue
		}
		if !seenPanic || strings.HasPrefix(fn, "runtime.") {
			continue
		}
		if j := strings.LastIndex(fn, "("); j > 0 {
			fn = fn[:j]
		}
		fn = fn[strings.LastIndex(fn, "/")+1:]
		where := strings.TrimSpace(lines[i+1])
		if j := strings.LastIndex(where, " +0x"); j > 0 {
			where = where[:j]
		}
		return fmt.Sprintf("%s (%s)", fn, path.Base(where))
	}
	return ""
}
