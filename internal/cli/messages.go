package cli

import (
	"errors"
	"fmt"
	"strings"

	"mediagate/internal/audit"
	"mediagate/internal/media"
	"mediagate/internal/service"
)

// msgs is the catalogue of user-facing text: every key has an English and a Chinese form.
var msgs = map[string][2]string{
	// errors
	"err.not-found":              {"%s not found", "未找到%s"},
	"err.dup-handle":             {"a person with handle %s is already registered", "代号为 %s 的人员已登记"},
	"err.dup-number":             {"number %s is already in use", "编号 %s 已被使用"},
	"err.dup-identity":           {"this medium is already registered (identity %s)", "该介质已登记（标识 %s）"},
	"err.no-host":                {"this host is not initialised", "本机尚未初始化"},
	"err.inactive":               {"person %s is deactivated", "人员 %s 已停用"},
	"err.holds-media":            {"person %s still holds media", "人员 %s 仍持有介质"},
	"err.relevel-down":           {"the level of %s can only be raised", "%s 的密级只能上调，不能下调"},
	"err.bad-pattern":            {"bad numbering pattern or code %q", "编号规则或密级代码有误：%q"},
	"err.invalid":                {"invalid %s", "%s 无效"},
	"err.transition":             {"status change not allowed for %s", "%s 不允许此状态变更"},
	"err.unknown-level":          {"unknown level %q (use unclassified, confidential, secret, top-secret or 非密, 秘密, 机密, 绝密)", "未知密级 %q（可用 非密、秘密、机密、绝密 或 unclassified、confidential、secret、top-secret）"},
	"err.unknown-status":         {"unknown status %q (use active, lent, in-vault, repair, lost, destroyed, retired)", "未知状态 %q（可用 active、lent、in-vault、repair、lost、destroyed、retired）"},
	"err.unknown-kind":           {"unknown medium kind %q (use usb-disk, disk, sd, optical-disc, other)", "未知介质类型 %q（可用 usb-disk、disk、sd、optical-disc、other）"},
	"err.usage":                  {"%s (see --help)", "用法错误：%s（见 --help）"},
	"err.interrupted":            {"interrupted; nothing was changed by the unfinished command", "已中断；未完成的命令没有做任何更改"},
	"usage.required":             {"--%s is required", "必须给出 --%s"},
	"usage.allowed-host":         {"bad --allowed-host %q (a host number of at most 64 bytes, no control or format characters)", "--allowed-host 有误 %q（主机编号，最多 64 字节，不含控制或格式字符）"},
	"usage.change":               {"unknown status change %q", "未知的状态变更 %q"},
	"err.bad-year":               {"bad year %d", "年份有误 %d"},
	"err.audit-broken":           {"audit log broken at row %d: %s", "审计日志在第 %d 行被破坏：%s"},
	"err.bad-date":               {"bad date %q (use YYYY-MM-DD or RFC 3339, e.g. 2026-12-31 or 2026-12-31T17:00:00+08:00)", "日期格式有误 %q（用 YYYY-MM-DD 或 RFC 3339，如 2026-12-31）"},
	"err.weak-serial":            {"serial %q is weak (%s): bind extra identity with --capacity and --descriptor-hash, or register from the attached device", "序列号 %q 不可靠（%s）：请用 --capacity 和 --descriptor-hash 绑定额外标识，或从已接入的设备登记"},
	"err.need-identity":          {"%s", "%s"},
	"err.serial-known":           {"serial %q is already registered for %s: bind extra identity with --capacity and --descriptor-hash", "序列号 %q 已被 %s 使用：请用 --capacity 和 --descriptor-hash 绑定额外标识"},
	"err.open-registry":          {"cannot open the registry %s: %s", "无法打开登记库 %s：%s"},
	"err.no-device":              {"no device %s: %s", "找不到设备 %s：%s"},
	"err.no-medium":              {"%s has no medium in it", "%s 中没有介质"},
	"err.device-unreadable":      {"cannot identify %s: %s", "无法识别 %s：%s"},
	"err.not-storage":            {"%s is not a storage device (%s)", "%s 不是存储设备（%s）"},
	"err.kind-differs":           {"%s is a %s medium, not %s", "%s 是 %s 介质，不是 %s"},
	"err.from-device-flags":      {"--from-device takes the identity from the device: leave out %s", "--from-device 从设备读取标识：请去掉 %s"},
	"hdr.devices":                {"DEVICE\tKIND\tIDENTITY\tSERIAL\tSIZE\tLABEL\tREGISTERED\tDAEMON", "设备\t类型\t标识\t序列号\t容量\t型号\t登记\t守护进程判定"},
	"out.serial-good":            {"good", "可靠"},
	"out.serial-weak":            {"weak: %s", "不可靠：%s"},
	"err.disc-no-data":           {"%s holds a %s disc: only data discs can be registered", "%s 中是%s光盘：只能登记数据光盘"},
	"out.content-signed":         {"n/a (content signature)", "不适用（按内容签名）"},
	"out.no-medium":              {"no medium", "无介质"},
	"out.mismatch":               {"(IDENTITY MISMATCH)", "（标识不符）"},
	"usage.mode":                 {"--mode must be enforce or audit, not %q", "--mode 只能是 enforce 或 audit，不能是 %q"},
	"usage.lower-media":          {"--lower-media %q: want read-only or refuse", "--lower-media %q：应为 read-only（只读）或 refuse（拒绝）"},
	"usage.allow-interfaces":     {"--allow-device %q: want VID:PID=cc/ss/pp+cc/ss/pp (interface class/subclass/protocol in hex), e.g. 046d:c52b=03/01/01+03/01/02", "--allow-device %q：应为 VID:PID=cc/ss/pp+cc/ss/pp（十六进制接口类别/子类别/协议），如 046d:c52b=03/01/01+03/01/02"},
	"err.allow-device-absent":    {"no USB device %[1]s is plugged in to pin the allow entry to: plug it in and run host init again, or give its interfaces (--allow-device %[1]s=03/01/01+…; see lsusb -v)", "未插入USB设备 %[1]s，无法记录其接口：请插入该设备后重新运行 host init，或直接给出其接口（--allow-device %[1]s=03/01/01+…，见 lsusb -v）"},
	"err.allow-device-ambiguous": {"two USB devices %[1]s with different interfaces or descriptors are plugged in: plug in only the one to allow", "插入了两个接口或描述符不同的USB设备 %[1]s：请只插入要放行的那一个"},
	"usage.allow-device":         {"--allow-device %q: want VID:PID in hex, e.g. 046d:0825", "--allow-device %q：应为十六进制 VID:PID，如 046d:0825"},
	"usage.limit":                {"--limit must not be negative", "--limit 不能为负数"},
	"usage.json-csv":             {"choose one of --json and --csv", "--json 和 --csv 只能选一个"},
	"usage.capacity":             {"--capacity must not be negative", "--capacity 不能为负数"},
	"usage.descriptor-hash":      {"--descriptor-hash must be 64 hex digits (SHA-256)", "--descriptor-hash 应为 64 位十六进制（SHA-256）"},
	"usage.key":                  {"--key %q is not an identity key of a %s medium", "--key %q 不是 %s 介质的标识"},
	"usage.usb-needs":            {"a usb-disk needs --vendor and --product (or --key)", "usb-disk 需要 --vendor 和 --product（或 --key）"},
	"usage.vidpid":               {"--vendor and --product are 4 hex digits, e.g. 0781 and 5567", "--vendor 和 --product 应为 4 位十六进制，如 0781 和 5567"},
	"usage.wwn":                  {"--wwn %q is not a World Wide Name (16 or 32 hex digits)", "--wwn %q 不是 WWN（16 或 32 位十六进制）"},
	"usage.disk-needs":           {"a disk needs --wwn, or --model and --serial (or --key)", "disk 需要 --wwn，或 --model 和 --serial（或 --key）"},
	"usage.key-needed":           {"a %s medium is registered with --key (see 'mediagate devices')", "%s 介质用 --key 登记（见 mediagate devices）"},
	"usage.identity-needed":      {"give --from-device, or --kind with the identity flags", "请给出 --from-device，或 --kind 及标识参数"},
	"usage.numbering":            {"give --pattern or --code", "请给出 --pattern 或 --code"},
	"usage.code":                 {"--code %q: want LEVEL=CODE, e.g. secret=S", "--code %q：应为 密级=代码，如 secret=S"},
	"usage.lang":                 {"--lang must be en or zh, not %q", "--lang 只能是 en 或 zh，不能是 %q"},
	"err.allow-list":             {"%s", "外设允许列表有误：%s"},
	"what.person":                {"person %s", "人员 %s"},
	"what.medium":                {"medium %s", "介质 %s"},
	"what.identity":              {"medium with identity %s", "标识为 %s 的介质"},
	"out.registered":             {"registered %s", "已登记 %s"},
	"out.weak-bound":             {"note: serial %q is weak (%s); extra identity (capacity, descriptor hash) is bound and must match", "注意：序列号 %q 不可靠（%s），已绑定额外标识（容量、描述符哈希），使用时必须一致"},
	"out.person-added":           {"added person %s", "已添加人员 %s"},
	"out.person-updated":         {"updated person %s", "已更新人员 %s"},
	"out.person-deact":           {"deactivated person %s", "已停用人员 %s"},
	"out.host-saved":             {"host %s: level %s, mode %s", "本机 %s：密级 %s，模式 %s"},
	"out.device-pinned":          {"allowed device %s: only with interfaces %s", "放行设备 %s：仅限接口 %s"},
	"out.pin-descriptors":        {"descriptors %s…", "描述符 %s…"},
	"out.not-pinned":             {"not pinned: allowed as a peripheral only, never with mass storage; run host init again with it plugged in", "未记录接口：仅作为外设放行，不得含存储接口；请插入该设备后重新运行 host init"},
	"out.baseline-weak":          {"internal disk %s: WEAKLY IDENTIFIED — no serial or WWN, recorded by its slot %s with capacity %d bytes and model %q; a disk of the same capacity and model put into that slot would pass as this one", "内置磁盘 %s：标识较弱——无序列号或WWN，按槽位 %s 记录，容量 %d 字节，型号 %q；放入该槽位的同容量同型号磁盘将被视为此盘"},
	"out.baseline-disk":          {"internal disk %s: %s", "内置磁盘 %s：%s"},
	"out.status-campaign":        {"%d open until %s: %d of %d checked in, %d outstanding", "%d 年度收缴进行中，截止 %s：已收 %d / %d，未交 %d"},
	"out.changed":                {"%s: %s", "%s：%s"},
	"out.audit-ok":               {"audit log intact: %d rows, head %s", "审计日志完整：%d 行，末行哈希 %s"},
	"out.numbering":              {"pattern %s; level codes: %s; next secret number looks like %s", "编号规则 %s；密级代码：%s；机密介质编号示例 %s"},
	"out.none":                   {"(none)", "（无）"},
	"hdr.media":                  {"NUMBER\tKIND\tLEVEL\tCUSTODIAN\tSTATUS\tACCESS\tIDENTITY", "编号\t类型\t密级\t责任人\t状态\t权限\t标识"},
	"hdr.people":                 {"HANDLE\tNAME\tDEPARTMENT\tACTIVE", "代号\t姓名\t部门\t在职"},
	"hdr.log":                    {"SEQ\tTIME\tKIND\tMEDIUM\tACTOR\tDETAILS", "序号\t时间\t事件\t介质\t操作人\t详情"},
	// mount log (media show)
	"field.mounts":        {"Mount history", "挂载记录"},
	"hdr.mounts":          {"TIME\tEVENT\tMOUNT POINT\tDEVICE\tMODE\tHOST\tUSER\tATTRIBUTION", "时间\t事件\t挂载点\t设备\t读写\t主机\t用户\t归属来源"},
	"mount.attach":        {"mounted", "挂载"},
	"mount.detach":        {"unmounted", "卸载"},
	"mount.remount":       {"remounted", "重新挂载"},
	"mount.seen-at-start": {"mounted (seen at start)", "已挂载（启动时发现）"},
	"mount.violation":     {"VIOLATION, unmounted", "违规挂载，已卸载"},
	"mount.user-unknown":  {"unknown", "未知"},
	"mount.none":          {"(no mounts)", "（无挂载记录）"},
	// daemon and status
	"err.daemon-call":     {"cannot ask the daemon at %s: %v (is 'mediagate daemon' running?)", "无法连接守护进程 %s：%v（mediagate daemon 是否在运行？）"},
	"field.daemon-state":  {"State", "状态"},
	"field.daemon-since":  {"Running since", "启动时间"},
	"field.host":          {"Host", "本机"},
	"field.source":        {"Event source", "事件来源"},
	"field.locked-hubs":   {"Locked root hubs", "已锁定根集线器"},
	"field.counts":        {"Counts", "计数"},
	"field.problem":       {"Problem", "问题"},
	"out.daemon-counts":   {"%d events, %d decisions: %d allowed, %d blocked, %d with errors", "%d 个事件，%d 次判定：允许 %d，阻止 %d，出错 %d"},
	"out.daemon-present":  {"Devices present:", "当前设备："},
	"out.daemon-recent":   {"Recent decisions:", "最近判定："},
	"hdr.decisions":       {"TIME\tDEVICE\tSTAGE\tEFFECT\tREASON\tMEDIUM\tIDENTITY", "时间\t设备\t阶段\t结果\t原因\t介质\t标识"},
	"field.number":        {"Number", "编号"},
	"field.kind":          {"Kind", "类型"},
	"field.level":         {"Level", "密级"},
	"field.custodian":     {"Custodian", "责任人"},
	"field.department":    {"Department", "部门"},
	"field.status":        {"Status", "状态"},
	"field.access":        {"Access", "权限"},
	"field.identity":      {"Identity", "标识"},
	"field.serial":        {"Serial", "序列号"},
	"field.capacity":      {"Capacity", "容量"},
	"field.holder":        {"Holder", "借用人"},
	"field.due":           {"Due", "归还期限"},
	"field.note":          {"Note", "备注"},
	"field.allowed-hosts": {"Allowed hosts", "允许的主机"},
	"field.registered":    {"Registered", "登记时间"},
	"field.history":       {"History", "历史记录"},
	"field.name":          {"Name", "姓名"},
	"field.handle":        {"Handle", "代号"},
	"field.email":         {"Email", "邮箱"},
	"field.login":         {"Login", "登录名"},
	"field.active":        {"Active", "在职"},
	"field.media":         {"Media", "名下介质"},
	"field.host-id":       {"Host id", "主机标识"},
	"field.mode":          {"Mode", "模式"},
	"field.vault":         {"Vault station", "介质库工作站"},
	"field.allow-classes": {"Allowed classes", "允许的外设类别"},
	"field.allow-devices": {"Allowed devices", "允许的外设"},
	"field.lower-media":   {"Lower media", "低密级介质"},
	"field.baseline":      {"Internal disks", "内置磁盘"},
	"yes":                 {"yes", "是"},
	"no":                  {"no", "否"},

	// year-end check-in (cmd_checkin.go, cmd_issue.go, the printed sheet)
	"err.ci-no-campaign":      {"no check-in campaign is open (start one with 'mediagate checkin open --year YEAR')", "没有进行中的年终交存（用 'mediagate checkin open --year 年份' 开始）"},
	"err.ci-no-campaign-year": {"there is no check-in campaign for %s", "没有 %s 年度的年终交存"},
	"err.ci-exists":           {"a check-in campaign for %s already exists (one per year)", "%s 年度的年终交存已存在（每年一次）"},
	"err.ci-open":             {"the %s check-in campaign is still open: close it first", "%s 年度的年终交存尚未结束：请先结束"},
	"err.ci-not-expected":     {"%s is not expected in the %s check-in campaign (it was not active, lent or in repair when the campaign opened)", "%s 不在 %s 年度的交存清单中（开始交存时它不是在用、借出或送修状态）"},
	"err.ci-already":          {"%s is already checked in (%s)", "%s 已交存（%s）"},
	"err.ci-unregistered":     {"refused: %s is not a registered medium (identity %s); the refusal is logged", "拒绝：%s 不是已登记的介质（标识 %s）；已记入日志"},
	"err.ci-mismatch":         {"refused: %s is not medium %s: %s; the refusal is logged", "拒绝：%s 与介质 %s 不符：%s；已记入日志"},
	"err.ci-not-attached":     {"medium %s is not attached to this host (see 'mediagate devices')", "介质 %s 未接入本机（见 'mediagate devices'）"},
	"err.ci-issue-open":       {"%s was checked in to the %s check-in campaign, which is still open: close it first", "%s 已交存于 %s 年度年终交存，该交存尚未结束：请先结束"},
	"err.ci-plug-args":        {"give a medium number or --from-device DEV", "请给出介质编号或 --from-device 设备"},
	"err.ci-format":           {"unknown --format %q (use text, csv, json or html)", "未知格式 %q（可用 text、csv、json、html）"},
	"err.ci-by":               {"unknown --by %q (use custodian or department)", "未知分组 %q（可用 custodian、department）"},
	"out.ci-opened":           {"opened the %d check-in campaign: %d media expected, deadline %s", "已开始 %d 年度年终交存：应交存 %d 件，截止 %s"},
	"out.ci-in":               {"checked in %s (%s)%s; left: %s %d, all %d", "已交存 %s（%s）%s；剩余：%s %d 件，共 %d 件"},
	"out.ci-place":            {", cabinet %s slot %s", "，柜 %s 格 %s"},
	"out.ci-manual":           {", MANUAL: %s (handed in by %s)", "，手工登记：%s（交存人 %s）"},
	"out.ci-away":             {", away at the repairer", "，送修在外"},
	"out.ci-closed":           {"closed the %d check-in campaign: %d in the vault, %d away at the repairer, %d missing (flagged lost), %d withdrawn", "已结束 %d 年度年终交存：入柜 %d 件，送修在外 %d 件，缺失 %d 件（已标记丢失），注销 %d 件"},
	"out.ci-missing":          {"missing: %s (custodian %s)", "缺失：%s（责任人 %s）"},
	"out.ci-sha":              {"final report saved, SHA-256 %s", "最终报告已保存，SHA-256 %s"},
	"out.ci-watch":            {"watching the %d check-in campaign: %d outstanding (Ctrl-C to stop)", "正在监视 %d 年度年终交存：尚有 %d 件未交（Ctrl-C 停止）"},
	"out.ci-all-in":           {"all expected media are accounted for", "应交存介质已全部交齐"},
	"out.ci-watch-closed":     {"the campaign was closed", "年终交存已结束"},
	"out.ci-head":             {"%d check-in campaign, as of %s, deadline %s", "%d 年度年终交存，截至 %s，截止期限 %s"},
	"out.ci-summary":          {"expected %d, checked in %d (by hand %d), away %d, outstanding %d (overdue %d), missing %d", "应交 %d，已交 %d（手工 %d），送修在外 %d，未交 %d（逾期 %d），缺失 %d"},
	"out.ci-group":            {"%s: %d expected, %d outstanding", "%s：应交 %d，未交 %d"},
	"out.ci-of-manual":        {"%d (by hand %d)", "%d（手工 %d）"},
	"out.ci-of-overdue":       {"%d (overdue %d)", "%d（逾期 %d）"},
	"hdr.ci":                  {"NUMBER\tKIND\tLEVEL\tSTATUS\tSTATE\tCHECKED IN\tPLACE\tREMARKS", "编号\t类型\t密级\t状态\t交存情况\t交存时间\t位置\t备注"},
	"ci.open":                 {"open", "进行中"},
	"ci.closed":               {"closed", "已结束"},
	"field.ci-campaign":       {"Campaign", "年终交存"},
	"field.ci-opened":         {"Opened", "开始时间"},
	"field.ci-deadline":       {"Deadline", "截止期限"},
	"field.ci-closed":         {"Closed", "结束时间"},
	"field.ci-expected":       {"Expected", "应交"},
	"field.ci-checked-in":     {"Checked in", "已交"},
	"field.ci-away":           {"Away (repair)", "送修在外"},
	"field.ci-outstanding":    {"Outstanding", "未交"},
	"field.ci-missing":        {"Missing", "缺失"},
	"field.ci-sha":            {"Report SHA-256", "报告 SHA-256"},
	"state.checked-in":        {"checked in", "已交存"},
	"state.manual":            {"checked in by hand", "手工登记交存"},
	"state.away":              {"away at the repairer", "送修在外"},
	"state.outstanding":       {"outstanding", "未交"},
	"state.overdue":           {"OVERDUE", "逾期未交"},
	"state.missing":           {"MISSING", "缺失"},
	"state.withdrawn":         {"withdrawn (lost, destroyed or retired)", "已注销（丢失、销毁或停用）"},
	"sheet.title":             {"Year-end check-in of classified storage media %d", "%d 年度涉密存储介质年终交存清点表"},
	"sheet.opened":            {"Opened", "开始"},
	"sheet.deadline":          {"deadline", "截止"},
	"sheet.as-of":             {"as of", "截至"},
	"sheet.closed":            {"closed", "结束"},
	"sheet.expected":          {"Expected", "应交"},
	"sheet.checked-in":        {"Checked in", "已交"},
	"sheet.manual":            {"of which by hand", "其中手工登记"},
	"sheet.away":              {"Away (repair)", "送修在外"},
	"sheet.outstanding":       {"Outstanding", "未交"},
	"sheet.overdue":           {"Overdue", "逾期"},
	"sheet.missing":           {"Missing", "缺失"},
	"sheet.custodian":         {"Custodian: ", "责任人："},
	"sheet.department":        {"Department: ", "部门："},
	"sheet.no-department":     {"(no department)", "（无部门）"},
	"sheet.group-counts":      {"%d expected, %d checked in, %d outstanding", "应交 %d，已交 %d，未交 %d"},
	"sheet.col.number":        {"Number", "编号"},
	"sheet.col.kind":          {"Kind", "类型"},
	"sheet.col.level":         {"Level", "密级"},
	"sheet.col.custodian":     {"Custodian", "责任人"},
	"sheet.col.status":        {"Status", "状态"},
	"sheet.col.state":         {"Check-in", "交存情况"},
	"sheet.col.at":            {"Time", "交存时间"},
	"sheet.col.place":         {"Cabinet / slot", "柜 / 格"},
	"sheet.col.remarks":       {"Remarks", "备注"},
	"sheet.days-overdue":      {"%d days", "%d 天"},
	"sheet.manual-by":         {"by hand, handed in by %s", "手工登记，交存人 %s"},
	"sheet.sign-custodian":    {"Custodian (signature)", "责任人（签字）"},
	"sheet.sign-department":   {"For the department (signature)", "部门负责人（签字）"},
	"sheet.sign-officer":      {"Security officer (signature)", "保密员（签字）"},
	"sheet.sign-date":         {"Date", "日期"},
	"sheet.empty":             {"No media are expected in this campaign.", "本次交存无应交介质。"},
	"sheet.footer":            {"Made by mediagate. Tick each medium as it is placed in the cabinet; both sign below each list.", "由 mediagate 生成。介质入柜时逐件勾选，双方在每份清单下签字。"},
}

