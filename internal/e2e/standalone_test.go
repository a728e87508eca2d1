package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mediagate/internal/testbed"
)

// TestStandaloneHost: the guest is a standalone host (单机) with no network. The
// office server's register lives on the test machine, and the officer's "transfer
// stick" is the share (/share in the guest): enrolment by file, a policy carried in
// that lets a plugged stick through within seconds, the log carried out to the office
// and its acknowledgement back, which audit verify in the guest then checks; a policy
// file altered on the way is refused in the guest.
func TestStandaloneHost(t *testing.T) {
	v, g := needDaemon(t)
	bin := os.Getenv("MEDIAGATE_BIN")
	if out, err := exec.Command(bin, "policy", "export", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "export") {
		t.Skip("this mediagate has no 'policy export' (standalone hosts not merged)")
	}
	const host = "VM-09"
	dir := filepath.Join(t.TempDir(), "server")
	office := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "MEDIAGATE_DB="+filepath.Join(dir, "office.db"), "MEDIAGATE_LANG=en")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("office: mediagate %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	out := office("server", "--dir", dir, "init", "--name", "office", "--officer", "zhang")
	fp := regexp.MustCompile(`[0-9a-f]{64}`).FindString(out)
	office("person", "add", "zhang", "--name", "张三", "--login", "root")
	office("server", "--dir", dir, "host", "add", host, "--level", "secret", "--custodian", "zhang")

	// The transfer stick: a directory of the share, the same files on both sides.
	stick := filepath.Join(v.ShareDir(), "transfer")
	if err := os.MkdirAll(stick, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stick) })
	on, inGuest := func(f string) string { return filepath.Join(stick, f) }, func(f string) string { return "/share/transfer/" + f }
	t.Cleanup(func() { unenrol(t, g) })

	g.MustRun(t, fmt.Sprintf(`set -e
mkdir -p %s %s
printf '[Service]\nEnvironment=%s\n' > %s
systemctl daemon-reload
%s mediagate host init --number %s --level secret
%s mediagate host enroll --request --host %s -o %s`,
		officeDir, filepath.Dir(e2eDropIn), officeEnv, e2eDropIn, officeEnv, host, officeEnv, host, inGuest("req")))
	office("server", "--dir", dir, "host", "enroll-file", host, on("req"), "-o", on("ans"), "--approve")
	g.MustRun(t, fmt.Sprintf(`set -e
%s mediagate host enroll --response %s --ca-fingerprint %s
systemctl restart mediagate.service && systemctl is-active mediagate.service`, officeEnv, inGuest("ans"), fp))
	st := g.WaitFor(t, 30*time.Second, officeEnv+" mediagate status | grep -i 'standalone'")
	t.Logf("status: %s", st)

	// A stick plugged before the office registered it: blocked. Registered on the
	// server, the policy carried in: authorized.
	const serial = "STANDALONE01"
	v.PlugStick(t, serial, testbed.Files{"a.txt": []byte("standalone")})
	if r := officeDecided(t, g, serial); r != "unregistered" {
		t.Fatalf("before registration: %s", r)
	}
	usbDev := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial(serial))
	office("media", "register", "--kind", "usb-disk", "--vendor", "46f4", "--product", "0001", "--serial", serial,
		"--level", "secret", "--custodian", "zhang", "--number", "S-"+serial)
	office("policy", "export", "--dir", dir, "--host", host, "-o", on("pol"))
	b, err := os.ReadFile(on("pol"))
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(strings.Replace(string(b), `"signature":"`, `"signature":"AA`, 1))
	if err := os.WriteFile(on("pol.bad"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := g.Exec(t, officeEnv+" mediagate policy import "+inGuest("pol.bad")); res.ExitCode != 1 || !strings.Contains(res.Stderr, "refused") {
		t.Errorf("altered policy in the guest: %s", res)
	}
	start := time.Now()
	g.MustRun(t, officeEnv+" mediagate policy import "+inGuest("pol"))
	g.WaitFor(t, 30*time.Second, `grep -qx 1 `+usbDev+`/authorized && echo authorized`)
	t.Logf("FIGURE policy import in the guest → stick authorized: %.2f s (the daemon reads the cache every 2 s)", time.Since(start).Seconds())
	if r := officeDecided(t, g, serial); r != "allowed" {
		t.Errorf("after the policy: %s", r)
	}

	// The log out, the acknowledgement back.
	g.MustRun(t, officeEnv+" mediagate log export -o "+inGuest("log"))
	office("log", "import", "--dir", dir, on("log"), "-o", on("ack"))
	g.MustRun(t, officeEnv+" mediagate log ack "+inGuest("ack"))
	verify := g.MustRun(t, officeEnv+" mediagate audit verify --json | tr -d ' \\n'")
	if !strings.Contains(verify, `"signature":"verified"`) || !strings.Contains(verify, `"in_log":true`) {
		t.Errorf("audit verify in the guest after the acknowledgement: %s", verify)
	}
	if res := g.Exec(t, officeEnv+" mediagate log ack "+inGuest("ack")); res.ExitCode != 1 {
		t.Errorf("the same acknowledgement again: %s", res)
	}
	imports := office("log", "--kind", "carry.log-import")
	t.Logf("office log: %s", imports)
}
