// Package ddb is Citadel's DynamoDB store: one table, single-table design, on
// github.com/guregu/dynamo. schema.go is the one source of the table's keys,
// indexes and TTL (the CDK table reads it too); keys.go is the only place
// where a key is built; each entity has a file of its own. docs/data-model.md
// lists every access pattern with the method here that serves it.
package ddb
