package citadel

import (
	"encoding/json"
	"strings"
)

// ChecksFile is Prowler's --checks-file format: the plan step writes it to
// S3 (ChecksFileName) and the Prowler task reads it. Prowler reads only its
// "aws" key, so the file stays a valid --checks-file with ResourceARNs.
type ChecksFile struct {
	AWS []string `json:"aws"`
	// ResourceARNs, on a re-check, are the resources the shard audits: the
	// task gives them to Prowler as --resource-arn.
	ResourceARNs []string `json:"resource_arns,omitempty"`
}

// ParseChecksFile reads a checks file: valid JSON, an "aws" list, at least
// one check, no empty ids, and resource ARNs (if any) that are ARNs.
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
	for i, a := range cf.ResourceARNs {
		if _, ok := ParseARN(a); !ok || strings.ContainsAny(a, " \t\n") {
			return cf, Invalid("checks file: resource_arns[%d] %q is not an ARN", i, a)
		}
	}
	return cf, nil
}
