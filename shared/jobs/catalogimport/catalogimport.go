// Package catalogimport is the catalog-import step: it reads Prowler's check
// metadata and compliance files and, when given, the SCF library and mapping
// files (from a local folder or an S3 prefix) and a corrections file of the
// check → SCF links, parses and validates all of them, then writes only what
// differs from the stored catalog. Importing the same versions twice writes
// nothing; a newer Prowler version updates what changed and marks checks it
// no longer ships deprecated (never deleted). Link corrections are stored
// apart from the imported links, so re-imports and upgrades keep them.
package catalogimport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/catalog"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/diff"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// Store is what the import needs from the catalog store (ddb.Store).
type Store interface {
	ListChecks(ctx context.Context) ([]citadel.SecurityCheck, error)
	PutChecks(ctx context.Context, checks []citadel.SecurityCheck) error
	ListFrameworks(ctx context.Context) ([]citadel.Framework, error)
	PutFrameworks(ctx context.Context, fws []citadel.Framework) error
	ListRequirements(ctx context.Context, frameworkID string) ([]citadel.RequirementNode, error)
	PutRequirements(ctx context.Context, reqs []citadel.RequirementNode) error
	ListSCFControls(ctx context.Context) ([]citadel.SCFControl, error)
	PutSCFControls(ctx context.Context, controls []citadel.SCFControl) error
	ListSCFMappings(ctx context.Context) ([]citadel.SCFFrameworkMapping, error)
	PutSCFMappings(ctx context.Context, maps []citadel.SCFFrameworkMapping) error
	DeleteSCFMappings(ctx context.Context, maps []citadel.SCFFrameworkMapping) error
	ListCheckSCFLinks(ctx context.Context) ([]citadel.CheckSCFLink, error)
	PutCheckSCFLinks(ctx context.Context, links []citadel.CheckSCFLink) error
	DeleteCheckSCFLinks(ctx context.Context, links []citadel.CheckSCFLink) error
	ListReferenceControls(ctx context.Context) ([]citadel.ReferenceControl, error)
	PutReferenceControls(ctx context.Context, rcs []citadel.ReferenceControl) error
	ListLinkCorrections(ctx context.Context) ([]citadel.LinkCorrection, error)
	PutLinkCorrections(ctx context.Context, cs []citadel.LinkCorrection) error
	GetCatalogVersion(ctx context.Context) (citadel.CatalogVersion, error)
	PutCatalogVersion(ctx context.Context, v citadel.CatalogVersion) error
	Usage() citadel.Usage
}

// Handler runs the import.
type Handler struct {
	// Env is the clock and logger, defaulted once by the step contract.
	stepfn.Env
	Store Store
	// S3 fetches s3:// sources; nil means such sources are refused.
	S3 ObjectStore
	// FindProwler locates the installed Prowler when the input names no
	// source (default: FindInstalledProwler).
	FindProwler func(ctx context.Context) (string, error)
}

// Handle imports the catalog.
func (h *Handler) Handle(ctx context.Context, in citadel.CatalogImportInput) (citadel.CatalogImportOutput, error) {
	out, _, err := h.Run(ctx, in)
	return out, err
}

