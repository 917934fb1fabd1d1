package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/catalog"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// remoteTargeted says whether a catalog import names a deployment
// (--stack, --api, or their environment variables): then the deployment's
// catalog load runs, else the import runs here.
func remoteTargeted(args []string) bool {
	if os.Getenv(EnvAPIURL) != "" || os.Getenv(EnvStack) != "" {
		return true
	}
	return slices.ContainsFunc(args, func(a string) bool {
		a = strings.TrimLeft(a, "-")
		return a == "stack" || a == "api" || strings.HasPrefix(a, "stack=") || strings.HasPrefix(a, "api=")
	})
}

const catalogUsage = `on this machine (the table CITADEL_TABLE, over AWS_ENDPOINT_URL or your account):
  citadel catalog import [-prowler DIR|s3://bucket/prefix/] [-prowler-version V] [-scf DIR|s3://...] [-max-links N]
                         [-corrections FILE|s3://bucket/key]
      import Prowler's checks and frameworks (the installed Prowler when -prowler is
      not given) and, with -scf, the SCF library and mappings into the table
      (CITADEL_TABLE); with -corrections, a YAML file of check → SCF link
      corrections (needs -scf); prints what was found and written, with the join report
  citadel catalog links [-prowler DIR] [-scf DIR] [-max-links N]
      print the check → SCF links as JSON {check_id: [scf_id, ...]}, best first:
      computed from the files when -scf is given, else read from the table
`

func cmdCatalog(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, catalogUsage)
		return fmt.Errorf("catalog: missing subcommand")
	}
	switch args[0] {
	case "import":
		if remoteTargeted(args[1:]) {
			return catalogImportRemote(ctx, args[1:], out)
		}
		return catalogImport(ctx, args[1:], os.Stdout)
	case "status":
		return catalogStatus(ctx, args[1:], out)
	case "add-scf":
		return catalogAddSCF(ctx, args[1:], out)
	case "links":
		return catalogLinks(ctx, args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(catalogUsage + "\n" + catalogRemoteUsage)
		return nil
	}
	fmt.Fprint(os.Stderr, catalogUsage)
	return fmt.Errorf("catalog: unknown subcommand %q", args[0])
}

type catalogFlags struct {
	in citadel.CatalogImportInput
	fs *flag.FlagSet
}

func parseCatalogFlags(name string, args []string) (catalogFlags, error) {
	f := catalogFlags{fs: flag.NewFlagSet("catalog "+name, flag.ContinueOnError)}
	f.fs.StringVar(&f.in.ProwlerSource, "prowler", "", "Prowler folder or s3:// prefix (default: the installed Prowler)")
	f.fs.StringVar(&f.in.ProwlerVersion, "prowler-version", "", "Prowler version (default: detected)")
	f.fs.StringVar(&f.in.SCFSource, "scf", "", "folder or s3:// prefix with scf-<version>.yaml and mapping-*.yaml")
	f.fs.IntVar(&f.in.MaxLinksPerCheck, "max-links", catalog.DefaultMaxLinks, "SCF controls kept per check")
	if name == "import" {
		f.fs.StringVar(&f.in.CorrectionsSource, "corrections", "", "YAML file or s3:// object of check → SCF link corrections (needs -scf)")
	}
	if err := f.fs.Parse(args); err != nil {
		return f, err
	}
	if f.fs.NArg() > 0 {
		return f, fmt.Errorf("catalog %s: unexpected argument %q", name, f.fs.Arg(0))
	}
	return f, nil
}

func catalogImport(ctx context.Context, args []string, w io.Writer) error {
	f, err := parseCatalogFlags("import", args)
	if err != nil {
		return err
	}
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return err
	}
	store := ddb.New(cfg, tableName())
	h := &catalogimport.Handler{Store: store, S3: s3.NewFromConfig(cfg, awsx.S3Options), Env: stepfn.Env{Log: awsx.Logger(os.Stderr)}}
	out, cat, err := h.Run(ctx, f.in)
	if err != nil {
		return err
	}
	report := struct {
		citadel.CatalogImportOutput
		LinkStats *catalog.LinkStats `json:"link_stats,omitempty"`
	}{CatalogImportOutput: out}
	if cat.SCF != nil {
		report.LinkStats = &cat.LinkStats
	}
	return writeJSON(w, report)
}

func catalogLinks(ctx context.Context, args []string, w io.Writer) error {
	f, err := parseCatalogFlags("links", args)
	if err != nil {
		return err
	}
	var links []citadel.CheckSCFLink
	if f.in.SCFSource != "" {
		prowler := f.in.ProwlerSource
		if prowler == "" {
			if prowler, err = catalogimport.FindInstalledProwler(ctx); err != nil {
				return err
			}
		}
		for _, dir := range []string{prowler, f.in.SCFSource} {
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return citadel.Invalid("catalog links: %s is not a directory", dir)
			}
		}
		cat, err := catalog.Build(os.DirFS(prowler), os.DirFS(f.in.SCFSource), catalog.Options{
			ProwlerVersion: f.in.ProwlerVersion, Links: catalog.LinkOptions{MaxPerCheck: f.in.MaxLinksPerCheck},
		})
		if err != nil {
			return err
		}
		if cat.SCF == nil {
			return citadel.Invalid("catalog links: %s holds no SCF library", f.in.SCFSource)
		}
		links = cat.Links
	} else {
		cfg, err := awsx.Load(ctx)
		if err != nil {
			return err
		}
		if links, err = ddb.New(cfg, tableName()).ListCheckSCFLinks(ctx); err != nil {
			return err
		}
	}
	return writeJSON(w, catalog.LinksJSON(links))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
