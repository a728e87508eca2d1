package catalog_test

import (
	"strings"
	"testing"
	"time"

	"mediagate/internal/catalog"
	"mediagate/internal/media"
	"mediagate/internal/policy"
)

// decisions returns, for every reason, decisions as policy.Decide fills them, with
// the variants the message depends on.
func decisions() map[string]policy.Decision {
	reg := func(r policy.Reason, v policy.Verdict) policy.Decision {
		return policy.Decision{Verdict: v, Reason: r, Enforce: true, Medium: "S-2026-0001", MediumLevel: media.Secret,
			HostNumber: "HOST-01", HostLevel: media.Confidential, Custodian: "zhangsan"}
	}
	bare := func(r policy.Reason, v policy.Verdict) policy.Decision {
		return policy.Decision{Verdict: v, Reason: r, Enforce: true, HostNumber: "HOST-01", HostLevel: media.Secret}
	}
	out := map[string]policy.Decision{}
	for _, r := range policy.Reasons() {
		v := policy.Block
		if strings.HasPrefix(string(r), "allowed") || r == policy.ReasonNotMedia || r == policy.ReasonPeripheralAllowed ||
			r == policy.ReasonBaseline || r == policy.ReasonContainer || r == policy.ReasonUnregisteredUnclassifiedHost {
			v = policy.Allow
		}
		if r == policy.ReasonReadOnlyBelowHost {
			v = policy.AllowReadOnly
		}
		d := reg(r, v)
		switch r {
		case policy.ReasonNotMedia, policy.ReasonHostNotInitialised, policy.ReasonBaseline, policy.ReasonUnregistered,
			policy.ReasonUnregisteredUnclassifiedHost, policy.ReasonContainer:
			d = bare(r, v)
		case policy.ReasonPeripheralAllowed:
			d = bare(r, v)
			d.Classes = []int{policy.ClassAudio}
		case policy.ReasonPeripheralNotAllowed:
			d = bare(r, v)
			d.Classes = []int{policy.ClassWireless, 0x42}
			out["peripheral-not-allowed/no class"] = bare(r, v)
			hid := bare(r, v)
			hid.Classes, hid.Detail = []int{policy.ClassHID}, policy.DetailHIDNotBoot
			out["peripheral-not-allowed/hid-not-boot"] = hid
			registered := reg(r, v)
			registered.Classes = []int{policy.ClassVideo}
			out["peripheral-not-allowed/registered"] = registered
		case policy.ReasonIdentityMismatch:
			d.Detail = policy.FieldInterfaceClasses
			d.Classes = []int{policy.ClassWireless}
			for _, f := range catalog.MismatchFields {
				m := reg(r, v)
				m.Detail = f
				out["identity-mismatch/"+f] = m
			}
			for _, f := range []string{policy.DetailBaselineCapacity, policy.DetailBaselineModel} {
				m := bare(r, v)
				m.Detail = f
				out["identity-mismatch/"+f] = m
			}
		case policy.ReasonAllowEntryMismatch:
			d = bare(r, v)
			d.Detail, d.Classes = policy.DetailPinInterfaces, []int{policy.ClassMassStorage}
			for _, why := range []string{policy.DetailPinDescriptors, policy.DetailNotPinned} {
				m := bare(r, v)
				m.Detail = why
				out["allow-entry-mismatch/"+why] = m
			}
		case policy.ReasonUnexpectedNode:
			d = bare(r, v)
			d.Detail = "net"
		case policy.ReasonRecordInvalid:
			d.Detail = "status"
		case policy.ReasonNoCustodian:
			for _, why := range []string{"none", "inactive", "unknown"} {
				m := reg(r, v)
				m.Detail = why
				out["no-custodian/"+why] = m
			}
			d.Detail = "inactive"
		case policy.ReasonLentOverdue:
			d.DueAt = time.Date(2025, 6, 15, 23, 59, 59, 0, time.UTC)
			out["lent-overdue/no date"] = reg(r, v)
		case policy.ReasonHostNotAllowed:
			m := reg(r, v)
			m.HostNumber = ""
			out["host-not-allowed/no number"] = m
		}
		out[string(r)] = d
	}
	return out
}

