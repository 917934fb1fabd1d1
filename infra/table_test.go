package main

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/ddb"
)

func TestTable(t *testing.T) {
	s := defaultApp(t)
	var gsis []any
	attrs := []any{
		map[string]any{"AttributeName": ddb.Schema.PartitionKey, "AttributeType": "S"},
		map[string]any{"AttributeName": ddb.Schema.SortKey, "AttributeType": "S"},
	}
	for _, ix := range ddb.Schema.Indexes {
		gsis = append(gsis, map[string]any{
			"IndexName": ix.Name,
			"KeySchema": []any{
				map[string]any{"AttributeName": ix.PartitionKey, "KeyType": "HASH"},
				map[string]any{"AttributeName": ix.SortKey, "KeyType": "RANGE"},
			},
			"Projection": map[string]any{"ProjectionType": "ALL"},
		})
		attrs = append(attrs,
			map[string]any{"AttributeName": ix.PartitionKey, "AttributeType": "S"},
			map[string]any{"AttributeName": ix.SortKey, "AttributeType": "S"})
	}
	check(t, "one table", func() { s.main.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
	check(t, "table properties", func() {
		s.main.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"KeySchema": []any{
				map[string]any{"AttributeName": ddb.Schema.PartitionKey, "KeyType": "HASH"},
				map[string]any{"AttributeName": ddb.Schema.SortKey, "KeyType": "RANGE"},
			},
			"AttributeDefinitions":             assertions.Match_ArrayWith(&attrs),
			"GlobalSecondaryIndexes":           gsis,
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": ddb.Schema.TTLAttribute, "Enabled": true},
			"DeletionProtectionEnabled":        true,
		})
	})
	check(t, "table retained", func() {
		s.main.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
		})
	})
	// Every attribute is defined once (the GSIs' keys are distinct names).
	props := s.props(t, s.logicalID(s.stacks.Main.Table))
	if got, want := len(props["AttributeDefinitions"].([]any)), 2+2*len(ddb.Schema.Indexes); got != want {
		t.Errorf("%d attribute definitions, want %d", got, want)
	}
}
