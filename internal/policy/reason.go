package policy

import (
	"fmt"
	"strings"
	"time"
)

// Reason is a stable code saying why Decide reached its verdict. Codes are written to
// the audit log and shown by the CLI; never change or reuse one.
type Reason string

const (
	ReasonNotMedia                     Reason = "not-media"                         // allow: not USB, not storage
	ReasonHostNotInitialised           Reason = "host-not-initialised"              // block: no usable host profile
	ReasonPeripheralAllowed            Reason = "peripheral-allowed"                // allow: hub, HID or allowed class/device
	ReasonPeripheralNotAllowed         Reason = "peripheral-not-allowed"            // block: a USB class this host refuses
	ReasonAllowEntryMismatch           Reason = "allow-entry-mismatch"              // block: VID:PID allowed, but other interfaces or descriptors than pinned
	ReasonUnexpectedNode               Reason = "unexpected-node"                   // block: a driver made a net, tty or hidraw node the device was not allowed for
	ReasonBaseline                     Reason = "baseline"                          // allow: internal disk recorded at host init
	ReasonUnregistered                 Reason = "unregistered"                      // block: storage not in the register
	ReasonUnregisteredUnclassifiedHost Reason = "unregistered-on-unclassified-host" // allow: unregistered storage, unclassified host
	ReasonContainer                    Reason = "storage-container"                 // allow: card reader or drive allowed by VID:PID
	ReasonIdentityMismatch             Reason = "identity-mismatch"                 // block: device differs from its registration
	ReasonRecordInvalid                Reason = "record-invalid"                    // block: registration has an unknown status, level or access
	ReasonStatusLost                   Reason = "status-lost"                       // block
	ReasonStatusInVault                Reason = "status-in-vault"                   // block
	ReasonStatusRepair                 Reason = "status-repair"                     // block
	ReasonStatusDestroyed              Reason = "status-destroyed"                  // block
	ReasonStatusRetired                Reason = "status-retired"                    // block
	ReasonNoCustodian                  Reason = "no-custodian"                      // block: no active responsible person
	ReasonHostUnclassified             Reason = "host-unclassified"                 // block: classified medium, unclassified host
	ReasonLevelAboveHost               Reason = "level-above-host"                  // block: medium level above host level
	ReasonLevelBelowHost               Reason = "level-below-host"                  // block: medium below the host level, host refuses lower media
	ReasonHostNotAllowed               Reason = "host-not-allowed"                  // block: medium limited to other hosts
	ReasonLentOverdue                  Reason = "lent-overdue"                      // block: lent past the due date
	ReasonReadOnlyBelowHost            Reason = "read-only-below-host"              // allow read-only: medium below the host level (no write-down)
	ReasonAllowedReadOnly              Reason = "allowed-read-only"                 // allow read-only
	ReasonAllowed                      Reason = "allowed"                           // allow
)

// Reasons lists every reason code in check order.
func Reasons() []Reason {
	return []Reason{
		ReasonNotMedia, ReasonHostNotInitialised, ReasonPeripheralAllowed, ReasonPeripheralNotAllowed,
		ReasonAllowEntryMismatch, ReasonUnexpectedNode,
		ReasonBaseline, ReasonUnregistered, ReasonUnregisteredUnclassifiedHost, ReasonContainer, ReasonIdentityMismatch,
		ReasonRecordInvalid, ReasonStatusLost, ReasonStatusInVault, ReasonStatusRepair,
		ReasonStatusDestroyed, ReasonStatusRetired, ReasonNoCustodian, ReasonHostUnclassified,
		ReasonLevelAboveHost, ReasonLevelBelowHost, ReasonHostNotAllowed, ReasonLentOverdue, ReasonReadOnlyBelowHost,
		ReasonAllowedReadOnly, ReasonAllowed,
	}
}

