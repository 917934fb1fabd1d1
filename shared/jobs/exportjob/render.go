package exportjob

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
	"github.com/citadelsecure/citadel/shared/report"
)

// File is a rendered export.
type File struct {
	Name        string
	ContentType string
	Body        []byte
}

// RenderOptions are the deployment's settings of the renderings.
type RenderOptions struct{}

// renderers are the formats the job writes, by format.
var renderers = map[citadel.ExportFormat]func(ds export.Dataset, o RenderOptions) (File, error){
	citadel.ExportCSV:  renderCSV,
	citadel.ExportJSON: renderJSON,
	citadel.ExportHTML: renderHTML,
}

// Render writes ds in format f.
func Render(f citadel.ExportFormat, ds export.Dataset, o RenderOptions) (File, error) {
	r, ok := renderers[f]
	if !ok {
		return File{}, citadel.Invalid("export: format %q is not one the job writes", f)
	}
	return r(ds, o)
}

// BaseName names an export's files: framework, scope and date, e.g.
// soc2-folder-default-2026-12-04.
func BaseName(ds export.Dataset) string {
	return strings.Join([]string{ds.Framework.ID, string(ds.Scope.Kind), ds.Scope.ID, ds.AsOf.UTC().Format("2006-01-02")}, "-")
}

func renderJSON(ds export.Dataset, _ RenderOptions) (File, error) {
	var buf bytes.Buffer
	if err := export.WriteDatasetJSON(&buf, ds); err != nil {
		return File{}, err
	}
	return File{Name: BaseName(ds) + ".json", ContentType: "application/json", Body: buf.Bytes()}, nil
}

func renderHTML(ds export.Dataset, _ RenderOptions) (File, error) {
	var buf bytes.Buffer
	if err := report.FrameworkHTML(&buf, ds); err != nil {
		return File{}, err
	}
	return File{Name: BaseName(ds) + ".html", ContentType: "text/html; charset=utf-8", Body: buf.Bytes()}, nil
}

// renderCSV is a zip of the dataset's tables, one CSV each, dated with the
// dataset (the same dataset gives the same bytes).
func renderCSV(ds export.Dataset, _ RenderOptions) (File, error) {
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