func TestDecisionMessages(t *testing.T) {
	for name, d := range decisions() {
		for _, audit := range []bool{false, true} {
			d.Enforce = !audit
			en, zh := catalog.Decision("en", d), catalog.Decision("zh-CN", d)
			if zh != catalog.Decision("zh", d) {
				t.Errorf("%s: zh and zh-CN messages differ", name)
			}
			for lang, msg := range map[string]string{"en": en, "zh-CN": zh} {
				switch {
				case strings.TrimSpace(msg) == "":
					t.Errorf("%s %s: empty message", name, lang)
				case strings.Contains(msg, "%!") || strings.Contains(msg, "%s") || strings.Contains(msg, "%q"):
					t.Errorf("%s %s: formatting error in %q", name, lang, msg)
				case strings.Contains(msg, "unknown reason") || strings.Contains(msg, "未知原因"):
					t.Errorf("%s %s: no message written: %q", name, lang, msg)
				case strings.Contains(msg, "reason.") || strings.Contains(msg, "decision.") || strings.Contains(msg, "mismatch."):
					t.Errorf("%s %s: a key shows instead of its text: %q", name, lang, msg)
				}
			}
			if !hasHan(zh) {
				t.Errorf("%s: zh-CN message has no Chinese: %q", name, zh)
			}
			if hasHan(en) {
				t.Errorf("%s: en message has Chinese: %q", name, en)
			}
			if d.Medium != "" && (!strings.Contains(en, d.Medium) || !strings.Contains(zh, d.Medium)) {
				t.Errorf("%s: messages do not name medium %s:\n%s\n%s", name, d.Medium, en, zh)
			}
			note := strings.Contains(en, "Audit mode") && strings.Contains(zh, "审计模式")
			if want := audit && d.Verdict != policy.Allow; note != want {
				t.Errorf("%s: audit note = %v; want %v:\n%s\n%s", name, note, want, en, zh)
			}
		}
	}
}

func TestDecisionMessageFacts(t *testing.T) {
	ds := decisions()
	for _, tc := range []struct {
		name     string
		lang     string
		contains []string
	}{
		{"level-above-host", "en", []string{"S-2026-0001 is secret, above this host's level (confidential)"}},
		{"level-above-host", "zh", []string{"机密", "秘密", "介质 S-2026-0001 密级为机密"}},
		{"lent-overdue", "en", []string{"2025-06-15"}},
		{"lent-overdue/no date", "zh", []string{"未登记归还日期"}},
		{"peripheral-not-allowed", "en", []string{"this USB device presents wireless controller (Bluetooth, Wi-Fi) [0xe0], unknown class 0x42 [0x42]"}},
		{"peripheral-not-allowed", "zh", []string{"无线控制器（蓝牙、无线网卡） [0xe0]、未知类别 0x42 [0x42]"}},
		{"peripheral-not-allowed/registered", "en", []string{"medium S-2026-0001 presents video"}},
		{"identity-mismatch", "en", []string{"(USB interface classes differ, now also presents wireless"}},
		{"identity-mismatch", "zh", []string{"介质 S-2026-0001 与登记信息不符（USB接口类别不符，现增加了无线控制器"}},
		{"no-custodian/inactive", "en", []string{"custodian zhangsan is no longer active"}},
		{"host-not-allowed/no number", "en", []string{"this host (no number)"}},
		{"allowed", "zh", []string{"允许：介质 S-2026-0001（机密，责任人 zhangsan）。"}},
		{"record-invalid", "en", []string{"(unknown status)"}},
		{"read-only-below-host", "en", []string{"Allowed read-only: medium S-2026-0001 is secret, below this host's level"}},
		{"read-only-below-host", "zh", []string{"允许只读", "低于本机密级"}},
		{"level-below-host", "en", []string{"refuses media of a lower level"}},
		{"peripheral-not-allowed/hid-not-boot", "en", []string{"other than a boot-protocol keyboard or mouse"}},
		{"allow-entry-mismatch", "en", []string{"it presents mass storage [0x08], not the interfaces recorded"}},
		{"allow-entry-mismatch/pin-descriptors", "zh", []string{"USB描述符与放行时记录的不一致"}},
		{"unexpected-node", "en", []string{"a net device node"}},
		{"identity-mismatch/baseline-capacity", "en", []string{"slot of an internal disk", "(capacity differs from the internal disk recorded"}},
	} {
		d, ok := ds[tc.name]
		if !ok {
			t.Fatalf("no decision %s", tc.name)
		}
		got := catalog.Decision(tc.lang, d)
		for _, want := range tc.contains {
			if !strings.Contains(got, want) {
				t.Errorf("%s %s: %q lacks %q", tc.name, tc.lang, got, want)
			}
		}
	}
	unknown := policy.Decision{Reason: "from-the-future"}
	if got := catalog.Decision("en", unknown); !strings.Contains(got, `unknown reason "from-the-future"`) {
		t.Errorf("unknown reason: %q", got)
	}
	if m := catalog.Messages(ds["allowed"]); m[0] != catalog.Decision("en", ds["allowed"]) || m[1] != catalog.Decision("zh", ds["allowed"]) {
		t.Errorf("Messages = %q", m)
	}
}
