// Package mutelist reads a Prowler AWS mutelist (the YAML file of Prowler's
// --mutelist-file: Mutelist → Accounts → Checks → Regions, Resources, Tags,
// Exceptions, Description) and translates its entries into Citadel exception
// requests for one integration (citadel.ExceptionRequest). A translation is
// exact or it is refused: an exception never covers more than the mute it
// comes from, and whatever Citadel's scopes (one asset by ARN, every asset
// of the integration, one tag) cannot express is reported with its reason.
// The rules are docs/cli.md's "Importing a Prowler mutelist"; the citadel
// CLI's `exceptions import-mutelist` sends the requests.
package mutelist

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// File is a parsed mutelist: its entries in the file's order.
type File struct {
	Entries []Entry
}

// Entry is one check of one account of the mutelist, as written: Prowler
// mutes a finding of Account ("*": every account) and Check (a name, "*"
// or a regular expression) when its region matches one of Regions, its
// resource one of Resources, its tags every one of Tags, and Exceptions
// does not carve it out.
type Entry struct {
	Line        int // the line of the check's key
	Account     string
	Check       string
	Regions     []string
	Resources   []string
	Tags        []string
	Exceptions  Carveouts
	Description string
}

// Carveouts is an entry's Exceptions block: the accounts, regions,
// resources and tags its mute does not apply to.
type Carveouts struct {
	Accounts, Regions, Resources, Tags []string
}

// Empty says whether the block carves nothing out.
func (c Carveouts) Empty() bool {
	return len(c.Accounts) == 0 && len(c.Regions) == 0 && len(c.Resources) == 0 && len(c.Tags) == 0
}

// Parse reads a mutelist. Like Prowler's schema it takes, under the
// top-level Mutelist key (other top-level keys are Prowler's to ignore),
// only Accounts, each account only Checks, each check Regions and
// Resources (required), Tags, Exceptions and Description; anything else,
// a repeated key or a value of the wrong shape is an invalid error naming
// its line (Prowler would drop the whole file).
func Parse(r io.Reader) (File, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return File{}, citadel.Invalid("mutelist: the file is empty")
		}
		return File{}, citadel.Invalid("mutelist: not YAML: %v", err)
	}
	var f File
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = deref(root.Content[0])
	}
	top, err := mapping(root, "the document", nil)
	if err != nil {
		return f, err
	}
	ml, ok := top.get("Mutelist")
	if !ok {
		return f, invalidAt(root, "the document has no top-level Mutelist key")
	}
	m, err := mapping(ml, "Mutelist", []string{"Accounts"})
	if err != nil {
		return f, err
	}
	accounts, ok := m.get("Accounts")
	if !ok {
		return f, invalidAt(ml, "Mutelist has no Accounts")
	}
	accts, err := mapping(accounts, "Accounts", nil)
	if err != nil {
		return f, err
	}
	for _, a := range accts {
		checks, err := accountChecks(a)
		if err != nil {
			return f, err
		}
		for _, c := range checks {
			e, err := entry(a.key, c)
			if err != nil {
				return f, err
			}
			f.Entries = append(f.Entries, e)
		}
	}
	return f, nil
}

// accountChecks is the Checks mapping of one account.
func accountChecks(a pair) (pairs, error) {
	what := fmt.Sprintf("account %q", a.key)
	acct, err := mapping(a.value, what, []string{"Checks"})
	if err != nil {
		return nil, err
	}
	checks, ok := acct.get("Checks")
	if !ok {
		return nil, invalidAt(a.value, what+" has no Checks")
	}
	return mapping(checks, what+" Checks", nil)
}

// entry reads one check's block.
func entry(account string, c pair) (Entry, error) {
	e := Entry{Line: c.line, Account: account, Check: c.key}
	what := fmt.Sprintf("account %q check %q", account, c.key)
	m, err := mapping(c.value, what, []string{"Regions", "Resources", "Tags", "Exceptions", "Description"})
	if err != nil {
		return e, err
	}
	for _, req := range []string{"Regions", "Resources"} {
		if _, ok := m.get(req); !ok {
			return e, invalidAt(c.value, what+" has no "+req+" (Prowler requires it)")
		}
	}
	if err := lists(m, what+" ", []namedList{{"Regions", &e.Regions}, {"Resources", &e.Resources}, {"Tags", &e.Tags}}); err != nil {
		return e, err
	}
	if v, ok := m.get("Description"); ok {
		if v.Kind != yaml.ScalarNode {
			return e, invalidAt(v, what+" Description must be a string")
		}
		e.Description = v.Value
	}
	if v, ok := m.get("Exceptions"); ok {
		ex, err := mapping(v, what+" Exceptions", []string{"Accounts", "Regions", "Resources", "Tags"})
		if err != nil {
			return e, err
		}
		c := &e.Exceptions
		if err := lists(ex, what+" Exceptions ", []namedList{{"Accounts", &c.Accounts}, {"Regions", &c.Regions},
			{"Resources", &c.Resources}, {"Tags", &c.Tags}}); err != nil {
			return e, err
		}
	}
	return e, nil
}

// pair is one key of a mapping, its value and its line.
type pair struct {
	key   string
	value *yaml.Node
	line  int
}

type pairs []pair

func (ps pairs) get(key string) (*yaml.Node, bool) {
	for _, p := range ps {
		if p.key == key {
			return p.value, true
		}
	}
	return nil, false
}

// mapping reads n as a mapping of scalar keys, in order; allowed (when
// not nil) are the only keys it may hold. A repeated key is an error.
func mapping(n *yaml.Node, what string, allowed []string) (pairs, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, invalidAt(n, what+" must be a mapping")
	}
	var ps pairs
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nil, invalidAt(k, what+": a key must be a string")
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			return nil, invalidAt(k, fmt.Sprintf("%s: unknown key %q (it takes %v)", what, k.Value, allowed))
		}
		if _, dup := ps.get(k.Value); dup {
			return nil, invalidAt(k, fmt.Sprintf("%s: key %q is repeated", what, k.Value))
		}
		ps = append(ps, pair{key: k.Value, value: n.Content[i+1], line: k.Line})
	}
	return ps, nil
}

// namedList is a key whose value is a list of strings, and where it goes.
type namedList struct {
	key string
	dst *[]string
}

// lists reads the keys of m that are lists, in order.
func lists(m pairs, what string, keys []namedList) error {
	for _, k := range keys {
		if v, ok := m.get(k.key); ok {
			l, err := list(v, what+k.key)
			if err != nil {
				return err
			}
			*k.dst = l
		}
	}
	return nil
}

// list reads n as a sequence of strings.
func list(n *yaml.Node, what string) ([]string, error) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return nil, invalidAt(n, what+" must be a list")
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
			return nil, invalidAt(item, what+": every item must be a string")
		}
		out = append(out, item.Value)
	}
	return out, nil
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func invalidAt(n *yaml.Node, msg string) error {
	return citadel.Invalid("mutelist line %d: %s", n.Line, msg)
}
