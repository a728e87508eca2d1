package catalog

// verify are the texts of `audit verify`'s check of the register against its log
// and of the office's acknowledgement.
var verify = map[string][2]string{
	"out.register-ok": {"register matches its audit log: %d people, %d media, %d campaigns",
		"登记簿与审计日志一致：%d 名人员，%d 件介质，%d 次年终交存"},
	"out.verify-unverifiable": {"unverifiable before release %d: %s.%s is taken from the register as it is (rows up to %d do not record it)",
		"第 %d 版之前无法核对：%s.%s 按登记簿现状采信（第 %d 行及之前的审计记录未载明）"},
	"out.verify-not-in-log": {"%s %s: the audit log never made this row (register: %s)",
		"%s %s：审计日志中没有产生该行的记录（登记簿：%s）"},
	"out.verify-missing": {"%s %s: the audit log made this row (%s, row %d), the register does not hold it",
		"%s %s：审计日志记录了该行（%s，第 %d 行），登记簿中却没有"},
	"out.verify-differs": {"%s %s: %s is %q in the register, the audit log makes it %q (row %d)",
		"%s %s：%s 在登记簿中为 %q，按审计日志应为 %q（第 %d 行）"},
	"out.verify-log": {"audit log %[2]s (%[3]s) does not fit the register before it: %[4]s (%[1]s)",
		"审计日志%[2]s（%[3]s）与其之前的登记状态不符：%[4]s（%[1]s）"},
	"out.verify-anchor-missing": {"the office acknowledged row %d of this host's log, but the log ends at row %s: it was rolled back or cut",
		"办公室已确认本机审计日志第 %d 行，但日志止于第 %s 行：日志被回滚或截断"},
	"out.verify-anchor-hash": {"the office acknowledged row %d with hash %s; the log here holds %s: the log was rewritten",
		"办公室确认的第 %d 行哈希为 %s，本机日志中为 %s：日志被改写"},
	"out.verify-anchor-host": {"the office's acknowledgement of row %d is for host %s; this register is host %s",
		"办公室对第 %d 行的确认属于主机 %s，本登记簿属于主机 %s"},
	"out.ack-ok": {"office acknowledgement of row %d (%s) is in the log", "办公室确认的第 %d 行（%s）在日志中"},
	"out.ack-none": {"no acknowledgement from the office: on this host alone a rollback to an older copy of the register cannot be detected",
		"没有办公室的确认：仅凭本机无法发现登记簿被换回旧副本"},
	"out.ack-unsigned": {"the acknowledgement's signature was not checked: no office key at %s",
		"未校验确认的签名：%s 处没有办公室公钥"},
	"err.register-tampered": {"the register does not match its audit log: %d findings (tampering)",
		"登记簿与审计日志不符：共 %d 处（疑被篡改）"},
	"err.ack-signature": {"the office acknowledgement %s does not verify with the office key %s",
		"办公室确认 %s 无法用办公室公钥 %s 验证"},
	"err.ack-unreadable": {"the office acknowledgement cannot be read: %s", "无法读取办公室确认：%s"},
}
