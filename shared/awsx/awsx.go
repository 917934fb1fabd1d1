// Package awsx loads the AWS configuration every function and command uses:
// region, retries with backoff for throttling, endpoint overrides for local
// servers (AWS_ENDPOINT_URL, honoured by the SDK itself), assuming an
// integration's role with its external id, and JSON logging.
package awsx

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultRegion is used when neither the environment nor a profile names one.
const DefaultRegion = "us-east-1"

// MaxAttempts is how often a throttled or transient request is tried.
const MaxAttempts = 8

// Load returns the AWS configuration: the default chain, a region (falling
// back to DefaultRegion), and a standard retryer with exponential backoff
// that retries throttling up to MaxAttempts times, or as often as the SDK's
// own AWS_MAX_ATTEMPTS says (1: no retry in the client, so a throttled call
// reaches the step's retry boundary at once).
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	attempts := MaxAttempts
	if n, err := strconv.Atoi(os.Getenv("AWS_MAX_ATTEMPTS")); err == nil && n >= 1 {
		attempts = n
	}
	base := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 20 * time.Second
			})
		}),
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(base, opts...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	return cfg, nil
}

// Local reports whether the SDK is pointed at a local endpoint
// (AWS_ENDPOINT_URL), where S3 needs path-style addressing.
func Local() bool { return os.Getenv("AWS_ENDPOINT_URL") != "" }

// S3Options sets path-style addressing when talking to a local server, and
// silences the SDK's debug line for every object read without a checksum
// (objects written by older clients, or by a local server, have none).
func S3Options(o *s3.Options) {
	if Local() {
		o.UsePathStyle = true
	}
	o.DisableLogOutputChecksumValidationSkipped = true
}

// AssumeRole returns a copy of cfg whose credentials come from assuming
// roleARN with externalID, cached and refreshed before they expire. An empty
// roleARN returns cfg unchanged: the scanner's own credentials.
func AssumeRole(cfg aws.Config, roleARN, externalID, sessionName string) aws.Config {
	if roleARN == "" {
		return cfg
	}
	out := cfg.Copy()
	provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = sessionName
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
		o.Duration = time.Hour
	})
	out.Credentials = aws.NewCredentialsCache(provider)
	return out
}

// Logger returns a JSON slog logger writing to w at the level named by
// LOG_LEVEL (debug, info, warn, error; info by default).
func Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// SetupLogging installs Logger(os.Stderr) as the default logger and returns it.
func SetupLogging() *slog.Logger {
	l := Logger(os.Stderr)
	slog.SetDefault(l)
	return l
}
