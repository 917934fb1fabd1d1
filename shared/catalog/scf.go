package catalog

import (
	"io/fs"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// SCF is the Secure Controls Framework as read from CISO Assistant's
// library files: the controls of scf-<version>.yaml and the STRM mappings
// of every mapping-<framework>-and-scf-<version>.yaml.
type SCF struct {
	Version  string
	File     string
	Controls []citadel.SCFControl // assessable controls, by id
	Mappings []MappingFile        // by file name
	ids      map[string]bool
}

// MappingFile is one STRM mapping file: a framework's requirements mapped to
// SCF controls.
type MappingFile struct {
	File string
	// Framework is the mapping's framework in CISO Assistant's naming
	// (soc2-2017-rev-2022, iso27001-2022 ...).
	Framework  string
	SCFVersion string
	Entries    []MappingEntry
}

// MappingEntry is one line of a mapping file.
type MappingEntry struct {
	Ref          string // the framework's requirement ref as spelled in the file (cc6.1, a.5.15)
	SCFID        string // IAC-06
	Relationship citadel.Relationship
	Line         int
}

// HasControl reports whether id is an SCF control of this library.
func (s *SCF) HasControl(id string) bool { return s.ids[id] }

// ProwlerFrameworkOf maps the framework names of the SCF mapping files to
// Prowler's framework ids (see docs/catalog.md).
var ProwlerFrameworkOf = map[string]string{
	"soc2-2017-rev-2022": "soc2",
	"iso27001-2022":      "iso27001_2022",
	"nist-csf-2.0":       "nist_csf_2.0",
	"cis-controls-v8":    "cis_controls_8.1",
	"pcidss-4_0":         "pci_4.0",
}

// LoadSCF reads the SCF library and mapping files in fsys's root. found is
// false when the folder holds no scf-*.yaml at all (the import then runs on
// Prowler alone); a folder with mapping files but no library is an error.
func LoadSCF(fsys fs.FS) (scf *SCF, found bool, err error) {
	all, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, false, err
	}
	var libs, maps []string
	for _, f := range all {
		switch {
		case strings.HasPrefix(f, "mapping-"):
			maps = append(maps, f)
		case strings.HasPrefix(f, "scf-"):
			libs = append(libs, f)
		}
	}
	switch {
	case len(libs) == 0 && len(maps) == 0:
		return nil, false, nil
	case len(libs) == 0:
		return nil, false, citadel.Invalid("SCF folder has mapping files (%s ...) but no scf-<version>.yaml library", maps[0])
	case len(libs) > 1:
		return nil, false, citadel.Invalid("SCF folder has more than one library: %s", strings.Join(libs, ", "))
	}
	scf, err = parseLibrary(fsys, libs[0])
	if err != nil {
		return nil, false, err
	}
	for _, f := range maps {
		mf, err := parseMapping(fsys, f, scf)
		if err != nil {
			return nil, false, err
		}
		scf.Mappings = append(scf.Mappings, mf)
	}
	return scf, true, nil
}

type libraryHeader struct {
	URN     string `yaml:"urn"`
	RefID   string `yaml:"ref_id"`
	Objects struct {
		Framework *struct {
			URN              string      `yaml:"urn"`
			RefID            string      `yaml:"ref_id"`
			RequirementNodes []yaml.Node `yaml:"requirement_nodes"`
		} `yaml:"framework"`
	} `yaml:"objects"`
}

