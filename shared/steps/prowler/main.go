package prowler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// The task's own settings, beside the parameters in shared/citadel.
const (
	// EnvProwlerBin names the Prowler executable ("prowler" on PATH by
	// default; the local runner uses .venv/bin/prowler).
	EnvProwlerBin = "CITADEL_PROWLER_BIN"
	// EnvWorkDir is where the checks file and Prowler's output are written
	// (a temporary folder by default).
	EnvWorkDir = "CITADEL_WORK_DIR"
)

// Main runs the task: it reads the mode and parameters from getenv, loads
// the AWS configuration and runs the scan or the catalog export. Its error
// is the task's failure reason (see Reason).
func Main(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	mode := strings.TrimSpace(getenv(citadel.EnvTaskMode))
	if mode == "" {
		mode = citadel.TaskModeScan
	}
	if mode != citadel.TaskModeScan && mode != citadel.TaskModeCatalog {
		return citadel.Invalid("%s=%q: the mode is scan or catalog", citadel.EnvTaskMode, mode)
	}
	var params ScanParams
	if mode == citadel.TaskModeScan {
		var err error
		if params, err = ScanParamsFromEnv(getenv); err != nil {
			return err
		}
	}
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return err
	}
	client := s3.NewFromConfig(cfg, awsx.S3Options)
	p, err := Locate(ctx, getenv(EnvProwlerBin))
	if err != nil {
		return err
	}
	log.Info("prowler task", "mode", mode, "prowler_version", p.Version, "prowler_bin", p.Bin)
	if mode == citadel.TaskModeCatalog {
		_, err := ExportCatalog(ctx, client, getenv(citadel.EnvBucket), getenv(citadel.EnvTaskCatalogKey), p, citadel.SystemClock, log)
		return err
	}
	s := &Scanner{S3: client, Prowler: p, WorkDir: getenv(EnvWorkDir), Log: log}
	_, err = s.Scan(ctx, params)
	return err
}

// Reason is err as the one line the state machine records on the scan.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	const max = 1000
	if len(msg) > max {
		msg = msg[:max] + "…"
	}
	return fmt.Sprintf("prowler task failed (%s): %s", citadel.CodeOf(err), msg)
}

var _ S3API = (*s3.Client)(nil)