// Run imports the catalog and also returns what it parsed (the CLI prints
// its join report and links).
func (h *Handler) Run(ctx context.Context, in citadel.CatalogImportInput) (citadel.CatalogImportOutput, *catalog.Catalog, error) {
	log := h.Logger()
	clock := h.Env.Defaults().Clock
	start := h.Store.Usage()
	if in.CorrectionsSource != "" && in.SCFSource == "" {
		return citadel.CatalogImportOutput{}, nil, citadel.Invalid("corrections file %s: link corrections need the SCF library: give scf_source (-scf) too", in.CorrectionsSource)
	}

	prowlerFS, prowlerLabel, cleanup, err := h.open(ctx, in.ProwlerSource, true)
	if err != nil {
		return citadel.CatalogImportOutput{}, nil, err
	}
	defer cleanup()
	var scfFS fs.FS
	if in.SCFSource != "" {
		var cleanupSCF func()
		scfFS, _, cleanupSCF, err = h.open(ctx, in.SCFSource, false)
		if err != nil {
			return citadel.CatalogImportOutput{}, nil, err
		}
		defer cleanupSCF()
	}
	// Parse and validate everything before writing anything.
	cat, err := catalog.Build(prowlerFS, scfFS, catalog.Options{
		ProwlerVersion: in.ProwlerVersion,
		Links:          catalog.LinkOptions{MaxPerCheck: in.MaxLinksPerCheck},
		ProwlerLabel:   prowlerLabel,
		SCFLabel:       in.SCFSource,
	})
	if err != nil {
		return citadel.CatalogImportOutput{}, nil, err
	}
	if cat.Prowler.Version == "" {
		return citadel.CatalogImportOutput{}, nil, citadel.Invalid("Prowler version unknown: the folder has no version.json, config/config.py or VERSION; pass it explicitly")
	}
	var corrections []citadel.LinkCorrection
	if in.CorrectionsSource != "" {
		if corrections, err = h.corrections(ctx, in.CorrectionsSource, cat, clock()); err != nil {
			return citadel.CatalogImportOutput{}, nil, err
		}
	}
	out := citadel.CatalogImportOutput{
		ProwlerVersion: cat.Prowler.Version, ProwlerLayout: string(cat.Prowler.Layout),
		SCFImported: cat.SCF != nil, Checks: len(cat.Prowler.Checks), Frameworks: len(cat.Prowler.Frameworks),
		Requirements: len(cat.Prowler.Requirements), Templates: len(cat.Templates),
		UnknownChecks: cat.Prowler.UnknownChecks, SkippedFiles: cat.Prowler.SkippedFiles,
		JoinReports: cat.JoinReports, Corrections: len(corrections),
	}
	if cat.SCF != nil {
		out.SCFVersion, out.SCFControls, out.SCFMappings, out.Links = cat.SCF.Version, len(cat.SCF.Controls), len(cat.Mappings), len(cat.Links)
	}
	for _, c := range cat.Prowler.Checks {
		if c.Deprecated {
			out.DeprecatedChecks++
		}
	}

	w, deprecated, err := h.apply(ctx, cat, corrections, clock, loaded(out, cat))
	out.Writes = w
	out.DeprecatedChecks += deprecated
	out.Usage = h.Store.Usage().Sub(start)
	if err != nil {
		return out, cat, err
	}
	switch {
	case cat.SCF == nil:
		out.Message = fmt.Sprintf("imported Prowler %s only: no SCF library given or found, so no SCF controls, mappings or check links (scans use the requirement-based fallback); %d items written", out.ProwlerVersion, w.Total())
	case w.Total() == 0:
		out.Message = fmt.Sprintf("catalog already up to date (Prowler %s, SCF %s): nothing written", out.ProwlerVersion, out.SCFVersion)
	default:
		out.Message = fmt.Sprintf("imported Prowler %s and SCF %s: %d items written", out.ProwlerVersion, out.SCFVersion, w.Total())
		if w.Corrections > 0 {
			out.Message += fmt.Sprintf(" (%d of them link corrections from %s)", w.Corrections, in.CorrectionsSource)
		}
	}
	for _, r := range cat.JoinReports {
		log.InfoContext(ctx, "SCF join", "file", r.File, "framework", r.FrameworkID, "skipped", r.Skipped,
			"matched", r.ProwlerMatched, "requirements", r.ProwlerRequirements, "join_rate", r.JoinRate,
			"prowler_unmatched", r.ProwlerUnmatched, "mapping_unmatched", len(r.MappingUnmatched))
	}
	log.InfoContext(ctx, "catalog import", "prowler_version", out.ProwlerVersion, "scf_version", out.SCFVersion,
		"writes", w.Total(), "requests", out.Usage.Requests, "write_units", out.Usage.WriteUnits, "unknown_checks", len(out.UnknownChecks),
		"corrections", out.Corrections, "corrections_written", w.Corrections)
	return out, cat, nil
}

// same says whether a stored item and a parsed one are equal (nil and empty
// slices and maps alike: the store omits empty attributes).
func same[T any](stored, parsed T) bool { return cmp.Equal(stored, parsed, cmpopts.EquateEmpty()) }