type reqNode struct {
	URN         string `yaml:"urn"`
	Assessable  bool   `yaml:"assessable"`
	ParentURN   string `yaml:"parent_urn"`
	RefID       string `yaml:"ref_id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

func decodeYAML(fsys fs.FS, file string, v any) error {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return citadel.Invalid("read %s: %w", file, err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		// yaml errors already carry "line N".
		return citadel.Invalid("%s: invalid YAML: %v", file, err)
	}
	return nil
}

func parseLibrary(fsys fs.FS, file string) (*SCF, error) {
	var h libraryHeader
	if err := decodeYAML(fsys, file, &h); err != nil {
		return nil, err
	}
	fw := h.Objects.Framework
	if !strings.HasPrefix(h.URN, "urn:intuitem:risk:library:scf-") || fw == nil || len(fw.RequirementNodes) == 0 {
		return nil, citadel.Invalid("%s: not an SCF library (want urn urn:intuitem:risk:library:scf-<version> and objects.framework.requirement_nodes; got urn %q)", file, h.URN)
	}
	s := &SCF{Version: strings.TrimPrefix(h.RefID, "scf-"), File: file, ids: map[string]bool{}}
	domains := map[string]string{}
	var nodes []reqNode
	for _, n := range fw.RequirementNodes {
		var r reqNode
		if err := n.Decode(&r); err != nil {
			return nil, citadel.Invalid("%s:%d: requirement node: %v", file, n.Line, err)
		}
		if r.URN == "" {
			return nil, citadel.Invalid("%s:%d: requirement node without urn", file, n.Line)
		}
		if !r.Assessable {
			domains[r.URN] = r.Name
			continue
		}
		if r.RefID == "" {
			return nil, citadel.Invalid("%s:%d: assessable requirement node %s without ref_id", file, n.Line, r.URN)
		}
		if s.ids[r.RefID] {
			return nil, citadel.Invalid("%s:%d: SCF control %s is defined twice", file, n.Line, r.RefID)
		}
		s.ids[r.RefID] = true
		nodes = append(nodes, r)
	}
	for _, r := range nodes {
		s.Controls = append(s.Controls, citadel.SCFControl{
			ID: r.RefID, Domain: domains[r.ParentURN], Title: r.Name,
			Description: r.Description, Version: s.Version,
		})
	}
	sort.Slice(s.Controls, func(i, j int) bool { return s.Controls[i].ID < s.Controls[j].ID })
	return s, nil
}

type mappingHeader struct {
	URN     string `yaml:"urn"`
	Objects struct {
		Sets []struct {
			Source   string      `yaml:"source_framework_urn"`
			Target   string      `yaml:"target_framework_urn"`
			Mappings []yaml.Node `yaml:"requirement_mappings"`
		} `yaml:"requirement_mapping_sets"`
	} `yaml:"objects"`
}

type mappingLine struct {
	Source       string `yaml:"source_requirement_urn"`
	Target       string `yaml:"target_requirement_urn"`
	Relationship string `yaml:"relationship"`
}

const frameworkURN = "urn:intuitem:risk:framework:"

// urnRef splits urn:intuitem:risk:req_node:<framework>:<ref>.
func urnRef(urn string) (framework, ref string, ok bool) {
	rest, found := strings.CutPrefix(urn, "urn:intuitem:risk:req_node:")
	if !found {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

func isSCFFramework(name string) bool { return strings.HasPrefix(name, "scf-") }

func parseMapping(fsys fs.FS, file string, scf *SCF) (MappingFile, error) {
	var h mappingHeader
	if err := decodeYAML(fsys, file, &h); err != nil {
		return MappingFile{}, err
	}
	if len(h.Objects.Sets) == 0 {
		return MappingFile{}, citadel.Invalid("%s: not an SCF mapping library (no objects.requirement_mapping_sets)", file)
	}
	mf := MappingFile{File: file}
	// A file holds the mapping and usually its "-revert" set (the same pairs
	// the other way round); both must pair one framework with SCF.
	for _, set := range h.Objects.Sets {
		if err := parseMappingSet(file, set.Source, set.Target, set.Mappings, scf, &mf); err != nil {
			return mf, err
		}
	}
	return mf, nil
}

func parseMappingSet(file, source, target string, lines []yaml.Node, scf *SCF, mf *MappingFile) error {
	src, tgt := strings.TrimPrefix(source, frameworkURN), strings.TrimPrefix(target, frameworkURN)
	var fw, ver string
	switch {
	case isSCFFramework(tgt) && !isSCFFramework(src):
		fw, ver = src, strings.TrimPrefix(tgt, "scf-")
	case isSCFFramework(src) && !isSCFFramework(tgt):
		fw, ver = tgt, strings.TrimPrefix(src, "scf-")
	default:
		return citadel.Invalid("%s: not an SCF mapping: exactly one side must be an SCF framework (source %q, target %q)", file, source, target)
	}
	if mf.Framework != "" && (mf.Framework != fw || mf.SCFVersion != ver) {
		return citadel.Invalid("%s: mapping sets disagree: %s/scf-%s and %s/scf-%s", file, mf.Framework, mf.SCFVersion, fw, ver)
	}
	mf.Framework, mf.SCFVersion = fw, ver
	for _, n := range lines {
		var l mappingLine
		if err := n.Decode(&l); err != nil {
			return citadel.Invalid("%s:%d: mapping: %v", file, n.Line, err)
		}
		e := MappingEntry{Relationship: citadel.Relationship(l.Relationship), Line: n.Line}
		if !e.Relationship.Valid() {
			return citadel.Invalid("%s:%d: relationship %q is not equal, subset, superset or intersect", file, n.Line, l.Relationship)
		}
		var scfRef string
		for _, urn := range []string{l.Source, l.Target} {
			fw, ref, ok := urnRef(urn)
			if !ok {
				return citadel.Invalid("%s:%d: %q is not a requirement urn", file, n.Line, urn)
			}
			if isSCFFramework(fw) {
				scfRef = ref
			} else {
				e.Ref = ref
			}
		}
		if scfRef == "" || e.Ref == "" {
			return citadel.Invalid("%s:%d: a mapping needs one SCF and one %s requirement", file, n.Line, mf.Framework)
		}
		e.SCFID = strings.ToUpper(scfRef)
		if !scf.HasControl(e.SCFID) {
			return citadel.Invalid("%s:%d: unknown SCF control %s (not in %s)", file, n.Line, e.SCFID, scf.File)
		}
		mf.Entries = append(mf.Entries, e)
	}
	return nil
}

// mappingName is a mapping file's name without its folder, for reports.
func mappingName(f string) string { return path.Base(f) }
