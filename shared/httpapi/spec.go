package httpapi

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPI returns the API's OpenAPI 3 document as it is embedded.
func OpenAPI() []byte { return bytes.Clone(openAPIDocument) }

// LoadSpec parses and validates the embedded OpenAPI document.
func LoadSpec(ctx context.Context) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate openapi.yaml: %w", err)
	}
	return doc, nil
}

// Operation finds the operation of the document for a method and a path
// template (/integrations/{id}), as a route for request validation.
func Operation(doc *openapi3.T, method, path string) (*routers.Route, error) {
	item := doc.Paths.Value(path)
	if item == nil {
		return nil, fmt.Errorf("openapi.yaml has no path %s", path)
	}
	op := item.GetOperation(method)
	if op == nil {
		return nil, fmt.Errorf("openapi.yaml has no operation %s %s", method, path)
	}
	return &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}, nil
}

// Operations lists every "METHOD /path" of the document.
func Operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	return out
}

// validationOptions validates requests as API Gateway hands them over:
// authentication is API Gateway's job (IAM or JWT), so the security
// requirement is not checked here.
func validationOptions() *openapi3filter.Options {
	o := &openapi3filter.Options{
		AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
		RejectWhenRequestBodyNotSpecified: true,
	}
	o.WithCustomSchemaErrorFunc(schemaErrorMessage)
	return o
}

// schemaErrorMessage names the field and the reason, never the schema or
// the value (which may be long or sensitive).
func schemaErrorMessage(err *openapi3.SchemaError) string {
	reason := err.Reason
	if reason == "" {
		reason = "does not match the schema's " + err.SchemaField
	}
	p := err.JSONPointer()
	if len(p) > 0 && p[0] == "frameworks" || len(p) == 0 && strings.Contains(reason, `"frameworks"`) {
		reason += "; " + frameworksHint
	}
	if len(p) > 0 {
		return fmt.Sprintf("field %q: %s", strings.Join(p, "."), reason)
	}
	return reason
}

// validationMessage turns a request validation error into one line for the
// caller.
func validationMessage(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return err.Error()
	}
	if re.RequestBody != nil && errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return "request body: a JSON body is required"
	}
	reason := re.Reason
	if re.Err != nil {
		inner := innerMessage(re.Err)
		if reason == "" || reason == inner {
			reason = inner
		} else {
			reason += ": " + inner
		}
	}
	switch {
	case re.Parameter != nil:
		return fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, re.Parameter.Name, reason)
	case re.RequestBody != nil:
		return "request body: " + reason
	}
	return reason
}

func innerMessage(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		parts := make([]string, 0, len(me))
		for _, e := range me {
			parts = append(parts, innerMessage(e))
		}
		return strings.Join(parts, "; ")
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		msg := pe.Reason
		if pe.Cause != nil {
			if msg != "" {
				msg += ": "
			}
			msg += pe.Cause.Error()
		}
		if msg == "" {
			msg = pe.Error()
		}
		return msg
	}
	return err.Error()
}
