package catalog

// logship holds the texts of the office's collection of its hosts' audit logs: the
// office's audit kinds about them, the host's shipper, and the officer's commands on
// broken and frozen hosts.
var logship = map[string][2]string{
	"event-kind.office.host-log-broken": {"office.host-log-broken", "计算机日志链断裂"},
	"event-kind.office.host-freeze":     {"office.host-freeze", "冻结计算机"},
	"event-kind.office.host-unfreeze":   {"office.host-unfreeze", "解冻计算机"},
	"detail.host_seq":                   {"host_seq", "计算机端序号"},
	"detail.office_seq":                 {"office_seq", "办公室已确认序号"},
	"detail.seq":                        {"seq", "序号"},

	// status of an enrolled host
	"field.office-log":       {"Audit log at the office", "办公室留存的审计日志"},
	"out.office-log":         {"acknowledged up to row %d of %d (%s)", "已确认至第 %d 行，共 %d 行（%s）"},
	"out.office-log-waiting": {"acknowledged up to row %d of %d; the rest is kept until acknowledged: %s", "已确认至第 %d 行，共 %d 行；其余行保留至确认：%s"},
	"out.office-log-broken":  {"BROKEN at row %d: the office holds this host's log as tampered (%s); tell the security officer", "第 %d 行起断裂：办公室认定本机日志被篡改（%s）；请报告保密员"},

	// server host list/show/freeze
	"out.host-log-broken-state": {"LOG BROKEN at row %d", "日志自第 %d 行断裂"},
	"out.host-frozen-state":     {"frozen", "已冻结"},
	"out.host-log":              {"acknowledged up to row %d (%s)", "已确认至第 %d 行（%s）"},
	"out.host-log-broken":       {"BROKEN at row %d since %s: %s (acknowledged up to row %d)", "自第 %d 行断裂（%s）：%s（已确认至第 %d 行）"},
	"field.frozen":              {"Frozen since", "冻结时间"},
	"out.host-frozen":           {"host %s frozen: its policy holds no media (every medium is blocked there) until it is unfrozen", "主机 %s 已冻结：其策略不含任何介质（该机上所有介质均被阻止），直至解冻"},
	"out.host-unfrozen":         {"host %s unfrozen: its policy holds its media again", "主机 %s 已解冻：其策略恢复包含其介质"},

	"help.server host freeze":   {"Freeze a host whose log the office caught tampered: its policy holds no media until unfrozen", "冻结被办公室发现日志遭篡改的主机：解冻前其策略不含任何介质"},
	"help.server host unfreeze": {"Unfreeze a host after the investigation: its policy holds its media again", "调查结束后解冻主机：其策略恢复包含其介质"},
}