// T returns the catalogue text for key in lang, formatted with args.
func T(lang, key string, args ...any) string {
	m, ok := msgs[key]
	if !ok {
		return key
	}
	f := m[0]
	if lang == "zh" {
		f = m[1]
	}
	if len(args) == 0 {
		return f
	}
	return fmt.Sprintf(f, args...)
}

// subject turns a registry subject ("person alice", "medium S-2026-0001") into text.
func subject(lang, s string) string {
	for _, p := range []struct{ prefix, key string }{{"person ", "what.person"}, {"medium ", "what.medium"}, {"identity ", "what.identity"}} {
		if rest, ok := strings.CutPrefix(s, p.prefix); ok {
			return T(lang, p.key, rest)
		}
	}
	return s
}

// describe renders any error as one line in lang.
func describe(err error, lang string) string {
	var re *service.StoreError
	if errors.As(err, &re) {
		var line string
		switch {
		case errors.Is(re, service.ErrNotFound):
			line = T(lang, "err.not-found", subject(lang, re.Subject))
		case errors.Is(re, service.ErrDuplicateHandle):
			line = T(lang, "err.dup-handle", re.Subject)
		case errors.Is(re, service.ErrDuplicateNumber):
			line = T(lang, "err.dup-number", re.Subject)
		case errors.Is(re, service.ErrDuplicateIdentity):
			line = T(lang, "err.dup-identity", re.Subject)
		case errors.Is(re, service.ErrNoHost):
			line = T(lang, "err.no-host")
		case errors.Is(re, service.ErrInactivePerson):
			line = T(lang, "err.inactive", re.Subject)
		case errors.Is(re, service.ErrPersonHoldsMedia):
			line = T(lang, "err.holds-media", re.Subject)
		case errors.Is(re, service.ErrRelevelDown):
			line = T(lang, "err.relevel-down", re.Subject)
		case errors.Is(re, service.ErrBadPattern):
			line = T(lang, "err.bad-pattern", re.Subject)
		case errors.Is(re, service.ErrTransition):
			line = T(lang, "err.transition", re.Subject)
		case errors.Is(re, service.ErrInvalid):
			line = T(lang, "err.invalid", fieldName(lang, re.Subject))
		default:
			line = re.Error()
		}
		detail := re.Detail
		if lang == "zh" {
			detail = re.DetailZH
		}
		if detail != "" {
			if lang == "zh" {
				line += "：" + detail
			} else {
				line += ": " + detail
			}
		}
		return line
	}
	var le localError
	if errors.As(err, &le) {
		return T(lang, le.key, le.args...)
	}
	var se *service.Error
	if errors.As(err, &se) {
		return T(lang, se.Code, se.Args...)
	}
	var be *audit.BrokenError
	if errors.As(err, &be) {
		return T(lang, "err.audit-broken", be.Seq, be.Reason)
	}
	if isUsage(err) {
		return T(lang, "err.usage", err.Error())
	}
	return err.Error()
}

