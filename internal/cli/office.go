package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"mediagate/internal/office/remote"
	"mediagate/internal/service"
)

// OfficeConfig says where officer commands go: the office server's URL and the
// directory with the officer's credentials (ca.crt, officer.crt, officer.key).
type OfficeConfig struct {
	Server     string
	OfficerDir string
}

// Files of an officer directory.
const (
	officerCA   = "ca.crt"
	officerCert = "officer.crt"
	officerKey  = "officer.key"
)

// configPath is the officer's config file: MEDIAGATE_CONFIG, else
// ~/.config/mediagate/config.
func configPath(getenv func(string) string) string {
	if p := getenv("MEDIAGATE_CONFIG"); p != "" {
		return p
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "mediagate", "config")
	}
	return ""
}

// readConfig reads "key = value" lines (# comments); unknown keys are ignored.
func readConfig(path string) map[string]string {
	out := map[string]string{}
	if path == "" {
		return out
	}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return out
}

// bindOfficeFlags binds --server and --officer-dir; their defaults come from
// MEDIAGATE_SERVER / MEDIAGATE_OFFICER_DIR, then the config file (server_url,
// officer_dir), then ~/.config/mediagate/office for the credentials.
func bindOfficeFlags(fs *pflag.FlagSet, app *App) {
	getenv := app.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg := readConfig(configPath(getenv))
	server := app.Office.Server
	if server == "" {
		server = getenv("MEDIAGATE_SERVER")
	}
	if server == "" {
		server = cfg["server_url"]
	}
	dir := app.Office.OfficerDir
	if dir == "" {
		dir = getenv("MEDIAGATE_OFFICER_DIR")
	}
	if dir == "" {
		dir = cfg["officer_dir"]
	}
	if dir == "" && getenv("HOME") != "" {
		dir = filepath.Join(getenv("HOME"), ".config", "mediagate", "office")
	}
	fs.StringVar(&app.Office.Server, "server", server, "office server URL: officer commands go to it (env MEDIAGATE_SERVER, or server_url in ~/.config/mediagate/config)")
	fs.StringVar(&app.Office.OfficerDir, "officer-dir", dir, "directory with the officer's ca.crt, officer.crt, officer.key (env MEDIAGATE_OFFICER_DIR)")
}

// officeClient returns the client of the office server, made on first use.
func (a *App) officeClient() (service.API, error) {
	if a.remote != nil {
		return a.remote, nil
	}
	d := a.Office.OfficerDir
	c, err := remote.New(a.Office.Server, remote.Files{CA: filepath.Join(d, officerCA), Cert: filepath.Join(d, officerCert),
		Key: filepath.Join(d, officerKey)})
	if err != nil {
		return nil, lerr("err.office-client", a.Office.Server, err.Error())
	}
	a.remote = c
	return c, nil
}

// localService is the local register's service, for the operations that work on a
// register file itself (replaying the log, importing a spreadsheet); with an office
// server configured they are refused: run them on the server's machine.
func localService(api service.API) (*service.Service, error) {
	s, ok := api.(*service.Service)
	if !ok {
		return nil, lerr("office.local-only")
	}
	return s, nil
}
