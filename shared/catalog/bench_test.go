package catalog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// BenchmarkBuildSharedData parses and validates the reference data and
// derives the join and the links: everything an import does before writing.
func BenchmarkBuildSharedData(b *testing.B) {
	dir := testenv.SharedData(b)
	pfs, sfs := os.DirFS(filepath.Join(dir, "prowler")), os.DirFS(filepath.Join(dir, "scf"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(pfs, sfs, Options{ProwlerVersion: "5.40.0"}); err != nil {
			b.Fatal(err)
		}
	}
}
