package catalog

import (
	"io/fs"
	"math"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Catalog is everything an import stores, parsed and validated.
type Catalog struct {
	Prowler       *Prowler
	SCF           *SCF // nil when no SCF files were given
	Mappings      []citadel.SCFFrameworkMapping
	JoinReports   []JoinReport
	Links         []citadel.CheckSCFLink
	LinkStats     LinkStats
	Templates     []citadel.ReferenceControl
	TemplatesHash string
}

// Options tune Build.
type Options struct {
	ProwlerVersion string // recorded on checks; detected when empty
	Links          LinkOptions
	// ProwlerLabel and SCFLabel name the sources in errors (a directory or
	// an s3:// prefix).
	ProwlerLabel, SCFLabel string
}

func label(what, name string, err error) error {
	if name == "" {
		return err
	}
	return citadel.Invalid("%s source %s: %w", what, name, err)
}

// Build parses a Prowler folder and, when scfFS is not nil, an SCF folder,
// joins them, scores the check → SCF links and loads the policy templates.
// It returns the first problem found, naming the file and the place; it
// never returns a partial catalog.
func Build(prowlerFS, scfFS fs.FS, opt Options) (*Catalog, error) {
	p, err := LoadProwler(prowlerFS, opt.ProwlerVersion)
	if err != nil {
		return nil, label("Prowler", opt.ProwlerLabel, err)
	}
	c := &Catalog{Prowler: p}
	c.Templates, c.TemplatesHash, err = Templates()
	if err != nil {
		return nil, err
	}
	if scfFS == nil {
		return c, nil
	}
	scf, found, err := LoadSCF(scfFS)
	if err != nil {
		return nil, label("SCF", opt.SCFLabel, err)
	}
	if !found {
		return c, nil
	}
	if err := CheckTemplates(c.Templates, scf); err != nil {
		return nil, label("SCF", opt.SCFLabel, err)
	}
	c.SCF = scf
	c.Mappings, c.JoinReports = Join(p, scf)
	// Every join candidate, then the ranking keeps what the check is about.
	cands := Candidates(p.Checks, p.Requirements, c.Mappings, JoinOptions{MaxPerCheck: math.MaxInt, MinShare: -1})
	if c.Links, err = Rank(p.Checks, scf.Controls, cands, opt.Links); err != nil {
		return nil, err
	}
	c.LinkStats = Stats(p.Checks, c.Mappings, c.Links)
	return c, nil
}

// LinksJSON is the links as `citadel catalog links` prints them: check id →
// SCF ids, best first.
func LinksJSON(links []citadel.CheckSCFLink) map[string][]string {
	out := map[string][]string{}
	for _, l := range links {
		out[l.CheckID] = append(out[l.CheckID], l.SCFID)
	}
	return out
}
