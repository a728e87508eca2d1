package catalog

import (
	"strings"
	"time"

	"mediagate/internal/policy"
)

// reasons explain a policy decision: "reason.<code>" for every policy.Reason, with
// the variants some reasons need, and the words they are built from.
var reasons = map[string][2]string{
	"reason.not-media": {"Allowed: not a USB device and not storage; mediagate does not control it.",
		"允许：该设备既不是USB设备也不是存储设备，不受 mediagate 管控。"},
	"reason.host-not-initialised": {"Blocked: this host has no usable mediagate profile yet. Until the security officer initialises the host, no storage device works and only hubs, keyboards and mice do.",
		"已阻止：本机尚未完成 mediagate 主机初始化。在保密员完成初始化之前，任何存储设备均不可使用，仅集线器、键盘和鼠标可用。"},
	"reason.peripheral-allowed": {"Allowed: USB device (%s) is permitted on this host.",
		"允许：该USB设备（%s）在本机允许使用。"},
	"reason.peripheral-not-allowed": {"Blocked: %s presents %s, which this host does not allow. Only hubs, keyboards and mice work unless the security officer allows the class or the device (VID:PID) in the host profile.",
		"已阻止：%s包含%s，本机不允许使用。除集线器、键盘和鼠标外，其他外设须由保密员在主机配置中按类别或设备（VID:PID）放行。"},
	"reason.peripheral-not-allowed.no-class": {"Blocked: this USB device presents no interface class that can be checked. Only hubs, keyboards and mice work unless the security officer allows the device (VID:PID) in the host profile.",
		"已阻止：无法识别该USB设备的接口类别。除集线器、键盘和鼠标外，其他外设须由保密员在主机配置中按设备（VID:PID）放行。"},
	"reason.peripheral-not-allowed.hid-not-boot": {"Blocked: %s presents %s other than a boot-protocol keyboard or mouse (such as a tablet, a security key or a device that can inject keystrokes or open a raw HID channel). Only boot keyboards and mice work unless the security officer allows the device (VID:PID) in the host profile.",
		"已阻止：%s包含%s，且不是标准（引导协议）键盘或鼠标（例如手写板、安全密钥或可注入按键、开启原始HID通道的设备）。除标准键盘和鼠标外，须由保密员在主机配置中按设备（VID:PID）放行。"},
	"reason.allow-entry-mismatch": {"Blocked: this USB device has the VID:PID of a device allowed on this host, but %s. The whole device stays blocked; if it is the allowed device, the security officer allows it again with it plugged in (mediagate host init … --allow-device VID:PID).",
		"已阻止：该USB设备的VID:PID属于本机放行的设备，但%s。整个设备保持阻止；如确为放行设备，请保密员在插入该设备后重新放行（mediagate host init … --allow-device VID:PID）。"},
	"pin.interfaces":  {"it presents %s, not the interfaces recorded when it was allowed", "其包含%s，与放行时记录的接口不一致"},
	"pin.descriptors": {"its USB descriptors differ from those recorded when it was allowed", "其USB描述符与放行时记录的不一致"},
	"pin.not-pinned":  {"it presents mass storage, and the allow entry was recorded without the device's interfaces", "其包含大容量存储接口，而该放行条目未记录设备接口"},
	"reason.unexpected-node": {"Blocked: a driver gave this USB device a %s device node, which it was not allowed for (a keyboard or a medium does not get a network interface, serial port or raw HID channel); the device was taken away.",
		"已阻止：驱动为该USB设备创建了 %s 设备节点，而该设备未被允许用于此用途（键盘或存储介质不应出现网络接口、串口或原始HID通道），已将其断开。"},
	"reason.audit-unavailable": {"Blocked: %s would be allowed, but mediagate cannot write its audit log on this host (the disk may be full), and no medium is used without its decision on record. Tell the security officer; once the log can be written again, the medium is let in without being plugged again.",
		"已阻止：%s本可使用，但 mediagate 目前无法写入本机审计日志（可能磁盘已满），未留记录的介质一律不得使用。请报告保密员；审计日志恢复写入后，该介质无需重新插入即可使用。"},
	"reason.baseline": {"Allowed: internal disk recorded when this host was initialised.",
		"允许：本机初始化时登记的内置硬盘。"},
	"reason.unregistered": {"Blocked: this storage medium is not registered. Unregistered media may never be used on a classified host; ask the security officer to register it.",
		"已阻止：该存储介质未登记。未登记的介质严禁在涉密计算机上使用，请联系保密员登记。"},
	"reason.unregistered-on-unclassified-host": {"Allowed: unregistered medium on an unclassified host. Never put classified information on it.",
		"允许：在非涉密计算机上使用未登记介质。严禁用其存储涉密信息。"},
	"reason.storage-container": {"Allowed: a card reader or optical drive this host allows by VID:PID (a container); each medium in it is decided on its own.",
		"允许：本机配置允许的读卡器或光驱（容器），其中的介质将单独判定。"},
	"reason.identity-mismatch": {"Blocked: %s does not match its registration (%s). It may have been altered or swapped; do not use it and report it to the security officer.",
		"已阻止：%s与登记信息不符（%s）。该介质可能已被改动或调换，请停止使用并报告保密员。"},
	"reason.identity-mismatch.baseline-slot": {"Blocked: this disk sits in the slot of an internal disk of this host but is not that disk (%s). Another disk may have been put into the bay; report it to the security officer.",
		"已阻止：该磁盘位于本机内置磁盘的槽位，但并非该磁盘（%s）。可能有人更换了硬盘，请报告保密员。"},
	"reason.record-invalid": {"Blocked: the registration of %s is invalid (%s). The security officer must correct the register.",
		"已阻止：%s的登记信息无效（%s），请保密员更正登记。"},
	"reason.status-lost": {"Blocked: %s is registered as lost. Report it to the security officer at once.",
		"已阻止：%s已登记为丢失，请立即报告保密员。"},
	"reason.status-in-vault": {"Blocked: %s is registered as kept in the vault. The security officer must issue it again before it can be used.",
		"已阻止：%s已登记为入柜保存，须由保密员重新发放后方可使用。"},
	"reason.status-repair": {"Blocked: %s is registered as sent for repair. The security officer must record its return before it can be used.",
		"已阻止：%s已登记为送修，须由保密员登记修复返回后方可使用。"},
	"reason.status-destroyed": {"Blocked: %s is registered as destroyed and may never be used. Report it to the security officer.",
		"已阻止：%s已登记为销毁，严禁使用，请报告保密员。"},
	"reason.status-retired": {"Blocked: %s has been retired from use and may not be used.",
		"已阻止：%s已停用，不得使用。"},
	"reason.no-custodian": {"Blocked: %s has no active custodian (%s). Every classified medium needs one named responsible person; the security officer must assign one.",
		"已阻止：%s没有有效的责任人（%s）。涉密介质必须明确专人负责，请保密员指定责任人。"},
	"reason.host-unclassified": {"Blocked: %s is classified %s; classified media may never be used on an unclassified host.",
		"已阻止：%s为%s级涉密介质，严禁在非涉密计算机上使用。"},
	"reason.level-above-host": {"Blocked: %s is %s, above this host's level (%s). A medium may only be used on a host of at least its level.",
		"已阻止：%s密级为%s，高于本机密级（%s）。涉密介质只能在密级不低于其密级的计算机上使用。"},
	"reason.level-below-host": {"Blocked: %s is %s, below this host's level (%s), and this host refuses media of a lower level, so that its data cannot be written down to them.",
		"已阻止：%s密级为%s，低于本机密级（%s）；本机不允许使用低密级介质，以防高密级信息写入低密级介质。"},
	"reason.read-only-below-host": {"Allowed read-only: %s is %s, below this host's level (%s); it may be read here but never written, so that data of this host cannot walk down a level.",
		"允许只读：%s密级为%s，低于本机密级（%s）；在本机只能读取，不能写入，以防高密级信息写入低密级介质。"},
	"reason.host-not-allowed": {"Blocked: %s is limited to other hosts; this host (%s) is not one of them.",
		"已阻止：%s仅限在指定计算机上使用，本机（%s）不在其列。"},
	"reason.lent-overdue": {"Blocked: %s was lent and was due back on %s. Return it to its custodian or ask the security officer to extend the loan.",
		"已阻止：%s借用已于 %s 到期，请归还责任人或请保密员办理续借。"},
	"reason.lent-overdue.no-date": {"Blocked: %s is lent but no return date is recorded. Ask the security officer to record the loan properly.",
		"已阻止：%s处于借出状态但未登记归还日期，请保密员补办借用登记。"},
	"reason.allowed-read-only": {"Allowed read-only: %s (%s) may be read but not written.",
		"允许只读：%s（%s）只能读取，不能写入。"},
	"reason.allowed": {"Allowed: %s (%s, custodian %s).",
		"允许：%s（%s，责任人 %s）。"},
	"reason.unknown": {"Blocked: unknown reason %q.", "已阻止：未知原因 %q。"},

	"decision.audit-mode": {" Audit mode: logged only, not enforced.", "（审计模式：仅记录，未执行阻止。）"},
	// The Chinese label ends in a space to set the number apart from the text after
	// it; Decision drops it before full-width punctuation.
	"decision.medium":      {"medium %s", "介质 %s "},
	"decision.this-medium": {"this medium", "该介质"},
	"decision.this-usb":    {"this USB device", "该USB设备"},
	"decision.no-number":   {"no number", "未编号"},
	"decision.no-classes":  {"none", "无"},
	"decision.class":       {"%s [0x%02x]", "%s [0x%02x]"},
	"decision.class-sep":   {", ", "、"},
	"decision.also":        {"%s, now also presents %s", "%s，现增加了%s"},

	"custodian.none":     {"no custodian is recorded", "未登记责任人"},
	"custodian.inactive": {"custodian %s is no longer active", "责任人 %s 已停用"},
	"custodian.unknown":  {"custodian %s is not a known person", "责任人 %s 不存在"},

	"mismatch.kind":              {"kind differs", "类型不符"},
	"mismatch.key":               {"identity key differs", "标识不符"},
	"mismatch.serial":            {"serial number differs", "序列号不符"},
	"mismatch.vendor-id":         {"vendor id differs", "厂商ID不符"},
	"mismatch.product-id":        {"product id differs", "产品ID不符"},
	"mismatch.wwn":               {"WWN differs", "WWN不符"},
	"mismatch.capacity":          {"capacity differs", "容量不符"},
	"mismatch.descriptor-hash":   {"USB descriptors differ", "USB描述符不符"},
	"mismatch.interface-classes": {"USB interface classes differ", "USB接口类别不符"},
	"mismatch.extra-disk":        {"the USB device presents more than one disk; a registration covers exactly one", "该USB设备包含多个磁盘，一项登记只对应一个磁盘"},
	"mismatch.baseline-capacity": {"capacity differs from the internal disk recorded in this slot at host init", "容量与主机初始化时该槽位记录的内置磁盘不符"},
	"mismatch.baseline-model":    {"model differs from the internal disk recorded in this slot at host init", "型号与主机初始化时该槽位记录的内置磁盘不符"},
	"mismatch.other":             {"%s differs", "%s不符"},

	"record.status": {"unknown status", "状态未知"},
	"record.level":  {"unknown level", "密级未知"},
	"record.access": {"unknown access mode", "读写权限未知"},
}