// Message explains the decision to a person in the given language: "zh" or "zh-CN"
// for Chinese, English otherwise. It says what happened and what to do about it.
func (d Decision) Message(lang string) string {
	zh := isZH(lang)
	t := func(en, cn string) string {
		if zh {
			return cn
		}
		return en
	}
	m := d.mediumLabel(zh)
	var s string
	switch d.Reason {
	case ReasonNotMedia:
		s = t("Allowed: not a USB device and not storage; mediagate does not control it.",
			"允许：该设备既不是USB设备也不是存储设备，不受 mediagate 管控。")
	case ReasonHostNotInitialised:
		s = t("Blocked: this host has no usable mediagate profile yet. Until the security officer initialises the host, no storage device works and only hubs, keyboards and mice do.",
			"已阻止：本机尚未完成 mediagate 主机初始化。在保密员完成初始化之前，任何存储设备均不可使用，仅集线器、键盘和鼠标可用。")
	case ReasonPeripheralAllowed:
		s = fmt.Sprintf(t("Allowed: USB device (%s) is permitted on this host.",
			"允许：该USB设备（%s）在本机允许使用。"), formatClasses(d.Classes, lang))
	case ReasonPeripheralNotAllowed:
		if len(d.Classes) == 0 {
			s = t("Blocked: this USB device presents no interface class that can be checked. Only hubs, keyboards and mice work unless the security officer allows the device (VID:PID) in the host profile.",
				"已阻止：无法识别该USB设备的接口类别。除集线器、键盘和鼠标外，其他外设须由保密员在主机配置中按设备（VID:PID）放行。")
		} else if d.Detail == DetailHIDNotBoot {
			s = fmt.Sprintf(t("Blocked: %s presents %s other than a boot-protocol keyboard or mouse (such as a tablet, a security key or a device that can inject keystrokes or open a raw HID channel). Only boot keyboards and mice work unless the security officer allows the device (VID:PID) in the host profile.",
				"已阻止：%s包含%s，且不是标准（引导协议）键盘或鼠标（例如手写板、安全密钥或可注入按键、开启原始HID通道的设备）。除标准键盘和鼠标外，须由保密员在主机配置中按设备（VID:PID）放行。"),
				d.subject(zh), formatClasses(d.Classes, lang))
		} else {
			s = fmt.Sprintf(t("Blocked: %s presents %s, which this host does not allow. Only hubs, keyboards and mice work unless the security officer allows the class or the device (VID:PID) in the host profile.",
				"已阻止：%s包含%s，本机不允许使用。除集线器、键盘和鼠标外，其他外设须由保密员在主机配置中按类别或设备（VID:PID）放行。"),
				d.subject(zh), formatClasses(d.Classes, lang))
		}
	case ReasonAllowEntryMismatch:
		var why string
		switch d.Detail {
		case DetailPinDescriptors:
			why = t("its USB descriptors differ from those recorded when it was allowed", "其USB描述符与放行时记录的不一致")
		case DetailNotPinned:
			why = t("it presents mass storage, and the allow entry was recorded without the device's interfaces", "其包含大容量存储接口，而该放行条目未记录设备接口")
		default:
			why = fmt.Sprintf(t("it presents %s, not the interfaces recorded when it was allowed", "其包含%s，与放行时记录的接口不一致"), formatClasses(d.Classes, lang))
		}
		s = fmt.Sprintf(t("Blocked: this USB device has the VID:PID of a device allowed on this host, but %s. The whole device stays blocked; if it is the allowed device, the security officer allows it again with it plugged in (mediagate host init … --allow-device VID:PID).",
			"已阻止：该USB设备的VID:PID属于本机放行的设备，但%s。整个设备保持阻止；如确为放行设备，请保密员在插入该设备后重新放行（mediagate host init … --allow-device VID:PID）。"), why)
	case ReasonUnexpectedNode:
		s = fmt.Sprintf(t("Blocked: a driver gave this USB device a %s device node, which it was not allowed for (a keyboard or a medium does not get a network interface, serial port or raw HID channel); the device was taken away.",
			"已阻止：驱动为该USB设备创建了 %s 设备节点，而该设备未被允许用于此用途（键盘或存储介质不应出现网络接口、串口或原始HID通道），已将其断开。"), d.Detail)
	case ReasonBaseline:
		s = t("Allowed: internal disk recorded when this host was initialised.",
			"允许：本机初始化时登记的内置硬盘。")
	case ReasonUnregistered:
		s = t("Blocked: this storage medium is not registered. Unregistered media may never be used on a classified host; ask the security officer to register it.",
			"已阻止：该存储介质未登记。未登记的介质严禁在涉密计算机上使用，请联系保密员登记。")
	case ReasonUnregisteredUnclassifiedHost:
		s = t("Allowed: unregistered medium on an unclassified host. Never put classified information on it.",
			"允许：在非涉密计算机上使用未登记介质。严禁用其存储涉密信息。")
	case ReasonContainer:
		s = t("Allowed: a card reader or optical drive this host allows by VID:PID (a container); each medium in it is decided on its own.",
			"允许：本机配置允许的读卡器或光驱（容器），其中的介质将单独判定。")
	case ReasonIdentityMismatch:
		if d.Detail == DetailBaselineCapacity || d.Detail == DetailBaselineModel {
			s = fmt.Sprintf(t("Blocked: this disk sits in the slot of an internal disk of this host but is not that disk (%s). Another disk may have been put into the bay; report it to the security officer.",
				"已阻止：该磁盘位于本机内置磁盘的槽位，但并非该磁盘（%s）。可能有人更换了硬盘，请报告保密员。"), fieldName(d.Detail, zh))
			break
		}
		field := fieldName(d.Detail, zh)
		if d.Detail == FieldInterfaceClasses && len(d.Classes) > 0 {
			field += t(", now also presents ", "，现增加了") + formatClasses(d.Classes, lang)
		}
		s = fmt.Sprintf(t("Blocked: %s does not match its registration (%s). It may have been altered or swapped; do not use it and report it to the security officer.",
			"已阻止：%s与登记信息不符（%s）。该介质可能已被改动或调换，请停止使用并报告保密员。"), m, field)
	case ReasonRecordInvalid:
		s = fmt.Sprintf(t("Blocked: the registration of %s is invalid (%s). The security officer must correct the register.",
			"已阻止：%s的登记信息无效（%s），请保密员更正登记。"), m, recordFieldName(d.Detail, zh))
	case ReasonStatusLost:
		s = fmt.Sprintf(t("Blocked: %s is registered as lost. Report it to the security officer at once.",
			"已阻止：%s已登记为丢失，请立即报告保密员。"), m)
	case ReasonStatusInVault:
		s = fmt.Sprintf(t("Blocked: %s is registered as kept in the vault. The security officer must issue it again before it can be used.",
			"已阻止：%s已登记为入柜保存，须由保密员重新发放后方可使用。"), m)
	case ReasonStatusRepair:
		s = fmt.Sprintf(t("Blocked: %s is registered as sent for repair. The security officer must record its return before it can be used.",
			"已阻止：%s已登记为送修，须由保密员登记修复返回后方可使用。"), m)
	case ReasonStatusDestroyed:
		s = fmt.Sprintf(t("Blocked: %s is registered as destroyed and may never be used. Report it to the security officer.",
			"已阻止：%s已登记为销毁，严禁使用，请报告保密员。"), m)
	case ReasonStatusRetired:
		s = fmt.Sprintf(t("Blocked: %s has been retired from use and may not be used.",
			"已阻止：%s已停用，不得使用。"), m)
	case ReasonNoCustodian:
		var why string
		switch d.Detail {
		case "none":
			why = t("no custodian is recorded", "未登记责任人")
		case "inactive":
			why = fmt.Sprintf(t("custodian %s is no longer active", "责任人 %s 已停用"), d.Custodian)
		default:
			why = fmt.Sprintf(t("custodian %s is not a known person", "责任人 %s 不存在"), d.Custodian)
		}
		s = fmt.Sprintf(t("Blocked: %s has no active custodian (%s). Every classified medium needs one named responsible person; the security officer must assign one.",
			"已阻止：%s没有有效的责任人（%s）。涉密介质必须明确专人负责，请保密员指定责任人。"), m, why)
	case ReasonHostUnclassified:
		s = fmt.Sprintf(t("Blocked: %s is classified %s; classified media may never be used on an unclassified host.",
			"已阻止：%s为%s级涉密介质，严禁在非涉密计算机上使用。"), m, d.MediumLevel.Name(langKey(zh)))
	case ReasonLevelAboveHost:
		s = fmt.Sprintf(t("Blocked: %s is %s, above this host's level (%s). A medium may only be used on a host of at least its level.",
			"已阻止：%s密级为%s，高于本机密级（%s）。涉密介质只能在密级不低于其密级的计算机上使用。"),
			m, d.MediumLevel.Name(langKey(zh)), d.HostLevel.Name(langKey(zh)))
	case ReasonLevelBelowHost:
		s = fmt.Sprintf(t("Blocked: %s is %s, below this host's level (%s), and this host refuses media of a lower level, so that its data cannot be written down to them.",
			"已阻止：%s密级为%s，低于本机密级（%s）；本机不允许使用低密级介质，以防高密级信息写入低密级介质。"),
			m, d.MediumLevel.Name(langKey(zh)), d.HostLevel.Name(langKey(zh)))
	case ReasonReadOnlyBelowHost:
		s = fmt.Sprintf(t("Allowed read-only: %s is %s, below this host's level (%s); it may be read here but never written, so that data of this host cannot walk down a level.",
			"允许只读：%s密级为%s，低于本机密级（%s）；在本机只能读取，不能写入，以防高密级信息写入低密级介质。"),
			m, d.MediumLevel.Name(langKey(zh)), d.HostLevel.Name(langKey(zh)))
	case ReasonHostNotAllowed:
		s = fmt.Sprintf(t("Blocked: %s is limited to other hosts; this host (%s) is not one of them.",
			"已阻止：%s仅限在指定计算机上使用，本机（%s）不在其列。"), m, d.hostLabel(zh))
	case ReasonLentOverdue:
		if d.DueAt.IsZero() {
			s = fmt.Sprintf(t("Blocked: %s is lent but no return date is recorded. Ask the security officer to record the loan properly.",
				"已阻止：%s处于借出状态但未登记归还日期，请保密员补办借用登记。"), m)
		} else {
			s = fmt.Sprintf(t("Blocked: %s was lent and was due back on %s. Return it to its custodian or ask the security officer to extend the loan.",
				"已阻止：%s借用已于 %s 到期，请归还责任人或请保密员办理续借。"), m, d.DueAt.Format(time.DateOnly))
		}
	case ReasonAllowedReadOnly:
		s = fmt.Sprintf(t("Allowed read-only: %s (%s) may be read but not written.",
			"允许只读：%s（%s）只能读取，不能写入。"), m, d.MediumLevel.Name(langKey(zh)))
	case ReasonAllowed:
		s = fmt.Sprintf(t("Allowed: %s (%s, custodian %s).",
			"允许：%s（%s，责任人 %s）。"), m, d.MediumLevel.Name(langKey(zh)), d.Custodian)
	default:
		s = fmt.Sprintf(t("Blocked: unknown reason %q.", "已阻止：未知原因 %q。"), string(d.Reason))
	}
	if zh {
		// mediumLabel ends in a space to set the number apart from the text after it;
		// full-width punctuation needs none.
		s = strings.ReplaceAll(s, " （", "（")
	}
	if !d.Enforce && d.Reason != "" && d.Verdict != Allow {
		s += t(" Audit mode: logged only, not enforced.", "（审计模式：仅记录，未执行阻止。）")
	}
	return s
}

