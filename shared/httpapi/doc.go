// Package httpapi is Citadel's HTTP API as net/http handlers: integrations,
// their schedules and what their scanner role may read (shared/verify),
// scans (started through Step Functions), assets, applied controls, evidence
// and its review, frameworks, their coverage, requirement assessments, and
// the catalog's checks and their links.
//
// The OpenAPI 3 document (openapi.yaml, embedded) is the contract: every
// request is validated against it before a handler runs, and the routes of
// the ServeMux and the operations of the document must match one for one
// (New fails otherwise). Errors answer {"error": code, "message": reason}
// with the status of the citadel error code: invalid 400, not_found 404,
// conflict 409, anything else 500. A bad request is always a 4xx.
//
// Handlers depend on small interfaces (Integrations, Scans, ...) that the
// DynamoDB store satisfies; functions/api wires the real ones.
package httpapi
