// Package enginetest holds hand-written test doubles for the engine's ports:
// an in-memory RunStore whose journal checks the hash chain like the real
// store, static tools that serve canned telemetry for a few resources, and a
// Progress that records events. It is imported only by tests; it must not
// import store, bot or any integration, and it does no I/O.
package enginetest
