package catalog

import (
	_ "embed"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/citadelsecure/citadel/shared/citadel"
)

//go:embed vocabulary.yaml
var vocabularyYAML []byte

// VocabRule adds words a control statement would use (Add) to a check's
// query when one of its cloud words or phrases (When) occurs in the check.
// Unless words or phrases turn the rule off (a log metric filter is about
// alerts, not about producing logs).
// With words, when given, must occur too (one of them): "public" means a
// network path for a cluster and a sharing policy for a bucket.
type VocabRule struct {
	When   []string `yaml:"when"`
	With   []string `yaml:"with,omitempty"`
	Unless []string `yaml:"unless,omitempty"`
	Add    []string `yaml:"add"`
}

// Vocabulary is the cloud → control-statement word list the ranker expands
// queries with (vocabulary.yaml).
type Vocabulary []VocabRule

// ParseVocabulary reads a vocabulary file: `rules:` a list of VocabRule,
// each with at least one when and one add word.
func ParseVocabulary(name string, b []byte) (Vocabulary, error) {
	var f struct {
		Rules Vocabulary `yaml:"rules"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, citadel.Invalid("vocabulary %s: invalid YAML: %v", name, err)
	}
	for i, r := range f.Rules {
		if len(r.When) == 0 || len(r.Add) == 0 {
			return nil, citadel.Invalid("vocabulary %s: rule %d: want when and add words", name, i+1)
		}
		for _, w := range r.When {
			if normWords(w) == "" {
				return nil, citadel.Invalid("vocabulary %s: rule %d: when %q has no word", name, i+1, w)
			}
		}
	}
	return f.Rules, nil
}

// DefaultVocabulary is the embedded vocabulary.yaml.
func DefaultVocabulary() (Vocabulary, error) {
	return ParseVocabulary("vocabulary.yaml", vocabularyYAML)
}

// Expand answers the words the rules add for text, each once, in rule order.
func (v Vocabulary) Expand(text string) []string {
	t := " " + normWords(text) + " "
	seen := map[string]bool{}
	var out []string
	for _, r := range v {
		if !containsAny(t, r.When) || (len(r.With) > 0 && !containsAny(t, r.With)) || containsAny(t, r.Unless) {
			continue
		}
		for _, a := range r.Add {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// containsAny reports whether the normalised text t (spaces around) holds
// one of the words or phrases.
func containsAny(t string, phrases []string) bool {
	for _, w := range phrases {
		if strings.Contains(t, " "+normWords(w)+" ") {
			return true
		}
	}
	return false
}

// normWords lower-cases s and keeps its letters and digits, one space
// between words ("Multi-AZ" → "multi az", "ec2_ebs" → "ec2 ebs").
func normWords(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}
