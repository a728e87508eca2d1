package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mediagate/internal/identity"
	"mediagate/internal/media"
	"mediagate/internal/officefake"
	"mediagate/internal/policydoc"
	"mediagate/internal/testbed"
)

// The office scenarios: the guest is a classified host enrolled with an office server
// that runs on the test machine, reached over QEMU's user network (the guest sees the
// test machine as 10.0.2.2). The guest's daemon is mediagate.service with two
// drop-ins: the one `host enroll` writes (the sandbox may reach the server) and one of
// the test's that points it at a register of its own (officeDB), so that the other
// scenarios' register is untouched; both go when the scenarios end.
//
// The server is `mediagate server` when the binary has it (the office branch). Until
// then the scenarios skip, unless MEDIAGATE_E2E_OFFICE=fake: then they run against
// internal/officefake, which speaks the same protocol from the test process, so the
// host side is tested alone.

const (
	officeHost = "VM-07"
	officeName = "office" // the server's name in its certificate, known to the guest by /etc/hosts
	officeDir  = "/var/lib/mediagate/office-e2e"
	officeDB   = officeDir + "/mediagate.db"
	officeEnv  = "MEDIAGATE_DB=" + officeDB
	e2eDropIn  = "/etc/systemd/system/mediagate.service.d/90-e2e-office.conf"
)

// officeBackend is the office server as the scenarios drive it from the test machine.
type officeBackend interface {
	// URL is the server as the guest reaches it.
	URL() string
	Fingerprint() string
	Token(t *testing.T, host string) string
	// Register puts the stick with this serial in the office register for host,
	// active, with an active custodian; it returns the medium's number.
	Register(t *testing.T, host, serial string) string
	SetStatus(t *testing.T, host, number string, status media.Status)
	// Approve approves the one pending registration request whose identity key is key.
	Approve(t *testing.T, host, key string) string
	// MakeVaultStation makes host a vault station and opens the year-end campaign.
	MakeVaultStation(t *testing.T, host string)
	// CheckedIn reports whether the medium with identity key was checked in from host.
	CheckedIn(t *testing.T, host, key string) bool
	Stop(t *testing.T)
	Start(t *testing.T)
}

func needOffice(t *testing.T) officeBackend {
	t.Helper()
	needMediagate(t)
	if b := serverBackend(t); b != nil {
		return b
	}
	if os.Getenv("MEDIAGATE_E2E_OFFICE") != "fake" {
		t.Skip("office scenarios skipped: this mediagate has no 'server' command (the office server is not merged yet); " +
			"set MEDIAGATE_E2E_OFFICE=fake to run them against the protocol fake (internal/officefake)")
	}
	return newFakeBackend(t)
}

