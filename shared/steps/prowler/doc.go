// Package prowler is the Prowler step of a scan: it runs Prowler for the
// Fargate task's entrypoint (prowler-task/cmd/entrypoint) and for the local
// runner (cmd/citadel), so what the deployed task does is what the tests run.
//
//   - Prowler (Locate) finds an installed Prowler — a virtualenv or the image's
//     site-packages — its version and the check ids it knows.
//   - Prowler.Run runs `prowler aws` as a subprocess in its own process group
//     under a deadline, streams its progress to slog and measures it.
//   - Scanner.Scan is the task's scan mode: checks file from S3, Run, the OCSF
//     file and a manifest back to S3.
//   - ExportCatalog is the catalog mode: the installed Prowler's check metadata
//     and compliance files to S3, so the catalog import reads the Prowler the
//     stack runs.
//   - Main reads the task's environment and dispatches on its mode.
package prowler
