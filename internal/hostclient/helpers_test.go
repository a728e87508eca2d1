package hostclient

import (
	"testing"
	"time"

	"mediagate/internal/media"
	"mediagate/internal/officefake"
	"mediagate/internal/policydoc"
)

// fakeOffice wraps officefake.Office for these tests.
type fakeOffice struct {
	*officefake.Office
	t *testing.T
}

func newFakeOffice(t *testing.T) *fakeOffice {
	t.Helper()
	o, err := officefake.New("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Stop)
	return &fakeOffice{Office: o, t: t}
}

func (o *fakeOffice) url() string         { return o.URL() }
func (o *fakeOffice) fingerprint() string { return o.Fingerprint() }

// doc is a policy document for host with one medium per serial.
func (o *fakeOffice) doc(host string, version uint64, serials ...string) policydoc.Document {
	d := policydoc.Document{Host: host, Version: version, IssuedAt: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC),
		Profile: policydoc.Profile{Number: host, Level: media.Secret, Mode: media.ModeEnforce},
		People:  []policydoc.Person{{Handle: "alice", Active: true, Login: "alice"}}}
	for _, s := range serials {
		d.Media = append(d.Media, policydoc.Medium{Number: "S-" + s, Kind: media.KindUSBDisk, Level: media.Secret,
			Access: media.AccessReadWrite, Custodian: "alice", Status: media.StatusActive,
			Identity: media.Identity{Kind: media.KindUSBDisk, Key: "usb:0781:5567:" + s, Serial: s}})
	}
	return d
}

func (o *fakeOffice) sign(d policydoc.Document) []byte {
	env, err := o.Sign(d)
	if err != nil {
		o.t.Fatal(err)
	}
	return env
}

func (o *fakeOffice) publish(host string, version uint64, env []byte) { o.Publish(host, version, env) }

func (o *fakeOffice) count() int { return o.Count() }

func selfSigned(t *testing.T, cn string) string {
	s, err := officefake.SelfSigned(cn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
