package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mediagate/internal/audit"
	"mediagate/internal/checkin"
	"mediagate/internal/inspection"
	"mediagate/internal/office/pki"
	"mediagate/internal/service"
)

// The inspection packet: `server report inspection` writes it on the office server
// (it signs with the office's key, which never leaves the server's directory);
// `report verify` checks one anywhere.

type inspectionOptions struct {
	Dir        string // the office server's directory
	Out        string
	Year       int
	Department string
	Unit       string
	Force, PDF bool
}

func newServerReportCommand(app *App, dir *string) *cobra.Command {
	cmd := &cobra.Command{Use: "report"}
	var o inspectionOptions
	insp := &cobra.Command{
		Use: "inspection --year YEAR -o DIR",
		Example: `  mediagate server report inspection --year 2026 -o /media/transfer/inspection-2026
  mediagate --lang zh server report inspection --year 2026 --department 办公室 --unit 某某大学保密办 -o insp-2026-bgs --pdf
  mediagate report verify /media/transfer/inspection-2026 --key office.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = *dir
			useServerDB(cmd, app, o.Dir)
			return runInspection(cmd.Context(), app, o)
		},
	}
	f := insp.Flags()
	f.IntVar(&o.Year, "year", 0, "the year the packet covers (required)")
	f.StringVarP(&o.Out, "output", "o", "", "directory to write the packet to: new or empty (required)")
	f.StringVar(&o.Department, "department", "", "only this department's hosts and media (default: the whole office)")
	f.StringVar(&o.Unit, "unit", "", "the unit's name at the head of every page (default: the office's name from server init)")
	f.BoolVar(&o.Force, "force", false, "replace an earlier packet in the directory (only its own files are removed)")
	f.BoolVar(&o.PDF, "pdf", false, "also print the page to inspection.pdf with headless Chromium")
	insp.MarkFlagRequired("year")
	insp.MarkFlagRequired("output")
	cmd.AddCommand(insp)
	return cmd
}

func runInspection(ctx context.Context, app *App, o inspectionOptions) error {
	keys, err := pki.Load(o.Dir)
	if err != nil {
		return err
	}
	now := app.Now()
	if o.Year < 2000 || o.Year > now.Year() {
		return usageMsg("err.packet-year", o.Year)
	}
	var pdf func(ctx context.Context, html, out string) error
	if o.PDF {
		chromium := findChromium(app)
		if chromium == "" {
			return usageMsg("err.no-chromium")
		}
		pdf = func(ctx context.Context, html, out string) error { return printPDF(ctx, chromium, html, out) }
	}
	local, err := app.open(ctx)
	if err != nil {
		return err
	}
	reg, ok := local.Service.Store().(inspection.Register)
	if !ok {
		return lerr("err.packet-no-office")
	}
	var report *checkin.Report
	switch r, err := local.Service.CampaignReport(ctx, o.Year, checkin.ByDepartment); {
	case err == nil:
		report = &r
	case !errors.Is(err, service.ErrNoCampaign):
		return err
	}
	_, statErr := os.Stat(o.Out)
	made := errors.Is(statErr, os.ErrNotExist)
	if err := inspection.PrepareDir(o.Out, o.Force); errors.Is(err, inspection.ErrNotEmpty) {
		if o.Force {
			return usageMsg("err.packet-dir-foreign", o.Out)
		}
		return usageMsg("err.packet-dir-not-empty", o.Out)
	} else if err != nil {
		return err
	}
	office := o.Unit
	if org := keys.CA.Cert.Subject.Organization; office == "" && len(org) > 0 {
		office = org[0]
	}
	lang := app.Lang
	res, err := inspection.Write(ctx, reg, o.Out, inspection.Options{
		Year: o.Year, Department: o.Department, Lang: lang, Office: office, Location: time.Local, Now: now,
		Key:       keys.PolicyKey,
		Translate: func(key string, args ...any) string { return T(lang, key, args...) },
		Describe: func(e *audit.Event) (string, string) {
			return kindName(lang, e.Kind), summarizeIn(lang, e.Details)
		},
		Checkin: report, PDF: pdf,
	})
	if err != nil && made {
		os.Remove(o.Out) // the directory PrepareDir made (Write removed what it wrote)
	}
	switch {
	case errors.Is(err, inspection.ErrUnknownDepartment):
		return usageMsg("err.packet-unknown-dept", o.Department)
	case err != nil:
		return err
	}
	if app.JSON {
		return printJSON(app.Out, res)
	}
	s := res.Summary
	fmt.Fprintln(app.Out, T(lang, "out.inspection-written", o.Year, o.Out, len(res.Files)+1, s.Media, s.Hosts, s.Chains, s.ChainsBroken,
		s.Violations, res.Manifest.KeyID))
	return nil
}

// findChromium finds headless Chromium: MEDIAGATE_CHROMIUM, else the usual names on
// PATH.
func findChromium(app *App) string {
	if app.Getenv != nil {
		if p := app.Getenv("MEDIAGATE_CHROMIUM"); p != "" {
			return p
		}
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// printPDF prints an HTML file to PDF with headless Chromium, in a throw-away
// profile, with no network.
func printPDF(ctx context.Context, chromium, html, out string) error {
	profile, err := os.MkdirTemp("", "mediagate-pdf-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	abs, err := filepath.Abs(html)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+profile,
		"--no-pdf-header-footer", "--print-to-pdf="+out, "file://"+abs)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", chromium, err, strings.TrimSpace(string(b)))
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		return fmt.Errorf("%s wrote no PDF", chromium)
	}
	return nil
}

type reportVerifyOptions struct {
	Key, Dir string
}

func newReportCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "report"}
	var o reportVerifyOptions
	verify := &cobra.Command{
		Use: "verify DIR [--key office.pub]",
		Example: `  mediagate report verify inspection-2026 --key office.pub
  mediagate report verify inspection-2026 --dir /var/lib/mediagate-server --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runReportVerify(app, args[0], o) },
	}
	verify.Flags().StringVar(&o.Key, "key", "", "the office's public key (policy.pub of the office server, PEM or base64)")
	verify.Flags().StringVar(&o.Dir, "dir", DefaultServerDir, "the office server's directory, whose policy.pub is used without --key")
	cmd.AddCommand(verify)
	return cmd
}