// MismatchFields lists the identity fields policy can name in identity-mismatch.
var MismatchFields = []string{policy.FieldKind, policy.FieldKey, policy.FieldSerial, policy.FieldVendorID,
	policy.FieldProductID, policy.FieldWWN, policy.FieldCapacity, policy.FieldDescriptorHash, policy.FieldInterfaceClasses, policy.DetailExtraDisk}

// Class names a USB interface class code in lang.
func Class(lang string, code int) string {
	c, ok := policy.LookupClass(code)
	if !ok {
		return T(lang, "class.unknown", c.Key)
	}
	return name(lang, "class.", c.Key)
}

// Classes renders class codes as "mass storage [0x08], hub [0x09]".
func Classes(lang string, codes []int) string {
	if len(codes) == 0 {
		return T(lang, "decision.no-classes")
	}
	parts := make([]string, len(codes))
	for i, code := range codes {
		parts[i] = T(lang, "decision.class", Class(lang, code), code)
	}
	return strings.Join(parts, T(lang, "decision.class-sep"))
}

// Decision explains a policy decision to a person in lang: what happened and what
// to do about it.
func Decision(lang string, d policy.Decision) string {
	lang = Lang(lang)
	m := T(lang, "decision.this-medium")
	if d.Medium != "" {
		m = T(lang, "decision.medium", d.Medium)
	}
	key := "reason." + string(d.Reason)
	var args []any
	switch d.Reason {
	case policy.ReasonPeripheralAllowed:
		args = []any{Classes(lang, d.Classes)}
	case policy.ReasonPeripheralNotAllowed:
		if len(d.Classes) == 0 {
			key += ".no-class"
		} else {
			if d.Detail == policy.DetailHIDNotBoot {
				key += ".hid-not-boot"
			}
			subject := m
			if d.Medium == "" {
				subject = T(lang, "decision.this-usb")
			}
			args = []any{subject, Classes(lang, d.Classes)}
		}
	case policy.ReasonAllowEntryMismatch:
		switch d.Detail {
		case policy.DetailPinDescriptors:
			args = []any{T(lang, "pin.descriptors")}
		case policy.DetailNotPinned:
			args = []any{T(lang, "pin.not-pinned")}
		default:
			args = []any{T(lang, "pin.interfaces", Classes(lang, d.Classes))}
		}
	case policy.ReasonUnexpectedNode:
		args = []any{d.Detail}
	case policy.ReasonAuditUnavailable:
		args = []any{m}
	case policy.ReasonIdentityMismatch:
		if d.Detail == policy.DetailBaselineCapacity || d.Detail == policy.DetailBaselineModel {
			key += ".baseline-slot"
		}
		field := T(lang, "mismatch.other", d.Detail)
		if Has("mismatch." + d.Detail) {
			field = T(lang, "mismatch."+d.Detail)
		}
		if d.Detail == policy.FieldInterfaceClasses && len(d.Classes) > 0 {
			field = T(lang, "decision.also", field, Classes(lang, d.Classes))
		}
		args = []any{m, field}
		if strings.HasSuffix(key, ".baseline-slot") {
			args = []any{field}
		}
	case policy.ReasonRecordInvalid:
		field := d.Detail
		if Has("record." + d.Detail) {
			field = T(lang, "record."+d.Detail)
		}
		args = []any{m, field}
	case policy.ReasonStatusLost, policy.ReasonStatusInVault, policy.ReasonStatusRepair,
		policy.ReasonStatusDestroyed, policy.ReasonStatusRetired:
		args = []any{m}
	case policy.ReasonNoCustodian:
		var why string
		switch d.Detail {
		case "none":
			why = T(lang, "custodian.none")
		case "inactive":
			why = T(lang, "custodian.inactive", d.Custodian)
		default:
			why = T(lang, "custodian.unknown", d.Custodian)
		}
		args = []any{m, why}
	case policy.ReasonHostUnclassified:
		args = []any{m, d.MediumLevel}
	case policy.ReasonLevelAboveHost, policy.ReasonLevelBelowHost, policy.ReasonReadOnlyBelowHost:
		args = []any{m, d.MediumLevel, d.HostLevel}
	case policy.ReasonHostNotAllowed:
		host := d.HostNumber
		if host == "" {
			host = T(lang, "decision.no-number")
		}
		args = []any{m, host}
	case policy.ReasonLentOverdue:
		if d.DueAt.IsZero() {
			key += ".no-date"
			args = []any{m}
		} else {
			args = []any{m, d.DueAt.Format(time.DateOnly)}
		}
	case policy.ReasonAllowedReadOnly:
		args = []any{m, d.MediumLevel}
	case policy.ReasonAllowed:
		args = []any{m, d.MediumLevel, d.Custodian}
	}
	if !Has(key) {
		key, args = "reason.unknown", []any{string(d.Reason)}
	}
	s := T(lang, key, args...)
	if lang == ZH {
		// the medium label's trailing space is not wanted before full-width punctuation
		s = strings.ReplaceAll(s, " （", "（")
	}
	if !d.Enforce && d.Reason != "" && d.Verdict != policy.Allow {
		s += T(lang, "decision.audit-mode")
	}
	return s
}

// Messages returns a decision's message in English and Chinese, as the daemon
// reports it over the control socket and to desktop notifications.
func Messages(d policy.Decision) [2]string {
	return [2]string{Decision(EN, d), Decision(ZH, d)}
}
