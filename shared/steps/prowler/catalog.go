package prowler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// CatalogVersionFile is written under the catalog prefix after every other
// file, so a reader that finds it finds a complete export.
const CatalogVersionFile = "version.json"

// CatalogUploads is how many files the catalog export uploads at once.
const CatalogUploads = 16

// CatalogExport describes an exported catalog: the content of version.json.
type CatalogExport struct {
	ProwlerVersion string    `json:"prowler_version"`
	Files          int       `json:"files"`
	Checks         int       `json:"checks"`
	Frameworks     int       `json:"frameworks"`
	ExportedAt     time.Time `json:"exported_at"`
}

// ExportCatalog uploads the Prowler's AWS check metadata
// (providers/aws/services/*/*/*.metadata.json), its AWS compliance frameworks
// (compliance/aws/*.json) and its multi-provider frameworks
// (compliance/*.json) to s3://bucket/<prefix><path in the package>, keeping
// the package's layout, then <prefix>version.json. prefix defaults to
// citadel.CatalogPrefix.
func ExportCatalog(ctx context.Context, client S3API, bucket, prefix string, p *Prowler, clock citadel.Clock, log *slog.Logger) (CatalogExport, error) {
	if log == nil {
		log = slog.Default()
	}
	if clock == nil {
		clock = citadel.SystemClock
	}
	if bucket == "" {
		return CatalogExport{}, citadel.Invalid("%s is required", citadel.EnvBucket)
	}
	if prefix == "" {
		prefix = citadel.CatalogPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	files, err := p.catalogFiles()
	if err != nil {
		return CatalogExport{}, err
	}
	exp := CatalogExport{ProwlerVersion: p.Version, Files: len(files)}
	for _, f := range files {
		if strings.HasPrefix(f, "providers/") {
			exp.Checks++
		} else {
			exp.Frameworks++
		}
	}
	log.Info("catalog export starting", "bucket", bucket, "prefix", prefix, "files", len(files), "prowler_version", p.Version)
	up := &Scanner{S3: client}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(CatalogUploads)
	for _, rel := range files {
		g.Go(func() error {
			f, err := os.Open(filepath.Join(p.PackageDir, filepath.FromSlash(rel)))
			if err != nil {
				return fmt.Errorf("catalog file %s: %w", rel, err)
			}
			defer f.Close()
			return up.upload(gctx, bucket, path.Join(prefix, rel), "application/json", f)
		})
	}
	if err := g.Wait(); err != nil {
		return CatalogExport{}, fmt.Errorf("export catalog: %w", err)
	}
	exp.ExportedAt = clock()
	b, _ := json.MarshalIndent(exp, "", "  ")
	if err := up.upload(ctx, bucket, prefix+CatalogVersionFile, "application/json", strings.NewReader(string(b))); err != nil {
		return CatalogExport{}, fmt.Errorf("export catalog: %w", err)
	}
	log.Info("catalog exported", "bucket", bucket, "prefix", prefix, "files", exp.Files, "checks", exp.Checks, "frameworks", exp.Frameworks)
	return exp, nil
}
