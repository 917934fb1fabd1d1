package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/citadelsecure/citadel/shared/awsx"
)

// Account returns a config for a fresh, empty AWS account on the local
// server: moto keeps every account apart, and STS AssumeRole into a role of
// an account id hands out credentials for that account. Tests that seed an
// estate (EC2, S3, IAM ...) use one each, so they never see each other's
// resources on the shared server. It also returns the account id and the
// role ARN that was assumed.
func Account(tb testing.TB, cfg aws.Config) (acct aws.Config, accountID, roleARN string) {
	tb.Helper()
	// Random, not clock-derived: test packages run in parallel processes on
	// one server, and two of them must never draw the same account.
	n, err := rand.Int(rand.Reader, big.NewInt(700_000_000_000))
	if err != nil {
		tb.Fatal(err)
	}
	accountID = fmt.Sprintf("%012d", 200_000_000_000+n.Int64())
	roleARN = fmt.Sprintf("arn:aws:iam::%s:role/CitadelScanner", accountID)
	acct = awsx.AssumeRole(cfg, roleARN, "citadel-test", "citadel-test")
	out, err := sts.NewFromConfig(acct).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		tb.Fatalf("assume role into test account %s: %v", accountID, err)
	}
	if aws.ToString(out.Account) != accountID {
		tb.Fatalf("assumed role lands in account %s, want %s", aws.ToString(out.Account), accountID)
	}
	return acct, accountID, roleARN
}

// RepoRoot is the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// SharedData returns the reference data folder (../shared/data beside the
// repository, or CITADEL_SHARED_DATA). Without it the test is skipped, except
// in CI, where it fails.
func SharedData(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("CITADEL_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "prowler")); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("reference data not found at %s: %v", dir, err)
		}
		tb.Skipf("reference data not found at %s", dir)
	}
	return dir
}
