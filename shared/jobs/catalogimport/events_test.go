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
// prefixes the handler accepts.
func TestSampleEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "events/catalog-import/*.json"))
	if len(files) == 0 {
		t.Fatal("no sample events")
	}
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
	}
	if _, _, err := catalogimport.ParseS3URL("/local/dir"); !citadel.IsInvalid(err) {
		t.Errorf("ParseS3URL(local dir) = %v", err)
	}
}