// packetVerdict is report verify's answer.
type packetVerdict struct {
	Dir      string               `json:"dir"`
	OK       bool                 `json:"ok"`
	Manifest *inspection.Manifest `json:"manifest,omitempty"`
	Problems []inspection.Problem `json:"problems"`
}

func runReportVerify(app *App, dir string, o reportVerifyOptions) error {
	keyFile := o.Key
	if keyFile == "" {
		keyFile = filepath.Join(o.Dir, pki.PolicyPubFile)
		if _, err := os.Stat(keyFile); err != nil {
			return usageMsg("err.packet-no-key")
		}
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return usageMsg("err.packet-bad-key", keyFile, err.Error())
	}
	pub, err := inspection.ParsePublicKey(b)
	if err != nil {
		return usageMsg("err.packet-bad-key", keyFile, err.Error())
	}
	return verifyPacket(app, dir, pub)
}

func verifyPacket(app *App, dir string, pub ed25519.PublicKey) error {
	m, probs, err := inspection.Verify(dir, pub)
	if err != nil {
		return err
	}
	v := packetVerdict{Dir: dir, OK: len(probs) == 0, Problems: probs}
	if v.Problems == nil {
		v.Problems = []inspection.Problem{}
	}
	if m.KeyID != "" {
		v.Manifest = &m
	}
	if app.JSON {
		if err := printJSON(app.Out, v); err != nil {
			return err
		}
	} else if v.OK {
		fmt.Fprintln(app.Out, T(app.Lang, "out.packet-verified", dir, len(m.Files), m.KeyID, scopeText(app.Lang, m), m.Year))
	} else {
		for _, p := range probs {
			fmt.Fprintln(app.Out, T(app.Lang, "out.packet-problem", p.File, T(app.Lang, "problem."+p.What)))
		}
	}
	if v.OK {
		return nil
	}
	var names []string
	for _, p := range probs {
		names = append(names, p.File)
	}
	return exitError{code: ExitBroken, err: lerr("err.packet-mismatch", dir, strings.Join(names, ", "))}
}

func scopeText(lang string, m inspection.Manifest) string {
	if m.Department != "" {
		return T(lang, "insp.scope-department", m.Department)
	}
	return T(lang, "insp.scope-office")
}
