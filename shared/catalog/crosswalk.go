package catalog

import (
	_ "embed"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// csfCrosswalkYAML is NIST's CSF 1.1 → 2.0 subcategory crosswalk (ids only;
// its source and date are in the file). Prowler's nist_csf_2.0_aws.json names
// most requirements with CSF 1.1 ids, which the SCF mapping of CSF 2.0 does
// not know; Join follows the crosswalk for those (docs/catalog.md).
//
//go:embed csf_1.1_to_2.0.yaml
var csfCrosswalkYAML []byte

// Crosswalk maps a framework's older requirement ids to the ids of the
// version its SCF mapping file uses.
type Crosswalk struct {
	Source    string `yaml:"source"`
	Published string `yaml:"published"`
	// Framework is the Prowler framework id it applies to.
	Framework string              `yaml:"framework"`
	Map       map[string][]string `yaml:"map"`
	// norm is Map with both sides normalised (NormalizeRef).
	norm map[string][]string
}

// parseCrosswalk reads a crosswalk file; every key and target must look like
// a requirement id.
func parseCrosswalk(b []byte) (*Crosswalk, error) {
	var c Crosswalk
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("crosswalk: invalid YAML: %w", err)
	}
	if c.Framework == "" || c.Source == "" || len(c.Map) == 0 {
		return nil, fmt.Errorf("crosswalk: framework, source and map are required")
	}
	c.norm = map[string][]string{}
	for from, tos := range c.Map {
		if !looksLikeRef(from) || len(tos) == 0 {
			return nil, fmt.Errorf("crosswalk %s: %q: want a requirement id with at least one target", c.Framework, from)
		}
		for _, to := range tos {
			if !looksLikeRef(to) {
				return nil, fmt.Errorf("crosswalk %s: %s: target %q is not a requirement id", c.Framework, from, to)
			}
			c.norm[NormalizeRef(from)] = append(c.norm[NormalizeRef(from)], NormalizeRef(to))
		}
	}
	return &c, nil
}

// crosswalks are the embedded crosswalks by Prowler framework id.
var crosswalks = func() map[string]*Crosswalk {
	c, err := parseCrosswalk(csfCrosswalkYAML)
	if err != nil {
		panic(err) // embedded data: TestCrosswalk keeps it valid
	}
	return map[string]*Crosswalk{c.Framework: c}
}()