func TestOfficeEnrolledHost(t *testing.T) {
	office := needOffice(t)
	v, g := needDaemon(t)
	v.PlugUserNIC(t)
	g.WaitFor(t, 30*time.Second, fmt.Sprintf(`timeout 3 bash -c '</dev/tcp/%s' && echo up`,
		strings.Replace(strings.TrimPrefix(office.URL(), "https://"), ":", "/", 1)))
	t.Cleanup(func() { unenrol(t, g) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the daemon's last lines:\n%s", g.Exec(t, "journalctl -u mediagate --no-pager -o short-monotonic | tail -40").Stdout)
		}
	})

	// Enrol by the server's name, which only the guest's /etc/hosts knows: the
	// enrolment records its address, the drop-in lets the sandboxed daemon reach that
	// address, and the daemon resolves nothing.
	byName := strings.Replace(office.URL(), testbed.HostIP, officeName, 1)
	g.MustRun(t, fmt.Sprintf(`grep -q ' %[2]s$' /etc/hosts || echo '%[1]s %[2]s' >> /etc/hosts`, testbed.HostIP, officeName))
	token := office.Token(t, officeHost)
	g.MustRun(t, fmt.Sprintf(`set -e
mkdir -p %s
mkdir -p %s
printf '[Service]\nEnvironment=%s\n' > %s
%s mediagate host enroll --server %s --token %s --ca-fingerprint %s --host %s`,
		officeDir, filepath.Dir(e2eDropIn), officeEnv, e2eDropIn, officeEnv, byName, token, office.Fingerprint(), officeHost))
	if out := g.MustRun(t, "grep -h IPAddressAllow /etc/systemd/system/mediagate.service.d/50-office.conf; tr -d ' \\n' < "+
		officeDir+"/office/enrolment.json | grep -o '\"addresses\":\\[[^]]*\\]'"); !strings.Contains(out, "IPAddressAllow="+testbed.HostIP) ||
		!strings.Contains(out, `"addresses":["`+testbed.HostIP+`"]`) {
		t.Errorf("enrolment by name: %s", out)
	}
	if res := g.Exec(t, officeEnv+" mediagate host enroll --server "+byName+" --token x --ca-fingerprint "+office.Fingerprint()+" --host "+officeHost); res.ExitCode != 2 {
		t.Errorf("second enrolment: %s", res)
	}
	if modes := g.MustRun(t, "stat -c '%a %U' "+officeDir+"/office "+officeDir+"/office/* | sort -u | tr '\\n' ' '"); modes != "600 root 700 root" {
		t.Errorf("enrolment files: %q, want 0600 and 0700, root", modes)
	}
	g.MustRun(t, "systemctl daemon-reload && systemctl restart mediagate.service && systemctl is-active mediagate.service")
	st := g.WaitFor(t, 30*time.Second, officeEnv+" mediagate status | grep -E 'Office server|Policy' | tr '\\n' ' ' | grep 'last contact'")
	t.Logf("status: %s", st)
	if res := g.Exec(t, officeEnv+" mediagate media register --kind usb-disk --vendor 46f4 --product 0001 --serial X --level secret --custodian zhang"); res.ExitCode != 2 || !strings.Contains(res.Stderr, "media request") {
		t.Errorf("media register on an enrolled host: %s", res)
	}

	// Registered on the server: the plugged stick works within seconds.
	const serial = "OFFICE0001"
	stick := v.PlugStick(t, serial, testbed.Files{"a.txt": []byte("office")})
	if r := officeDecided(t, g, serial); r != "unregistered" {
		t.Fatalf("before registration: %s", r)
	}
	usbDev := g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial(serial))
	start := time.Now()
	number := office.Register(t, officeHost, serial)
	g.WaitFor(t, 30*time.Second, `grep -qx 1 `+usbDev+`/authorized && echo authorized`)
	authorizedAfter := time.Since(start)
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial(serial, "vfat"))
	t.Logf("FIGURE registration on the server → stick authorized in the guest: %.2f s, its vfat partition there: %.2f s (target 5 s)",
		authorizedAfter.Seconds(), time.Since(start).Seconds())
	if r := officeDecided(t, g, serial); r != "allowed" {
		t.Errorf("after registration: %s", r)
	}

	// Marked lost on the server: blocked within seconds.
	start = time.Now()
	office.SetStatus(t, officeHost, number, media.StatusLost)
	g.WaitFor(t, 30*time.Second, testbed.Not(testbed.PartitionBySerial(serial, "")))
	t.Logf("FIGURE lost on the server → stick blocked in the guest: %.2f s (target 5 s)", time.Since(start).Seconds())
	if r := officeDecided(t, g, serial); r != "status-lost" {
		t.Errorf("after lost: %s", r)
	}

	// Server stopped: the guest keeps enforcing and says so.
	office.Stop(t)
	st = g.WaitFor(t, 60*time.Second, officeEnv+" mediagate status | grep 'unreachable since'")
	t.Logf("status: %s", st)
	v.Unplug(t, stick.ID)
	v.PlugStick(t, serial, testbed.Files{"a.txt": []byte("office")})
	if r := officeDecided(t, g, serial); r != "status-lost" {
		t.Errorf("replugged while the server is down: %s, want status-lost (the cached policy)", r)
	}
	if got := authorized(t, g, serial); got != "0" {
		t.Errorf("lost stick authorized = %s while the server is down", got)
	}

	// A tampered cache file is refused and put back; the policy in force stays. The
	// signature's first character is changed to another one (a signature that already
	// starts with "A" gets "B") in a copy, which must differ from the good file, and the
	// copy is then written over the cache (the daemon may put the good one back at
	// any moment after that, so the cache itself is not compared).
	g.MustRun(t, fmt.Sprintf(`set -e
cp %[1]s/office/policy.json /tmp/policy.good
sed -e 's/"signature":"A/"signature":"B/;t' -e 's/"signature":"./"signature":"A/' /tmp/policy.good > /tmp/policy.bad
if cmp -s /tmp/policy.good /tmp/policy.bad; then echo "the tampered copy is unchanged" >&2; exit 1; fi
cat /tmp/policy.bad > %[1]s/office/policy.json`, officeDir))
	g.WaitFor(t, 30*time.Second, officeEnv+` mediagate log --kind policy.refused --json | grep -c '"source": *"file"'`)
	g.WaitFor(t, 30*time.Second, "cmp -s /tmp/policy.good "+officeDir+"/office/policy.json && echo restored")
	if r := officeDecided(t, g, serial); r != "status-lost" {
		t.Errorf("after the tampered cache: %s", r)
	}
	office.Start(t)
	g.WaitFor(t, 60*time.Second, officeEnv+" mediagate status | grep 'last contact'")

	// A registration request from the guest, approved on the server: the stick works.
	const newSerial = "OFFICE0002"
	newStick := v.PlugStick(t, newSerial, testbed.Files{"b.txt": []byte("request")})
	if r := officeDecided(t, g, newSerial); r != "unregistered" {
		t.Fatalf("new stick: %s", r)
	}
	port := filepath.Base(g.WaitFor(t, 30*time.Second, testbed.USBDeviceBySerial(newSerial)))
	out := g.MustRun(t, officeEnv+" mediagate media request --from-device usb:"+port+" --level secret --purpose 'e2e office scenario'")
	t.Logf("request: %s", out)
	start = time.Now()
	office.Approve(t, officeHost, identity.USBKey("46f4", "0001", newSerial))
	g.WaitFor(t, 30*time.Second, `grep -qx 1 /sys/bus/usb/devices/`+port+`/authorized && echo authorized`)
	authorizedAfter = time.Since(start)
	g.WaitFor(t, 30*time.Second, testbed.PartitionBySerial(newSerial, "vfat"))
	t.Logf("FIGURE request approved on the server → stick authorized in the guest: %.2f s, its vfat partition there: %.2f s",
		authorizedAfter.Seconds(), time.Since(start).Seconds())
	applied := g.MustRun(t, officeEnv+" mediagate log --kind policy.applied --json | grep -c '\"version\"'")
	t.Logf("policies applied in the guest: %s", applied)

	// The guest made a vault station on the server and the office's campaign open: the
	// approved stick, plugged again, is checked in to the office's campaign.
	key := identity.USBKey("46f4", "0001", newSerial)
	office.MakeVaultStation(t, officeHost)
	g.WaitFor(t, 30*time.Second, officeEnv+" mediagate log --kind policy.applied --json | grep -c '\"version\"' | grep -vx "+applied)
	v.Unplug(t, newStick.ID)
	v.PlugStick(t, newSerial, testbed.Files{"b.txt": []byte("request")})
	start = time.Now()
	for !office.CheckedIn(t, officeHost, key) {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("the stick plugged into the vault station was not checked in on the server")
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("FIGURE stick plugged into the enrolled vault station → checked in on the server: %.2f s", time.Since(start).Seconds())
}

