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
}
