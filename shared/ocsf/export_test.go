package ocsf

// WithReadSize makes the reader ask its source for at most n bytes at a
// time (n ≥ 2), so that tests cross the window's edges inside findings.
func WithReadSize(n int) Option { return func(r *Reader) { r.w.chunk = n } }

// WithCrossCheck makes the reader panic when its walk accepts a finding
// jsontext does not, or reads a different length of it.
func WithCrossCheck() Option { return func(r *Reader) { r.check = true } }
