// Package citadel holds Citadel's domain model: the entities of the scanning
// layer, their validation, the error codes every layer shares, the payloads
// that travel between the states of the scan state machine and the scan
// summary. It depends on the standard library only; every other package
// imports it and it imports none of them.
package citadel
