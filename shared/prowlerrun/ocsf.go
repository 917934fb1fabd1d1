package prowlerrun

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// OCSFStats is what CountOCSF learns from an OCSF file.
type OCSFStats struct {
	Findings int
	// Checks are the distinct check ids (metadata.event_code) with findings.
	Checks []string
	// Statuses counts findings by status_code.
	Statuses map[string]int
}

// CountOCSF reads Prowler's OCSF output — one JSON array of findings — one
// finding at a time, so memory stays flat however large the file is. An
// empty input counts as no findings.
func CountOCSF(r io.Reader) (OCSFStats, error) {
	st := OCSFStats{Statuses: map[string]int{}}
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err == io.EOF {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read OCSF: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return st, fmt.Errorf("read OCSF: the file is not a JSON array (starts with %v)", tok)
	}
	seen := map[string]bool{}
	for dec.More() {
		var f struct {
			Metadata struct {
				EventCode string `json:"event_code"`
			} `json:"metadata"`
			StatusCode string `json:"status_code"`
		}
		if err := dec.Decode(&f); err != nil {
			return st, fmt.Errorf("read OCSF finding %d: %w", st.Findings, err)
		}
		st.Findings++
		st.Statuses[f.StatusCode]++
		if f.Metadata.EventCode != "" && !seen[f.Metadata.EventCode] {
			seen[f.Metadata.EventCode] = true
			st.Checks = append(st.Checks, f.Metadata.EventCode)
		}
	}
	if _, err := dec.Token(); err != nil {
		return st, fmt.Errorf("read OCSF: unterminated array after %d findings: %w", st.Findings, err)
	}
	slices.Sort(st.Checks)
	return st, nil
}