// officeDecided is decided() on the enrolled host's own log.
func officeDecided(t *testing.T, g *testbed.Guest, serial string) string {
	t.Helper()
	return g.WaitFor(t, 30*time.Second, fmt.Sprintf(
		`%s mediagate log --kind device.decision --json | tr -d ' \n' | grep -o '"serial":"%s"[^}]*}[^}]*"reason":"[a-z-]*"' | tail -1 | grep -o '"reason":"[a-z-]*"' | cut -d'"' -f4 | grep .`, officeEnv, serial))
}

// unenrol puts the guest back as the other scenarios expect it: the daemon on the
// local register, without the office drop-ins.
func unenrol(t *testing.T, g *testbed.Guest) {
	g.Exec(t, fmt.Sprintf(`sed -i '/ `+officeName+`$/d' /etc/hosts
rm -f %s /etc/systemd/system/mediagate.service.d/50-office.conf
rm -rf %s
systemctl daemon-reload
systemctl restart mediagate.service`, e2eDropIn, officeDir))
}

// --- the protocol fake ----------------------------------------------------------------

// fakeBackend keeps a register per host and publishes each change as the host's next
// policy version.
type fakeBackend struct {
	o       *officefake.Office
	addr    string
	docs    map[string]*policydoc.Document
	numbers int
}

