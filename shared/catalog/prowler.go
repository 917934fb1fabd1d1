// Package catalog parses the sources of Citadel's catalog and derives what
// the scans join against: Prowler's AWS check metadata and compliance files
// (both the AWS schema and the multi-provider lowercase schema), the Secure
// Controls Framework library and its STRM mapping files in CISO Assistant's
// library format, the join of those mappings to Prowler's requirements
// (requirement-id normalisation and a join-rate report), the scored
// check → SCF links, and the project's own policy templates.
//
// Everything here is pure: it reads an fs.FS and returns values, so the
// importer can parse and validate every file before it writes anything.
package catalog

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Layout is how a Prowler folder is organised.
type Layout string

const (
	// LayoutInstalled is the installed Python package's prowler/ folder:
	// providers/aws/services/*/*/*.metadata.json, compliance/aws/*.json and
	// the multi-provider compliance/*.json. The Prowler task exports the same
	// layout to S3.
	LayoutInstalled Layout = "installed"
	// LayoutFlat is the reference data's layout: checks/*.metadata.json,
	// compliance/aws/*.json, compliance/multi/*.json.
	LayoutFlat Layout = "flat"
)

// Prowler is what a Prowler folder holds for AWS.
type Prowler struct {
	Version      string
	Layout       Layout
	Checks       []citadel.SecurityCheck   // by id; MappedRequirements filled
	Frameworks   []citadel.Framework       // by id
	Requirements []citadel.RequirementNode // by id
	// UnknownChecks are check ids that compliance files list but that have
	// no metadata, each with the requirements that list it.
	UnknownChecks map[string][]string
	// DuplicateRequirements are requirement ids a file lists more than once
	// (merged: their checks are united).
	DuplicateRequirements []string
	// SkippedFiles are multi-provider compliance files without AWS checks.
	SkippedFiles []string
	// joinKeys holds, per requirement id, the spellings the SCF join tries.
	joinKeys map[string][]string
}

// DetectLayout tells which layout fsys has.
func DetectLayout(fsys fs.FS) (Layout, error) {
	if st, err := fs.Stat(fsys, "providers/aws/services"); err == nil && st.IsDir() {
		return LayoutInstalled, nil
	}
	if st, err := fs.Stat(fsys, "checks"); err == nil && st.IsDir() {
		return LayoutFlat, nil
	}
	return "", citadel.Invalid("not a Prowler folder: neither providers/aws/services/ (installed layout) nor checks/ (flat layout) exists")
}

// versionRE finds the version in Prowler's config/config.py.
var versionRE = regexp.MustCompile(`(?m)^prowler_version\s*=\s*["']([^"']+)["']`)

// ProwlerVersionInConfig reads the version Prowler's config/config.py
// declares (prowler_version = "5.7.5"); "" when it declares none. The
// catalog import and the Prowler task (shared/steps/prowler) both read it here.
func ProwlerVersionInConfig(src []byte) string {
	if m := versionRE.FindSubmatch(src); m != nil {
		return string(m[1])
	}
	return ""
}

