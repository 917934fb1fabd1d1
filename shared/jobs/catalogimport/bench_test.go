package catalogimport_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func sharedInput(b *testing.B) citadel.CatalogImportInput {
	dir := testenv.SharedData(b)
	return citadel.CatalogImportInput{ProwlerSource: filepath.Join(dir, "prowler"), ProwlerVersion: "5.40.0", SCFSource: filepath.Join(dir, "scf")}
}

func report(b *testing.B, u citadel.Usage, items int) {
	n := float64(b.N)
	b.ReportMetric(float64(u.Requests)/n, "requests/op")
	b.ReportMetric(u.WriteUnits/n, "WCU/op")
	b.ReportMetric(u.ReadUnits/n, "RCU/op")
	b.ReportMetric(float64(items)/n, "items-written/op")
}

// BenchmarkImportSharedData is the full first import of the reference data
// (Prowler 5.40.0, SCF 2025.2.2) into an empty table.
func BenchmarkImportSharedData(b *testing.B) {
	ctx := context.Background()
	in := sharedInput(b)
	var usage citadel.Usage
	items := 0
	for b.Loop() {
		b.StopTimer()
		s := testenv.Store(b)
		b.StartTimer()
		out, err := handler(s).Handle(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		usage = usage.Add(out.Usage)
		items += out.Writes.Total()
	}
	report(b, usage, items)
}

// BenchmarkReimportUnchanged is importing the same versions again: reads
// only, nothing written.
func BenchmarkReimportUnchanged(b *testing.B) {
	ctx := context.Background()
	in := sharedInput(b)
	s := testenv.Store(b)
	h := handler(s)
	if _, err := h.Handle(ctx, in); err != nil {
		b.Fatal(err)
	}
	var usage citadel.Usage
	items := 0
	for b.Loop() {
		out, err := h.Handle(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		usage = usage.Add(out.Usage)
		items += out.Writes.Total()
	}
	report(b, usage, items)
}
