// Package panics stops the panics of code that riffle calls but does not own
// (user callbacks, Applies, a producer closed under its sender) and hands
// them to the caller as values, so that one bad record cannot kill the
// process.
package panics

// Catch stops a panic of the function that defers it and calls caught with
// the panic's value. It must be deferred itself, as in
//
//	defer panics.Catch(func(v any) { err = ... })
//
// because recover stops a panic only when the deferred function calls it.
// caught runs on the panicking goroutine before its frames unwind, so
// debug.Stack called from caught returns the stack of the panic, with the
// function that panicked below the panic frame; callers that keep a stack
// capture it there, and only for the values that need one.
func Catch(caught func(value any)) {
	if r := recover(); r != nil {
		caught(r)
	}
}