// apply writes what differs between the stored catalog and cat, and the
// corrections file's corrections that differ from the stored ones.
func (h *Handler) apply(ctx context.Context, cat *catalog.Catalog, corrections []citadel.LinkCorrection, clock citadel.Clock, v citadel.CatalogVersion) (w citadel.CatalogWrites, deprecated int, err error) {
	s := h.Store
	// Checks: a check's ProwlerVersion is the version its stored content
	// came from, so an upgrade rewrites only the checks that changed.
	stored, err := s.ListChecks(ctx)
	if err != nil {
		return w, 0, err
	}
	checks, gone := diff.Changed(stored, cat.Prowler.Checks, func(c citadel.SecurityCheck) string { return c.ID },
		func(o, c citadel.SecurityCheck) bool {
			c.ProwlerVersion = o.ProwlerVersion
			return same(o, c)
		})
	w.Checks = len(checks)
	for _, o := range gone { // stored, no longer shipped: deprecate, never delete
		if !o.Deprecated {
			o.Deprecated = true
			checks = append(checks, o)
			w.ChecksDeprecated++
		}
		deprecated++
	}
	if err := s.PutChecks(ctx, checks); err != nil {
		return w, deprecated, err
	}

	storedFws, err := s.ListFrameworks(ctx)
	if err != nil {
		return w, deprecated, err
	}
	fwID := func(f citadel.Framework) string { return f.ID }
	fws, _ := diff.Changed(storedFws, cat.Prowler.Frameworks, fwID, same)
	w.Frameworks = len(fws)
	known := map[string]bool{}
	for _, f := range storedFws {
		known[f.ID] = true
	}
	var reqs []citadel.RequirementNode
	byFw := map[string][]citadel.RequirementNode{}
	for _, r := range cat.Prowler.Requirements {
		byFw[r.FrameworkID] = append(byFw[r.FrameworkID], r)
	}
	for _, f := range cat.Prowler.Frameworks {
		var old []citadel.RequirementNode
		if known[f.ID] {
			if old, err = s.ListRequirements(ctx, f.ID); err != nil {
				return w, deprecated, err
			}
		}
		changed, _ := diff.Changed(old, byFw[f.ID], func(r citadel.RequirementNode) string { return r.ID }, same)
		reqs = append(reqs, changed...)
	}
	w.Requirements = len(reqs)
	if err := s.PutRequirements(ctx, reqs); err != nil {
		return w, deprecated, err
	}
	// Frameworks after their requirements: a framework is listed only once
	// its requirements are in.
	if err := s.PutFrameworks(ctx, fws); err != nil {
		return w, deprecated, err
	}

	if cat.SCF != nil {
		if err := h.applySCF(ctx, cat, &w); err != nil {
			return w, deprecated, err
		}
	}
	// After the SCF controls and links: a correction names both.
	if err := h.applyCorrections(ctx, corrections, &w); err != nil {
		return w, deprecated, err
	}

	storedTpl, err := s.ListReferenceControls(ctx)
	if err != nil {
		return w, deprecated, err
	}
	tpls, _ := diff.Changed(storedTpl, cat.Templates, func(t citadel.ReferenceControl) string { return t.ID }, same)
	w.Templates = len(tpls)
	if err := s.PutReferenceControls(ctx, tpls); err != nil {
		return w, deprecated, err
	}

	v.ProwlerVersion, v.TemplatesHash = cat.Prowler.Version, cat.TemplatesHash
	v.Counts.DeprecatedChecks += deprecated
	cur, err := s.GetCatalogVersion(ctx)
	if err != nil && !citadel.IsNotFound(err) {
		return w, deprecated, err
	}
	v.SCFVersion = cur.SCFVersion // kept when this import had no SCF files
	if cat.SCF != nil {
		v.SCFVersion = cat.SCF.Version
	}
	if w.Total() > 0 || err != nil || cur.ProwlerVersion != v.ProwlerVersion || cur.SCFVersion != v.SCFVersion || cur.TemplatesHash != v.TemplatesHash ||
		cur.Counts != v.Counts || !slices.Equal(cur.Problems, v.Problems) {
		v.ImportedAt = clock()
		if err := s.PutCatalogVersion(ctx, v); err != nil {
			return w, deprecated, err
		}
		w.Version = 1
	}
	return w, deprecated, nil
}

func (h *Handler) applySCF(ctx context.Context, cat *catalog.Catalog, w *citadel.CatalogWrites) error {
	s := h.Store
	storedCtl, err := s.ListSCFControls(ctx)
	if err != nil {
		return err
	}
	ctls, _ := diff.Changed(storedCtl, cat.SCF.Controls, func(c citadel.SCFControl) string { return c.ID },
		func(o, c citadel.SCFControl) bool { return o == c })
	w.SCFControls = len(ctls)
	if err := s.PutSCFControls(ctx, ctls); err != nil {
		return err
	}

	storedMaps, err := s.ListSCFMappings(ctx)
	if err != nil {
		return err
	}
	maps, staleMaps := diff.Changed(storedMaps, cat.Mappings, func(m citadel.SCFFrameworkMapping) string { return m.SCFID + "|" + m.RequirementID },
		func(o, m citadel.SCFFrameworkMapping) bool { return o == m })
	w.SCFMappings, w.SCFMappingsDelete = len(maps), len(staleMaps)
	if err := s.PutSCFMappings(ctx, maps); err != nil {
		return err
	}
	if err := s.DeleteSCFMappings(ctx, staleMaps); err != nil {
		return err
	}

	storedLinks, err := s.ListCheckSCFLinks(ctx)
	if err != nil {
		return err
	}
	links, staleLinks := diff.Changed(storedLinks, cat.Links,
		func(l citadel.CheckSCFLink) string { return fmt.Sprintf("%s|%03d|%s", l.CheckID, l.Rank, l.SCFID) }, same)
	w.Links, w.LinksDeleted = len(links), len(staleLinks)
	// Delete first: a link whose rank changed has a new key, and its old key
	// must be gone before a reader sees both.
	if err := s.DeleteCheckSCFLinks(ctx, staleLinks); err != nil {
		return err
	}
	return s.PutCheckSCFLinks(ctx, links)
}