func newFakeBackend(t *testing.T) *fakeBackend {
	o, err := officefake.New(testbed.HostIP, "127.0.0.1", officeName)
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{o: o, docs: map[string]*policydoc.Document{}}
	b.Start(t)
	t.Cleanup(o.Stop)
	return b
}

func (b *fakeBackend) URL() string {
	_, port, _ := strings.Cut(b.addr, ":")
	return "https://" + testbed.HostIP + ":" + port
}

func (b *fakeBackend) Fingerprint() string { return b.o.Fingerprint() }

func (b *fakeBackend) Token(t *testing.T, host string) string {
	b.publish(t, host) // version 1: the host's profile, no media
	return b.o.Token(host)
}

func (b *fakeBackend) doc(host string) *policydoc.Document {
	d := b.docs[host]
	if d == nil {
		d = &policydoc.Document{Host: host, Profile: policydoc.Profile{Number: host, Level: media.Secret, Mode: media.ModeEnforce},
			People: []policydoc.Person{{Handle: "zhang", Active: true, Login: "root"}}}
		b.docs[host] = d
	}
	return d
}

func (b *fakeBackend) publish(t *testing.T, host string) {
	t.Helper()
	d := b.doc(host)
	d.Version++
	d.IssuedAt = time.Now().UTC()
	d.Profile.Baseline = b.o.Baseline(host)
	if err := b.o.PublishDoc(*d); err != nil {
		t.Fatal(err)
	}
}

func (b *fakeBackend) Register(t *testing.T, host, serial string) string {
	return b.add(t, host, media.Identity{Kind: media.KindUSBDisk, Key: identity.USBKey("46f4", "0001", serial), Serial: serial,
		VendorID: "46f4", ProductID: "0001"})
}

func (b *fakeBackend) add(t *testing.T, host string, id media.Identity) string {
	b.numbers++
	number := fmt.Sprintf("S-OFF-%03d", b.numbers)
	d := b.doc(host)
	d.Media = append(d.Media, policydoc.Medium{Number: number, Kind: media.KindUSBDisk, Level: media.Secret,
		Access: media.AccessReadWrite, Custodian: "zhang", Status: media.StatusActive, Identity: id})
	b.publish(t, host)
	return number
}

func (b *fakeBackend) SetStatus(t *testing.T, host, number string, status media.Status) {
	d := b.doc(host)
	for i := range d.Media {
		if d.Media[i].Number == number {
			d.Media[i].Status = status
		}
	}
	b.publish(t, host)
}

func (b *fakeBackend) Approve(t *testing.T, host, key string) string {
	t.Helper()
	for _, r := range b.o.Requests() {
		if r.Host == host && r.Identity.Key == key {
			if r.Requester == "" || r.Purpose == "" || r.Level != media.Secret {
				t.Errorf("request as received: %+v", r)
			}
			t.Logf("request %s from %s on %s: %s", r.ID, r.Requester, r.Host, r.Purpose)
			return b.add(t, host, r.Identity)
		}
	}
	t.Fatalf("no registration request for %s from %s", key, host)
	return ""
}

func (b *fakeBackend) MakeVaultStation(t *testing.T, host string) {
	b.doc(host).Profile.VaultStation = true
	b.publish(t, host)
}

func (b *fakeBackend) CheckedIn(t *testing.T, host, key string) bool {
	for _, r := range b.o.Reports() {
		for _, c := range r.CheckIns {
			if r.Host == host && c.Seen.Key == key {
				return true
			}
		}
	}
	return false
}

func (b *fakeBackend) Stop(t *testing.T) { b.o.Stop() }

