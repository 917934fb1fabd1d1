package citadel

import (
	"encoding/json"
	"strings"
)

// ChecksFile is Prowler's --checks-file format: the plan step writes it to
// S3 (ChecksFileName) and the Prowler task reads it.
type ChecksFile struct {
	AWS []string `json:"aws"`
}

// ParseChecksFile reads a checks file: valid JSON, an "aws" list, at least
// one check, no empty ids.
func ParseChecksFile(b []byte) (ChecksFile, error) {
	var cf ChecksFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return cf, Invalid("checks file is not {\"aws\": [...]}: %v", err)
	}
	if len(cf.AWS) == 0 {
		return cf, Invalid("checks file lists no AWS checks")
	}
	for i, id := range cf.AWS {
		if strings.TrimSpace(id) == "" {
			return cf, Invalid("checks file: check %d is empty", i)
		}
	}
	return cf, nil
}
