package ocsf

import "bytes"

// skipElement skips a bad element that starts at file offset at with a plain
// bracket-and-string scanner (no validation, constant memory: the bytes
// behind it are dropped as it goes) to the ',' or ']' that ends it at depth
// 0, and returns that delimiter with pos just past it. At the end of the
// source it returns io.EOF (or the source's error).
func (w *window) skipElement(at int64) (byte, error) {
	w.pos = int(at - w.base)
	depth := 0
	inString, escaped := false, false
	for {
		for w.pos < len(w.buf) {
			if inString {
				if escaped {
					escaped = false
					w.pos++
					continue
				}
				// Jump to the next quote or backslash.
				i := bytes.IndexAny(w.buf[w.pos:], `"\`)
				if i < 0 {
					w.pos = len(w.buf)
					break
				}
				w.pos += i
				if w.buf[w.pos] == '\\' {
					escaped = true
				} else {
					inString = false
				}
				w.pos++
				continue
			}
			b := w.buf[w.pos]
			w.pos++
			switch b {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 && b == ']' {
					return b, nil
				}
				if depth > 0 {
					depth--
				}
			case ',':
				if depth == 0 {
					return b, nil
				}
			}
		}
		if err := w.fill(w.end(), w.chunk/2); err != nil {
			return 0, err
		}
	}
}
