package exportjob

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/citadelsecure/citadel/shared/auditpkg"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
	"github.com/citadelsecure/citadel/shared/oscal"
	"github.com/citadelsecure/citadel/shared/report"
)

// File is a rendered export.
type File struct {
	Name        string
	ContentType string
	Body        []byte
}

// RenderOptions are the deployment's settings of the renderings: the
// POA&M's owner and remediation windows, and the signer of the auditor's
// package (nil: unsigned, and its manifest says so).
type RenderOptions struct {
	POAM   oscal.POAMOptions
	Signer auditpkg.Signer
}

// renderers are the formats the job writes, by format.
var renderers = map[citadel.ExportFormat]func(ctx context.Context, ds export.Dataset, o RenderOptions) (File, error){
	citadel.ExportCSV:     renderCSV,
	citadel.ExportJSON:    renderJSON,
	citadel.ExportHTML:    renderHTML,
	citadel.ExportOSCAL:   renderOSCAL,
	citadel.ExportPOAM:    renderPOAM,
	citadel.ExportPackage: renderPackage,
}

// Render writes ds in format f.
func Render(ctx context.Context, f citadel.ExportFormat, ds export.Dataset, o RenderOptions) (File, error) {
	r, ok := renderers[f]
	if !ok {
		return File{}, citadel.Invalid("export: format %q is not one the job writes", f)
	}
	return r(ctx, ds, o)
}

// BaseName names an export's files: framework, scope and date, e.g.
// soc2-folder-default-2026-12-04.
func BaseName(ds export.Dataset) string {
	return strings.Join([]string{ds.Framework.ID, string(ds.Scope.Kind), ds.Scope.ID, ds.AsOf.UTC().Format("2006-01-02")}, "-")
}

func renderJSON(_ context.Context, ds export.Dataset, _ RenderOptions) (File, error) {
	var buf bytes.Buffer
	if err := export.WriteDatasetJSON(&buf, ds); err != nil {
		return File{}, err
	}
	return File{Name: BaseName(ds) + ".json", ContentType: "application/json", Body: buf.Bytes()}, nil
}

func renderHTML(_ context.Context, ds export.Dataset, _ RenderOptions) (File, error) {
	var buf bytes.Buffer
	if err := report.FrameworkHTML(&buf, ds); err != nil {
		return File{}, err
	}
	return File{Name: BaseName(ds) + ".html", ContentType: "text/html; charset=utf-8", Body: buf.Bytes()}, nil
}

// renderCSV is a zip of the dataset's tables, one CSV each, dated with the
// dataset (the same dataset gives the same bytes).
func renderCSV(_ context.Context, ds export.Dataset, _ RenderOptions) (File, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, t := range export.Tables {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: t.Name + ".csv", Method: zip.Deflate, Modified: ds.Generated})
		if err != nil {
			return File{}, fmt.Errorf("export: zip %s.csv: %w", t.Name, err)
		}
		if err := t.WriteCSV(w, ds); err != nil {
			return File{}, err
		}
	}
	if err := zw.Close(); err != nil {
		return File{}, fmt.Errorf("export: zip: %w", err)
	}
	return File{Name: BaseName(ds) + "-csv.zip", ContentType: "application/zip", Body: buf.Bytes()}, nil
}

func renderOSCAL(_ context.Context, ds export.Dataset, _ RenderOptions) (File, error) {
	b, err := oscal.AssessmentResults(ds)
	if err != nil {
		return File{}, err
	}
	return File{Name: BaseName(ds) + "-assessment-results.json", ContentType: "application/json", Body: b}, nil
}

func renderPOAM(_ context.Context, ds export.Dataset, o RenderOptions) (File, error) {
	b, err := oscal.POAM(ds, o.POAM)
	if err != nil {
		return File{}, err
	}
	return File{Name: BaseName(ds) + "-poam.json", ContentType: "application/json", Body: b}, nil
}

// PackageFiles are the exports an auditor's package holds besides its
// evidence records (auditpkg writes those): the report, the dataset, every
// CSV table, both OSCAL documents.
func PackageFiles(ctx context.Context, ds export.Dataset, o RenderOptions) (map[string][]byte, error) {
	files := map[string][]byte{}
	for name, r := range map[string]func(context.Context, export.Dataset, RenderOptions) (File, error){
		"report.html": renderHTML, "dataset.json": renderJSON, "oscal/assessment-results.json": renderOSCAL, "oscal/poam.json": renderPOAM,
	} {
		f, err := r(ctx, ds, o)
		if err != nil {
			return nil, err
		}
		files[name] = f.Body
	}
	for _, t := range export.Tables {
		var buf bytes.Buffer
		if err := t.WriteCSV(&buf, ds); err != nil {
			return nil, err
		}
		files["csv/"+t.Name+".csv"] = buf.Bytes()
	}
	return files, nil
}

// PackagePeriod is the period a dataset covers: from its earliest scan to
// its date.
func PackagePeriod(ds export.Dataset) auditpkg.Period {
	p := auditpkg.Period{From: ds.AsOf, To: ds.AsOf}
	for _, in := range ds.Integrations {
		if !in.ScannedAt.IsZero() && in.ScannedAt.Before(p.From) {
			p.From = in.ScannedAt
		}
	}
	return p
}

func renderPackage(ctx context.Context, ds export.Dataset, o RenderOptions) (File, error) {
	files, err := PackageFiles(ctx, ds, o)
	if err != nil {
		return File{}, err
	}
	var buf bytes.Buffer
	if err := auditpkg.Build(ctx, &buf, auditpkg.FromDataset(ds, PackagePeriod(ds), files), o.Signer); err != nil {
		return File{}, err
	}
	return File{Name: BaseName(ds) + "-package.zip", ContentType: "application/zip", Body: buf.Bytes()}, nil
}