// fieldName names a registry field for an "invalid …" message.
func fieldName(lang, f string) string {
	if lang != "zh" {
		return f
	}
	names := map[string]string{"number": "编号", "level": "密级", "mode": "模式", "kind": "类型", "identity": "标识",
		"capacity": "容量", "note": "备注", "department": "部门", "name": "姓名", "handle": "代号", "email": "邮箱",
		"login": "登录名", "person": "人员", "to": "接收人", "witness": "见证人", "due": "归还期限"}
	for k, v := range map[string]string{"year": "年份", "deadline": "截止期限", "reason": "原因", "cabinet": "柜号", "slot": "格位", "away": "送修在外"} {
		names[k] = v
	}
	if n, ok := names[f]; ok {
		return n
	}
	return f
}

// localError is an error whose text comes from the catalogue.
type localError struct {
	key  string
	args []any
}

func (e localError) Error() string { return T("en", e.key, e.args...) }

func lerr(key string, args ...any) error { return localError{key: key, args: args} }

// usageMsg is a usage error whose text comes from the catalogue.
func usageMsg(key string, args ...any) error { return usageError{lerr(key, args...)} }

// parseLevel parses a level flag with a localized error.
func parseLevel(s string) (media.Level, error) {
	l, err := media.ParseLevel(s)
	if err != nil {
		return 0, usageError{lerr("err.unknown-level", s)}
	}
	return l, nil
}

func yesNo(lang string, b bool) string {
	if b {
		return T(lang, "yes")
	}
	return T(lang, "no")
}