// open turns a source into a file system: a local directory as it is, an
// s3:// prefix downloaded to a temporary directory (removed by cleanup).
func (h *Handler) open(ctx context.Context, source string, prowler bool) (fsys fs.FS, label string, cleanup func(), err error) {
	noop := func() {}
	what := "SCF"
	if prowler {
		what = "Prowler"
	}
	if source == "" && prowler {
		find := h.FindProwler
		if find == nil {
			find = FindInstalledProwler
		}
		dir, ferr := find(ctx)
		if ferr != nil {
			return nil, "", noop, ferr
		}
		source = dir
	}
	if strings.HasPrefix(source, "s3://") {
		if h.S3 == nil {
			return nil, "", noop, citadel.Invalid("%s source %s: no S3 client configured", what, source)
		}
		dir, err := os.MkdirTemp("", "citadel-catalog-")
		if err != nil {
			return nil, "", noop, fmt.Errorf("temporary folder for %s: %w", source, err)
		}
		cleanup = func() { _ = os.RemoveAll(dir) }
		// Prowler's export must be there; the SCF prefix may be empty
		// (nothing added yet: Prowler alone is imported).
		n, err := download(ctx, h.S3, source, dir)
		if err == nil && n == 0 && prowler {
			err = citadel.Invalid("%s source %s: no catalog files under this prefix", what, source)
		}
		if err != nil {
			cleanup()
			return nil, "", noop, err
		}
		return os.DirFS(dir), source, cleanup, nil
	}
	st, err := os.Stat(source)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", noop, citadel.Invalid("%s source %s: no such directory", what, source)
		}
		return nil, "", noop, citadel.Invalid("%s source %s: %w", what, source, err)
	}
	if !st.IsDir() {
		return nil, "", noop, citadel.Invalid("%s source %s: not a directory", what, source)
	}
	return os.DirFS(source), source, noop, nil
}

// FindInstalledProwler asks Python where the prowler package is: the
// project's .venv first, then python3 on the PATH.
func FindInstalledProwler(ctx context.Context) (string, error) {
	var tried []string
	for _, py := range []string{".venv/bin/python", "python3"} {
		if strings.Contains(py, "/") {
			if _, err := os.Stat(py); err != nil {
				continue
			}
		}
		out, err := exec.CommandContext(ctx, py, "-c", "import prowler, os; print(os.path.dirname(prowler.__file__))").Output()
		if err != nil {
			tried = append(tried, py)
			continue
		}
		dir := strings.TrimSpace(string(out))
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		return dir, nil
	}
	return "", citadel.Invalid("no Prowler source given and no installed Prowler found (tried %s); pass a directory or an s3:// prefix", strings.Join(tried, ", "))
}

// loaded is what the version record says of this import: its counts and
// the problems a deployer should see (GET /catalog).
func loaded(out citadel.CatalogImportOutput, cat *catalog.Catalog) citadel.CatalogVersion {
	v := citadel.CatalogVersion{Counts: citadel.CatalogCounts{
		Checks: out.Checks, DeprecatedChecks: out.DeprecatedChecks, Frameworks: out.Frameworks, Requirements: out.Requirements,
		SCFControls: out.SCFControls, SCFMappings: out.SCFMappings, Links: out.Links, Templates: out.Templates,
	}}
	if cat.SCF == nil {
		v.Problems = append(v.Problems, "no SCF library: no SCF controls or check links (upload it with `citadel catalog add-scf FILE...`); scans use the requirement-based fallback")
	}
	for _, f := range out.SkippedFiles {
		v.Problems = append(v.Problems, "skipped file "+f)
	}
	for _, r := range out.JoinReports {
		if r.Skipped != "" {
			v.Problems = append(v.Problems, fmt.Sprintf("mapping %s joined nothing: %s", r.File, r.Skipped))
		}
	}
	if n := len(out.UnknownChecks); n > 0 {
		v.Problems = append(v.Problems, fmt.Sprintf("%d checks named by framework requirements are not in this Prowler", n))
	}
	return v
}
