package ocsf

// skipper scans raw bytes: strings (with escapes) and bracket depth only.
type skipper struct {
	f   *feed
	off int64 // file offset of the next byte
}

func (s *skipper) byte() (byte, error) {
	b, err := s.f.next()
	if err == nil {
		s.off++
	}
	return b, err
}

// skipElement skips to the ',' or ']' that ends the current element at
// depth 0 and returns the element's start offset and that delimiter.
func (s *skipper) skipElement() (start int64, end byte, err error) {
	start = -1
	depth := 0
	for {
		b, err := s.byte()
		if err != nil {
			if start < 0 {
				start = s.off
			}
			return start, 0, err
		}
		if start < 0 && !isSpace(b) {
			start = s.off - 1
		}
		switch b {
		case '"':
			if err := s.skipString(); err != nil {
				return start, 0, err
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 && b == ']' {
				return start, b, nil
			}
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				return start, b, nil
			}
		}
	}
}

func (s *skipper) skipString() error {
	for {
		b, err := s.byte()
		if err != nil {
			return err
		}
		switch b {
		case '\\':
			if _, err := s.byte(); err != nil {
				return err
			}
		case '"':
			return nil
		}
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }
