package catalog

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/citadelsecure/citadel/shared/citadel"
)

//go:embed templates.yaml
var templatesYAML []byte

type templateFile struct {
	Version   int `yaml:"version"`
	Templates []struct {
		Ref         string   `yaml:"ref"`
		Name        string   `yaml:"name"`
		Description string   `yaml:"description"`
		SCF         []string `yaml:"scf"`
	} `yaml:"templates"`
}

// Templates returns Citadel's policy templates (ReferenceControls with
// category policy, by id) and a hash of their source, recorded as the
// catalog's templates version.
func Templates() ([]citadel.ReferenceControl, string, error) {
	return parseTemplates(templatesYAML)
}

func parseTemplates(b []byte) ([]citadel.ReferenceControl, string, error) {
	var f templateFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, "", citadel.Invalid("policy templates: %v", err)
	}
	seen := map[string]bool{}
	out := make([]citadel.ReferenceControl, 0, len(f.Templates))
	for i, t := range f.Templates {
		if t.Ref == "" || t.Name == "" || t.Description == "" || len(t.SCF) == 0 {
			return nil, "", citadel.Invalid("policy templates: template %d (%q) needs ref, name, description and scf", i, t.Ref)
		}
		if seen[t.Ref] {
			return nil, "", citadel.Invalid("policy templates: %s is defined twice", t.Ref)
		}
		seen[t.Ref] = true
		out = append(out, citadel.ReferenceControl{
			ID: t.Ref, Name: t.Name, Description: t.Description,
			Category: citadel.CategoryPolicy, SCFIDs: unique(t.SCF),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	sum := sha256.Sum256(b)
	return out, hex.EncodeToString(sum[:8]), nil
}

// CheckTemplates verifies that every SCF id the templates map to is a
// control of scf.
func CheckTemplates(tpls []citadel.ReferenceControl, scf *SCF) error {
	for _, t := range tpls {
		for _, id := range t.SCFIDs {
			if !scf.HasControl(id) {
				return citadel.Invalid("policy template %s maps to unknown SCF control %s (not in %s)", t.ID, id, scf.File)
			}
		}
	}
	return nil
}
