package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/ddb"
)

func tableName() string {
	if n := os.Getenv("CITADEL_TABLE"); n != "" {
		return n
	}
	return "citadel"
}

func cmdTable(ctx context.Context, args []string) error {
	if slices.ContainsFunc(args, isHelpFlag) {
		fmt.Println("usage: citadel table create\n\ncreates the DynamoDB table CITADEL_TABLE (default \"citadel\") with its indexes")
		return flag.ErrHelp
	}
	if len(args) != 1 || args[0] != "create" {
		return fmt.Errorf("usage: citadel table create")
	}
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return err
	}
	name := tableName()
	if err := ddb.CreateTable(ctx, dynamodb.NewFromConfig(cfg), name); err != nil {
		return err
	}
	fmt.Printf("table %s is ready\n", name)
	return nil
}