func langKey(zh bool) string {
	if zh {
		return "zh"
	}
	return "en"
}

func (d Decision) mediumLabel(zh bool) string {
	switch {
	case d.Medium == "" && zh:
		return "该介质"
	case d.Medium == "":
		return "this medium"
	case zh:
		return "介质 " + d.Medium + " "
	}
	return "medium " + d.Medium
}

// subject names the device in peripheral-not-allowed: the medium when it is registered.
func (d Decision) subject(zh bool) string {
	if d.Medium != "" {
		return d.mediumLabel(zh)
	}
	if zh {
		return "该USB设备"
	}
	return "this USB device"
}

func (d Decision) hostLabel(zh bool) string {
	if d.HostNumber != "" {
		return d.HostNumber
	}
	if zh {
		return "未编号"
	}
	return "no number"
}

func fieldName(f string, zh bool) string {
	names := map[string][2]string{
		FieldKind:              {"kind differs", "类型不符"},
		FieldKey:               {"identity key differs", "标识不符"},
		FieldSerial:            {"serial number differs", "序列号不符"},
		FieldVendorID:          {"vendor id differs", "厂商ID不符"},
		FieldProductID:         {"product id differs", "产品ID不符"},
		FieldWWN:               {"WWN differs", "WWN不符"},
		FieldCapacity:          {"capacity differs", "容量不符"},
		FieldDescriptorHash:    {"USB descriptors differ", "USB描述符不符"},
		FieldInterfaceClasses:  {"USB interface classes differ", "USB接口类别不符"},
		DetailBaselineCapacity: {"capacity differs from the internal disk recorded in this slot at host init", "容量与主机初始化时该槽位记录的内置磁盘不符"},
		DetailBaselineModel:    {"model differs from the internal disk recorded in this slot at host init", "型号与主机初始化时该槽位记录的内置磁盘不符"},
	}
	n, ok := names[f]
	if !ok {
		n = [2]string{f + " differs", f + "不符"}
	}
	if zh {
		return n[1]
	}
	return n[0]
}

func recordFieldName(f string, zh bool) string {
	names := map[string][2]string{
		"status": {"unknown status", "状态未知"},
		"level":  {"unknown level", "密级未知"},
		"access": {"unknown access mode", "读写权限未知"},
	}
	n, ok := names[f]
	if !ok {
		n = [2]string{f, f}
	}
	if zh {
		return n[1]
	}
	return n[0]
}
