package catalogimport_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The sample events decode strictly into the function's input and name S3
// prefixes (and a corrections object) the handler accepts, under catalog/
// (what the function may read).
func TestSampleEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "events/catalog-import/*.json"))
	if len(files) == 0 {
		t.Fatal("no sample events")
	}
	corrections := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var in citadel.CatalogImportInput
		if err := dec.Decode(&in); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, src := range []string{in.ProwlerSource, in.SCFSource} {
			if src == "" {
				continue
			}
			if _, prefix, err := catalogimport.ParseS3URL(src); err != nil || !strings.HasPrefix(prefix, "catalog/") {
				t.Errorf("%s: source %q: prefix %q, %v", f, src, prefix, err)
			}
		}
		if src := in.CorrectionsSource; src != "" {
			corrections = true
			if _, key, err := catalogimport.ParseS3Object(src); err != nil || !strings.HasPrefix(key, "catalog/") || in.SCFSource == "" {
				t.Errorf("%s: corrections source %q: key %q, %v (SCF source %q)", f, src, key, err, in.SCFSource)
			}
		}
	}
	if !corrections {
		t.Error("no sample event has a corrections_source")
	}
	if _, _, err := catalogimport.ParseS3URL("/local/dir"); !citadel.IsInvalid(err) {
		t.Errorf("ParseS3URL(local dir) = %v", err)
	}
	for u, want := range map[string][2]string{
		"s3://b/catalog/corrections.yaml": {"b", "catalog/corrections.yaml"},
		"s3://b/c.yaml":                   {"b", "c.yaml"},
		"s3://b/catalog/":                 {},
		"s3://b":                          {},
		"s3:///c.yaml":                    {},
		"/local/corrections.yaml":         {},
	} {
		bucket, key, err := catalogimport.ParseS3Object(u)
		if got := [2]string{bucket, key}; got != want || (want == [2]string{}) != citadel.IsInvalid(err) {
			t.Errorf("ParseS3Object(%q) = %q, %q, %v; want %q", u, bucket, key, err, want)
		}
	}
}
