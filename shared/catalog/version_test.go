package catalog_test

import (
	"testing"

	"github.com/citadelsecure/citadel/shared/catalog"
)

func TestProwlerVersionInConfig(t *testing.T) {
	tests := map[string]struct{ src, want string }{
		"double quotes":       {"import os\nprowler_version = \"5.7.5\"\n", "5.7.5"},
		"single quotes":       {"prowler_version='4.2.0'\n", "4.2.0"},
		"no spaces":           {"prowler_version=\"5.0.0\"", "5.0.0"},
		"indented is not it":  {"    prowler_version = \"1.0\"\n", ""},
		"another name":        {"old_prowler_version = \"1.0\"\n", ""},
		"none":                {"timestamp = 1\n", ""},
		"empty value refused": {"prowler_version = \"\"\n", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := catalog.ProwlerVersionInConfig([]byte(tc.src)); got != tc.want {
				t.Errorf("ProwlerVersionInConfig(%q) = %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}
