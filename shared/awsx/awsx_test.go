package awsx

import (
	"context"
	"testing"
)

// The client's attempts: MaxAttempts by default, the SDK's own
// AWS_MAX_ATTEMPTS when set (the tests set 1), the default again when it
// is not a positive number.
func TestLoadAttempts(t *testing.T) {
	tests := []struct {
		env  string
		want int
	}{{"", MaxAttempts}, {"1", 1}, {"3", 3}, {"0", MaxAttempts}, {"many", MaxAttempts}}
	for _, tc := range tests {
		t.Run("AWS_MAX_ATTEMPTS="+tc.env, func(t *testing.T) {
			t.Setenv("AWS_MAX_ATTEMPTS", tc.env)
			t.Setenv("AWS_REGION", "us-east-1")
			cfg, err := Load(context.Background())
			if tc.env == "0" || tc.env == "many" {
				// The SDK itself refuses a malformed AWS_MAX_ATTEMPTS.
				if err != nil {
					return
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Retryer().MaxAttempts(); got != tc.want {
				t.Errorf("MaxAttempts = %d, want %d", got, tc.want)
			}
		})
	}
}
