package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/verify"
)

// verifyTimeout bounds one collector in one scope during a verify.
const verifyTimeout = 30 * time.Second

// accessError is a verify that found scopes the scanner may not read.
type accessError struct{ denied, total int }

func (e *accessError) Error() string {
	return fmt.Sprintf("the scanner may not read %d of %d scopes (see above)", e.denied, e.total)
}

// integrationsVerify assumes the integration's role with the caller's
// credentials, as the scanners do with theirs, and runs every inventory
// collector once: what it may list, service by service.
func integrationsVerify(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("integrations verify", "integrations verify ID [--regions R,...]", &t)
	regionsFlag := fs.String("regions", "", "comma-separated regions to try (default: the integration's, else every enabled region)")
	pos, r, err := t.open(ctx, out, fs, args, "ID")
	if err != nil {
		return err
	}
	var in citadel.Integration
	if _, err := r.api.Do(ctx, http.MethodGet, "/integrations/"+url.PathEscape(pos[0]), nil, nil, &in); err != nil {
		return err
	}
	rep, err := verifyAccess(ctx, r.cfg, in, splitList(*regionsFlag))
	if err != nil {
		return err
	}
	if r.json {
		if err := writeJSON(out, rep); err != nil {
			return err
		}
	} else if err := printVerify(out, rep); err != nil {
		return err
	}
	if rep.Denied > 0 {
		return &accessError{denied: rep.Denied, total: rep.Scopes()}
	}
	return nil
}

// verifyAccess assumes the role and runs the collectors (shared/verify,
// the API's verify too), with no bound but each scope's.
func verifyAccess(ctx context.Context, cfg aws.Config, in citadel.Integration, regions []string) (verify.Report, error) {
	return verify.Run(ctx, cfg, in, regions, verify.Options{ScopeTimeout: verifyTimeout})
}

func printVerify(w io.Writer, rep verify.Report) error {
	fmt.Fprintf(w, "assumed %s as %s\nregions %s\n\n", orDash(rep.RoleARN), rep.AssumedAs, strings.Join(rep.Regions, " "))
	var rows [][]string
	for _, s := range rep.Services {
		ok, resources := 0, 0
		var denied []string
		for _, sc := range s.Scopes {
			if sc.OK {
				ok++
				resources += sc.Resources
				continue
			}
			denied = append(denied, fmt.Sprintf("%s in %s: %s", sc.ResourceType, sc.Region, orDash(sc.Code)))
		}
		status := "readable"
		if len(denied) > 0 {
			status = "NOT READABLE: " + strings.Join(denied, "; ")
		}
		rows = append(rows, []string{s.Service, fmt.Sprintf("%d/%d", ok, len(s.Scopes)), fmt.Sprint(resources), status})
	}
	return table(w, "SERVICE\tSCOPES OK\tRESOURCES\tACCESS", rows)
}