func (b *fakeBackend) Start(t *testing.T) {
	t.Helper()
	addr := b.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var err error
	for range 50 { // the port of a server just stopped may take a moment to be free
		if err = b.o.Start(addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	b.addr = b.o.Addr()
}

// --- the office server ----------------------------------------------------------------

// serverBackend returns the real `mediagate server` on the test machine when the
// binary has the command, nil otherwise. Its command lines (docs/office.md of the
// office branch) are all in this one place.
func serverBackend(t *testing.T) officeBackend {
	bin := os.Getenv("MEDIAGATE_BIN")
	if bin == "" {
		return nil
	}
	// Without the command, cobra prints the root's help for "server --help".
	out, err := exec.Command(bin, "server", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "mediagate server") {
		return nil
	}
	return newRealServer(t, bin)
}

// realServer is `mediagate server` (docs/office.md): its directory and register in a
// temporary directory, officer commands through the server with the first officer's
// certificate, so that every change wakes the server's policy computation.
type realServer struct {
	bin, dir, port string
	fingerprint    string
	cmd            *exec.Cmd
	done           chan struct{}
}

func newRealServer(t *testing.T, bin string) *realServer {
	t.Helper()
	s := &realServer{bin: bin, dir: filepath.Join(t.TempDir(), "server"), port: "18443"}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// As docs/office.md sets a server up: init (which creates the register), then the
	// officer as a person of it.
	out := s.local(t, "server", "--dir", s.dir, "init", "--name", "office", "--addr", testbed.HostIP, "--addr", "127.0.0.1", "--officer", "zhang")
	s.fingerprint = regexp.MustCompile(`[0-9a-f]{64}`).FindString(out)
	if s.fingerprint == "" {
		t.Fatalf("server init printed no CA fingerprint:\n%s", out)
	}
	s.local(t, "person", "add", "zhang", "--name", "张三")
	s.Start(t)
	t.Cleanup(func() { s.Stop(t) })
	return s
}

func (s *realServer) env(remote bool) []string {
	env := append(os.Environ(), "MEDIAGATE_DB="+filepath.Join(s.dir, "office.db"))
	if remote {
		env = append(env, "MEDIAGATE_SERVER=https://127.0.0.1:"+s.port, "MEDIAGATE_OFFICER_DIR="+filepath.Join(s.dir, "officers", "zhang"))
	}
	return env
}

func (s *realServer) exec(t *testing.T, remote bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env(remote)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mediagate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// local runs a command on the server's register directly (before the server runs);
// officer runs it through the server.
func (s *realServer) local(t *testing.T, args ...string) string   { return s.exec(t, false, args...) }
func (s *realServer) officer(t *testing.T, args ...string) string { return s.exec(t, true, args...) }

func (s *realServer) URL() string         { return "https://" + testbed.HostIP + ":" + s.port }
func (s *realServer) Fingerprint() string { return s.fingerprint }

func (s *realServer) Token(t *testing.T, host string) string {
	var res struct {
		Token string `json:"token"`
	}
	out := s.officer(t, "server", "host", "add", host, "--level", "secret", "--custodian", "zhang", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Token == "" {
		t.Fatalf("server host add printed no token: %v\n%s", err, out)
	}
	return res.Token
}

func (s *realServer) Register(t *testing.T, host, serial string) string {
	return s.officer(t, "media", "register", "--kind", "usb-disk", "--vendor", "46f4", "--product", "0001", "--serial", serial,
		"--level", "secret", "--custodian", "zhang", "--number", "S-"+serial)
}

func (s *realServer) SetStatus(t *testing.T, host, number string, status media.Status) {
	if status != media.StatusLost {
		t.Fatalf("status %s: only lost is wired", status)
	}
	s.officer(t, "media", "lost", number)
}

func (s *realServer) MakeVaultStation(t *testing.T, host string) {
	s.officer(t, "server", "host", "set", host, "--vault-station")
	s.officer(t, "checkin", "open")
}

func (s *realServer) CheckedIn(t *testing.T, host, key string) bool {
	return strings.Contains(s.officer(t, "log", "--kind", "checkin.in", "--json"), key)
}

func (s *realServer) Approve(t *testing.T, host, key string) string {
	var reqs []struct {
		ID       string         `json:"id"`
		Host     string         `json:"host"`
		Identity media.Identity `json:"identity"`
	}
	out := s.officer(t, "server", "requests", "--json")
	if err := json.Unmarshal([]byte(out), &reqs); err != nil {
		t.Fatalf("server requests: %v\n%s", err, out)
	}
	for _, r := range reqs {
		if r.Host == host && r.Identity.Key == key {
			return s.officer(t, "server", "requests", "approve", r.ID, "--custodian", "zhang")
		}
	}
	t.Fatalf("no request for %s from %s:\n%s", key, host, out)
	return ""
}

func (s *realServer) Start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "server", "--dir", s.dir, "run", "--listen", "127.0.0.1:"+s.port)
	s.cmd.Env = s.env(false)
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+s.port, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the office server did not listen")
}

func (s *realServer) Stop(t *testing.T) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}
