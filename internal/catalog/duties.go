package catalog

// duties holds the messages of separation of duties, the printable forms, guarded
// actions and the command-line conventions (summary, completion, man pages).
var duties = map[string][2]string{
	"err.no-register":        {"no register at %s: run 'mediagate host init' to create one, or check --db / MEDIAGATE_DB", "%s 处没有登记库：请先运行 'mediagate host init' 创建，或检查 --db / MEDIAGATE_DB"},
	"err.ci-close-early":     {"the %d check-in campaign runs until %s: confirm closing it early (checkin close asks, or --yes)", "%d 年度年终交存截止于 %s：提前结束须确认（checkin close 会询问，或加 --yes）"},
	"out.ci-would-close":     {"closing the %d check-in campaign now would put %d in the vault, leave %d away at the repairer, flag %d missing (lost) and count %d withdrawn; nothing was changed", "现在结束 %d 年度年终交存将：入柜 %d 件，送修在外 %d 件，标记缺失（丢失）%d 件，注销 %d 件；未做任何更改"},
	"out.ci-before-deadline": {"the deadline %s has not passed: closing now needs confirmation (or --yes)", "截止期限 %s 未到：现在结束须确认（或加 --yes）"},
	"out.ci-close-confirm":   {"the %d campaign runs until %s; closing now flags %d media missing (lost).", "%d 年度年终交存截止于 %s；现在结束将把 %d 件介质标记为缺失（丢失）。"},
	"out.confirm-prompt":     {"Go ahead? [y/N]", "是否继续？[y/N]"},
	"usage.confirm-yes":      {"this needs confirmation: run it at a terminal, or give --yes", "此操作须确认：请在终端中运行，或加 --yes"},
	"err.not-confirmed":      {"not confirmed; nothing was changed", "未确认；未做任何更改"},
	"usage.key-form":         {"--key %q is not a well-formed key of a %s medium (want %s; copy it from 'mediagate devices')", "--key %q 不是格式正确的%s介质标识（应为 %s；请从 'mediagate devices' 复制）"},
	"usage.key-serial":       {"--key %q holds another serial than --serial %q", "--key %q 中的序列号与 --serial %q 不一致"},
	"err.baseline-disk":      {"%s is one of this host's own disks (its baseline, recorded at host init %s): it cannot be registered as a medium", "%s 是本机自身的磁盘（host init %s 时记录的基线）：不能作为介质登记"},
	"err.filter-unknown":     {"--%s %q: no such one in the register", "--%s %q：登记库中没有"},
	"out.numbering-next":     {"pattern %s; level codes: %s; next numbers: %s", "编号规则 %s；密级代码：%s；下一个编号：%s"},
	"list.sep":               {", ", "、"},
	"err.host-level-down":    {"host %s is %s: lowering it to %s stops media above that level working on it; confirm it (host init asks, or --yes)", "主机 %s 为%s：降为%s后，高于该密级的介质将无法在本机使用；须确认（host init 会询问，或加 --yes）"},
	"out.host-lower-confirm": {"host %s is %s; lowering it to %s stops media above that level working on it.", "主机 %s 为%s；降为%s后，高于该密级的介质将无法在本机使用。"},
	"err.duty-same":          {"%s cannot be both %s and %s of %s: the form needs different people", "%s 不能同时担任 %s 的%s和%s：表单须由不同人员签字"},
	"role.approver":          {"approver", "审批人"},
	"role.custodian":         {"custodian", "责任人"},
	"role.borrower":          {"borrower", "借用人"},
	"role.witness":           {"witness", "监销人"},
	"hdr.media-lent":         {"NUMBER\tKIND\tLEVEL\tCUSTODIAN\tBORROWER\tDUE\tOVERDUE", "编号\t类型\t密级\t责任人\t借用人\t应还日期\t逾期"},
	"usage.overdue-status":   {"--overdue lists lent media: leave out --status or give --status lent", "--overdue 列出借出的介质：请去掉 --status 或用 --status lent"},
	"usage.follow-until":     {"--follow prints rows as they come: leave out --until", "--follow 持续输出新记录：请去掉 --until"},
	"usage.no-json":          {"%s does not print JSON: leave out --json", "%s 不输出 JSON：请去掉 --json"},
	"usage.json-format":      {"--json and --format %s ask for two formats: choose one", "--json 与 --format %s 要求两种格式：只能选一种"},
	"usage.number-twice":     {"%s is given twice", "%s 重复给出"},
	"err.batch-failed":       {"%d of %d were refused (see above); the others were done", "%d/%d 件被拒绝（见上）；其余已完成"},
}