// DetectProwlerVersion reads the version from version.json (written last by
// the Prowler task's catalog export: {"prowler_version": ...}),
// config/config.py (installed layout) or a VERSION file; "" when none says.
func DetectProwlerVersion(fsys fs.FS) string {
	if b, err := fs.ReadFile(fsys, "version.json"); err == nil {
		var v struct {
			ProwlerVersion string `json:"prowler_version"`
		}
		if json.Unmarshal(b, &v) == nil && v.ProwlerVersion != "" {
			return v.ProwlerVersion
		}
	}
	if b, err := fs.ReadFile(fsys, "config/config.py"); err == nil {
		if v := ProwlerVersionInConfig(b); v != "" {
			return v
		}
	}
	if b, err := fs.ReadFile(fsys, "VERSION"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

// LoadProwler parses a Prowler folder (either layout). version is recorded
// on every check; when empty it is detected (DetectProwlerVersion).
func LoadProwler(fsys fs.FS, version string) (*Prowler, error) {
	layout, err := DetectLayout(fsys)
	if err != nil {
		return nil, err
	}
	if version == "" {
		version = DetectProwlerVersion(fsys)
	}
	p := &Prowler{Version: version, Layout: layout, UnknownChecks: map[string][]string{}, joinKeys: map[string][]string{}}

	metaGlob, multiGlob := "checks/*.metadata.json", "compliance/multi/*.json"
	if layout == LayoutInstalled {
		metaGlob, multiGlob = "providers/aws/services/*/*/*.metadata.json", "compliance/*.json"
	}
	metas, err := fs.Glob(fsys, metaGlob)
	if err != nil {
		return nil, err
	}
	if len(metas) == 0 {
		return nil, citadel.Invalid("Prowler folder has no check metadata (%s)", metaGlob)
	}
	byID := map[string]int{}
	for _, f := range metas {
		c, err := parseMetadata(fsys, f, version)
		if err != nil {
			return nil, err
		}
		if prev, dup := byID[c.ID]; dup {
			return nil, citadel.Invalid("%s: check %s is defined twice (also by the file of %s)", f, c.ID, p.Checks[prev].ID)
		}
		byID[c.ID] = len(p.Checks)
		p.Checks = append(p.Checks, c)
	}

	awsFiles, err := fs.Glob(fsys, "compliance/aws/*.json")
	if err != nil {
		return nil, err
	}
	if len(awsFiles) == 0 {
		return nil, citadel.Invalid("Prowler folder has no AWS compliance files (compliance/aws/*.json)")
	}
	multiFiles, err := fs.Glob(fsys, multiGlob)
	if err != nil {
		return nil, err
	}
	mapped := map[string][]string{} // check id → requirement ids
	seenFw := map[string]string{}
	add := func(f string, fw citadel.Framework, reqs []parsedReq) {
		seen := map[string]int{}
		var nodes []citadel.RequirementNode
		for _, r := range reqs {
			id := citadel.RequirementID(fw.ID, r.id)
			if i, dup := seen[id]; dup {
				p.DuplicateRequirements = append(p.DuplicateRequirements, id)
				nodes[i].Checks = unique(append(nodes[i].Checks, r.checks...))
				continue
			}
			seen[id] = len(nodes)
			name := r.name
			if name == "" {
				name = r.id
			}
			nodes = append(nodes, citadel.RequirementNode{
				ID: id, FrameworkID: fw.ID, RefID: r.id, Name: name, Description: r.description,
				Assessable: true, Weight: 1, Checks: unique(r.checks),
			})
			p.joinKeys[id] = r.joinKeys
		}
		for i := range nodes {
			known := nodes[i].Checks[:0]
			for _, c := range nodes[i].Checks {
				if _, ok := byID[c]; !ok {
					p.UnknownChecks[c] = append(p.UnknownChecks[c], nodes[i].ID)
					continue
				}
				known = append(known, c)
				mapped[c] = append(mapped[c], nodes[i].ID)
			}
			if len(known) == 0 {
				known = nil
			}
			nodes[i].Checks = known
		}
		fw.RequirementCount = len(nodes)
		seenFw[fw.ID] = f
		p.Frameworks = append(p.Frameworks, fw)
		p.Requirements = append(p.Requirements, nodes...)
	}
	for _, f := range awsFiles {
		fw, reqs, err := parseAWSCompliance(fsys, f)
		if err != nil {
			return nil, err
		}
		if other, dup := seenFw[fw.ID]; dup {
			return nil, citadel.Invalid("%s: framework id %s is also the id of %s", f, fw.ID, other)
		}
		add(f, fw, reqs)
	}
	for _, f := range multiFiles {
		fw, reqs, hasAWS, err := parseMultiCompliance(fsys, f)
		if err != nil {
			return nil, err
		}
		if !hasAWS {
			p.SkippedFiles = append(p.SkippedFiles, f)
			continue
		}
		if other, dup := seenFw[fw.ID]; dup {
			return nil, citadel.Invalid("%s: framework id %s is also the id of %s", f, fw.ID, other)
		}
		add(f, fw, reqs)
	}
	for i := range p.Checks {
		if reqs := mapped[p.Checks[i].ID]; len(reqs) > 0 {
			p.Checks[i].MappedRequirements = unique(reqs)
		}
	}
	sort.Slice(p.Checks, func(i, j int) bool { return p.Checks[i].ID < p.Checks[j].ID })
	sort.Slice(p.Frameworks, func(i, j int) bool { return p.Frameworks[i].ID < p.Frameworks[j].ID })
	sort.Slice(p.Requirements, func(i, j int) bool { return p.Requirements[i].ID < p.Requirements[j].ID })
	for c := range p.UnknownChecks {
		p.UnknownChecks[c] = unique(p.UnknownChecks[c])
	}
	sort.Strings(p.DuplicateRequirements)
	return p, nil
}

// UnknownCheckIDs lists the unknown check ids, sorted.
func (p *Prowler) UnknownCheckIDs() []string {
	out := make([]string, 0, len(p.UnknownChecks))
	for c := range p.UnknownChecks {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// FrameworkID is a compliance file's framework id: its name without
// ".json" and without the "_aws" suffix (soc2_aws.json → soc2,
// cis_controls_8.1.json → cis_controls_8.1).
func FrameworkID(file string) string {
	return strings.TrimSuffix(strings.TrimSuffix(path.Base(file), ".json"), "_aws")
}

type metadata struct {
	Provider       string   `json:"Provider"`
	CheckID        string   `json:"CheckID"`
	CheckTitle     string   `json:"CheckTitle"`
	ServiceName    string   `json:"ServiceName"`
	SubServiceName string   `json:"SubServiceName"`
	ResourceType   string   `json:"ResourceType"`
	Severity       string   `json:"Severity"`
	Categories     []string `json:"Categories"`
	Description    string   `json:"Description"`
	Risk           string   `json:"Risk"`
	RelatedURL     string   `json:"RelatedUrl"`
	AdditionalURLs []string `json:"AdditionalURLs"`
	Remediation    struct {
		Code struct {
			CLI       string `json:"CLI"`
			NativeIaC string `json:"NativeIaC"`
			Other     string `json:"Other"`
			Terraform string `json:"Terraform"`
		} `json:"Code"`
		Recommendation struct {
			Text string `json:"Text"`
			URL  string `json:"Url"`
		} `json:"Recommendation"`
	} `json:"Remediation"`
}

// deprecatedPrefix marks a check Prowler has deprecated but still ships.
const deprecatedPrefix = "[DEPRECATED]"

func parseMetadata(fsys fs.FS, file, version string) (citadel.SecurityCheck, error) {
	var m metadata
	if err := readJSON(fsys, file, &m); err != nil {
		return citadel.SecurityCheck{}, err
	}
	if m.Provider != "" && !strings.EqualFold(m.Provider, "aws") {
		return citadel.SecurityCheck{}, citadel.Invalid("%s: provider %q is not aws", file, m.Provider)
	}
	want := strings.TrimSuffix(path.Base(file), ".metadata.json")
	if m.CheckID != want {
		return citadel.SecurityCheck{}, citadel.Invalid("%s: CheckID %q does not match the file name", file, m.CheckID)
	}
	c := citadel.SecurityCheck{
		ID: m.CheckID, Title: m.CheckTitle, Service: m.ServiceName, SubService: m.SubServiceName,
		ResourceType: m.ResourceType, Severity: citadel.Severity(strings.ToLower(m.Severity)),
		Categories: nonEmpty(m.Categories), Description: m.Description, Risk: m.Risk,
		Remediation: citadel.Remediation{
			Text: m.Remediation.Recommendation.Text, URL: m.Remediation.Recommendation.URL,
			CLI: m.Remediation.Code.CLI, Terraform: m.Remediation.Code.Terraform,
			NativeIaC: m.Remediation.Code.NativeIaC, Other: m.Remediation.Code.Other,
		},
		RelatedURLs:    relatedURLs(m.RelatedURL, m.AdditionalURLs),
		Deprecated:     strings.HasPrefix(strings.TrimSpace(m.CheckTitle), deprecatedPrefix),
		ProwlerVersion: version,
	}
	if err := c.Validate(); err != nil {
		return citadel.SecurityCheck{}, citadel.Invalid("%s: %v", file, err)
	}
	return c, nil
}

type parsedReq struct {
	id, name, description string
	checks                []string
	joinKeys              []string
}

type awsCompliance struct {
	Framework    *string `json:"Framework"`
	Name         string  `json:"Name"`
	Version      string  `json:"Version"`
	Provider     string  `json:"Provider"`
	Description  string  `json:"Description"`
	Requirements []struct {
		ID          string           `json:"Id"`
		Name        string           `json:"Name"`
		Description string           `json:"Description"`
		Attributes  []map[string]any `json:"Attributes"`
		Checks      []string         `json:"Checks"`
	} `json:"Requirements"`
}

func parseAWSCompliance(fsys fs.FS, file string) (citadel.Framework, []parsedReq, error) {
	var c awsCompliance
	if err := readJSON(fsys, file, &c); err != nil {
		return citadel.Framework{}, nil, err
	}
	if c.Framework == nil || c.Requirements == nil {
		return citadel.Framework{}, nil, citadel.Invalid("%s: not a Prowler AWS compliance file (no Framework or Requirements)", file)
	}
	fw := citadel.Framework{
		ID: FrameworkID(file), Name: c.Name, Version: c.Version, Provider: c.Provider,
		Description: c.Description, Source: "prowler",
	}
	reqs := make([]parsedReq, 0, len(c.Requirements))
	for i, r := range c.Requirements {
		if strings.TrimSpace(r.ID) == "" {
			return fw, nil, citadel.Invalid("%s: Requirements[%d] has no Id", file, i)
		}
		var attrs map[string]any
		if len(r.Attributes) > 0 {
			attrs = r.Attributes[0]
		}
		reqs = append(reqs, parsedReq{
			id: r.ID, name: r.Name, description: r.Description, checks: r.Checks,
			joinKeys: joinCandidates(r.ID, r.Name, attrs),
		})
	}
	return fw, reqs, nil
}

type multiCompliance struct {
	Framework    *string `json:"framework"`
	Name         string  `json:"name"`
	Version      string  `json:"version"`
	Description  string  `json:"description"`
	Requirements []struct {
		ID          string              `json:"id"`
		Name        string              `json:"name"`
		Description string              `json:"description"`
		Attributes  map[string]any      `json:"attributes"`
		Checks      map[string][]string `json:"checks"`
	} `json:"requirements"`
}

func parseMultiCompliance(fsys fs.FS, file string) (citadel.Framework, []parsedReq, bool, error) {
	var c multiCompliance
	if err := readJSON(fsys, file, &c); err != nil {
		return citadel.Framework{}, nil, false, err
	}
	if c.Framework == nil || c.Requirements == nil {
		return citadel.Framework{}, nil, false, citadel.Invalid("%s: not a Prowler multi-provider compliance file (no framework or requirements)", file)
	}
	fw := citadel.Framework{
		ID: FrameworkID(file), Name: c.Name, Version: c.Version, Provider: "multi",
		Description: c.Description, Source: "prowler",
	}
	hasAWS := false
	reqs := make([]parsedReq, 0, len(c.Requirements))
	for i, r := range c.Requirements {
		if strings.TrimSpace(r.ID) == "" {
			return fw, nil, false, citadel.Invalid("%s: requirements[%d] has no id", file, i)
		}
		if _, ok := r.Checks["aws"]; ok {
			hasAWS = true
		}
		reqs = append(reqs, parsedReq{
			id: r.ID, name: r.Name, description: r.Description, checks: r.Checks["aws"],
			joinKeys: joinCandidates(r.ID, r.Name, r.Attributes),
		})
	}
	return fw, reqs, hasAWS, nil
}

// readJSON decodes a JSON file; a syntax or type error names the file, the
// line and the column.
func readJSON(fsys fs.FS, file string, v any) error {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return citadel.Invalid("read %s: %w", file, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			line, col := lineCol(b, syn.Offset)
			return citadel.Invalid("%s:%d:%d: invalid JSON: %v", file, line, col, err)
		case errors.As(err, &typ):
			line, col := lineCol(b, typ.Offset)
			return citadel.Invalid("%s:%d:%d: field %s: %v", file, line, col, typ.Field, err)
		}
		return citadel.Invalid("%s: invalid JSON: %v", file, err)
	}
	return nil
}

func lineCol(b []byte, off int64) (int, int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func unique(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(xs))
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// relatedURLs are a check's RelatedUrl (when set) then its AdditionalURLs,
// each once.
func relatedURLs(related string, additional []string) []string {
	var out []string
	for _, u := range append([]string{related}, additional...) {
		if u = strings.TrimSpace(u); u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

func nonEmpty(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
