// Package catalogtest builds reduced catalogs for tests: the reference
// data's Prowler metadata and frameworks, and SCF mappings, cut down to a
// set of checks, so an import takes seconds instead of minutes.
package catalogtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/catalog"
)

// Frameworks are the frameworks the reduced catalog keeps (the HTML
// report's), with their compliance file and SCF mapping file.
var Frameworks = []struct{ id, file, mapping string }{
	{"soc2", "compliance/aws/soc2_aws.json", "mapping-soc2-2017-rev-2022-and-scf-2025.2.2.yaml"},
	{"iso27001_2022", "compliance/aws/iso27001_2022_aws.json", "mapping-iso27001-2022-and-scf-2025.2.2.yaml"},
	{"cis_controls_8.1", "compliance/multi/cis_controls_8.1.json", "mapping-cis-controls-v8-and-scf-2025.2.2.yaml"},
}

// Reduced writes a Prowler folder (flat layout) and an SCF folder
// holding only what the checks need, from the reference data: their
// metadata, the three report frameworks cut down to the requirements that
// list one of them (their check lists cut too), the SCF library, and the
// SCF mappings of those requirements. Importing it takes seconds where the
// whole catalog takes minutes.
func Reduced(t testing.TB, data string, checks []string) (prowlerDir, scfDir string) {
	t.Helper()
	dir := t.TempDir()
	prowlerDir, scfDir = filepath.Join(dir, "prowler"), filepath.Join(dir, "scf")
	for _, d := range []string{"checks", "compliance/aws", "compliance/multi"} {
		if err := os.MkdirAll(filepath.Join(prowlerDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(scfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, c := range checks {
		want[c] = true
		b, err := os.ReadFile(filepath.Join(data, "prowler", "checks", c+".metadata.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(prowlerDir, "checks", c+".metadata.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, fw := range Frameworks {
		b, err := os.ReadFile(filepath.Join(data, "prowler", fw.file))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		reqKey, idKey := "Requirements", "Id"
		if _, ok := doc[reqKey]; !ok {
			reqKey, idKey = "requirements", "id"
		}
		kept := map[string]bool{}
		var reqs []any
		for _, r := range doc[reqKey].([]any) {
			req := r.(map[string]any)
			var list []any
			var set func([]any)
			if cs, ok := req["Checks"].([]any); ok {
				list, set = cs, func(v []any) { req["Checks"] = v }
			} else if m, ok := req["checks"].(map[string]any); ok {
				list, _ = m["aws"].([]any)
				set = func(v []any) { m["aws"] = v }
			}
			var keep []any
			for _, c := range list {
				if want[fmt.Sprint(c)] {
					keep = append(keep, c)
				}
			}
			if len(keep) == 0 {
				continue
			}
			set(keep)
			reqs = append(reqs, req)
			kept[catalog.NormalizeRef(fmt.Sprint(req[idKey]))] = true
		}
		doc[reqKey] = reqs
		out, _ := json.Marshal(doc)
		if err := os.WriteFile(filepath.Join(prowlerDir, fw.file), out, 0o644); err != nil {
			t.Fatal(err)
		}
		writeMappings(t, filepath.Join(data, "scf", fw.mapping), filepath.Join(scfDir, fw.mapping), kept)
	}
	lib, _ := filepath.Glob(filepath.Join(data, "scf", "scf-*.yaml"))
	if len(lib) != 1 {
		t.Fatalf("SCF library: %v", lib)
	}
	if err := os.Symlink(lib[0], filepath.Join(scfDir, filepath.Base(lib[0]))); err != nil {
		t.Fatal(err)
	}
	return prowlerDir, scfDir
}

// writeMappings copies a mapping file keeping only the mappings whose source
// requirement (or a sub-point of it) is kept.
func writeMappings(t testing.TB, from, to string, kept map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	const entry = "    - source_requirement_urn: "
	var out bytes.Buffer
	keep := true
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, entry) {
			urn := strings.TrimSpace(strings.TrimPrefix(line, entry))
			ref := catalog.NormalizeRef(urn[strings.LastIndex(urn, ":")+1:])
			keep = false
			for k := range kept {
				if ref == k || strings.HasPrefix(ref, k+".") {
					keep = true
					break
				}
			}
		}
		if keep {
			out.WriteString(line)
			out.WriteByte('\n')
		}
	}
	if err := os.WriteFile(to, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
