package demoestate

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/citadelsecure/citadel/shared/inventory"
)

// data: DynamoDB tables — one plain, one with PITR and a customer key in
// us-east-1, a plain one in eu-west-1 — and a secret without rotation.
func (s *seeder) data(east, west aws.Config) {
	for _, t := range []struct {
		cfg   aws.Config
		name  string
		fixed bool
	}{{east, "orders", true}, {east, "sessions", false}, {west, "events-eu", false}} {
		c := dynamodb.NewFromConfig(t.cfg)
		in := &dynamodb.CreateTableInput{TableName: aws.String(t.name), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}}}
		if t.fixed {
			in.SSESpecification = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String(s.e.Resources["key-east"])}
		}
		if _, err := c.CreateTable(s.ctx, in); !s.ok("table "+t.name, err) {
			return
		}
		if t.fixed {
			_, err := c.UpdateContinuousBackups(s.ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(t.name),
				PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
			if !s.ok("pitr "+t.name, err) {
				return
			}
		}
		name := "table-" + t.name
		s.res(name, inventory.DynamoDBTableARN(t.cfg.Region, s.account, t.name))
		status := map[bool]string{true: "PASS", false: "FAIL"}[t.fixed]
		s.add("dynamodb_tables_pitr_enabled", name, status)
		s.add("dynamodb_tables_kms_cmk_encryption_enabled", name, status)
	}
	sec, err := secretsmanager.NewFromConfig(east).CreateSecret(s.ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("orders-db-password"), SecretString: aws.String("correct-horse-battery"), KmsKeyId: aws.String(s.e.Resources["key-east"]),
		// A fixed version id (the SDK draws a random one): a re-seeded estate describes the same.
		ClientRequestToken: aws.String("c17ade10-0000-4000-8000-000000000001")})
	if !s.ok("secret", err) {
		return
	}
	s.res("secret-orders-db", aws.ToString(sec.ARN))
	s.add("secretsmanager_automatic_rotation_enabled", "secret-orders-db", "FAIL")
}
