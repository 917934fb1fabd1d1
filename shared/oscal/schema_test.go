package oscal

import (
	"bytes"
	"os"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaFile is NIST's OSCAL 1.2.2 complete schema (testdata/SCHEMA.md).
const schemaFile = "testdata/oscal_complete_schema-1.2.2.json"

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// oscalSchema compiles the schema once. Draft-07 asserts formats in this
// library by default; the schema's patterns all compile with Go's regexp,
// so the default regexp engine is kept (SCHEMA.md).
func oscalSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		f, err := os.Open(schemaFile)
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		c.AssertContent()
		if schemaErr = c.AddResource("oscal_complete_schema.json", doc); schemaErr != nil {
			return
		}
		schema, schemaErr = c.Compile("oscal_complete_schema.json")
	})
	if schemaErr != nil {
		t.Fatalf("compiling %s: %v", schemaFile, schemaErr)
	}
	return schema
}

// validate checks a document against the schema.
func validate(t *testing.T, doc []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	return oscalSchema(t).Validate(inst)
}
