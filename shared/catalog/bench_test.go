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

// BenchmarkRankSharedData is the ranking alone: index the SCF controls, then
// score every check's query and candidates.
func BenchmarkRankSharedData(b *testing.B) {
	dir := testenv.SharedData(b)
	c, err := Build(os.DirFS(filepath.Join(dir, "prowler")), os.DirFS(filepath.Join(dir, "scf")), Options{ProwlerVersion: "5.40.0"})
	if err != nil {
		b.Fatal(err)
	}
	cands := Candidates(c.Prowler.Checks, c.Prowler.Requirements, c.Mappings, JoinOptions{MaxPerCheck: 1 << 20, MinShare: -1})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Rank(c.Prowler.Checks, c.SCF.Controls, cands, LinkOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
