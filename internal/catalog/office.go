package catalog

// office holds the texts of the office server (mediagate server) and of officer
// commands sent to it.
var office = map[string][2]string{
	// refusals of the office register
	"err.dup-host":           {"host %s is already in the office register", "主机 %s 已在单位登记簿中"},
	"err.no-office-host":     {"no host %s in the office register", "单位登记簿中没有主机 %s"},
	"err.token-unknown":      {"enrolment token unknown", "注册令牌无效"},
	"err.token-other-host":   {"enrolment token was not issued for host %s", "该注册令牌不是为主机 %s 签发的"},
	"err.token-used":         {"enrolment token of %s was already used (issue a new one with server host token)", "主机 %s 的注册令牌已被使用（用 server host token 重新签发）"},
	"err.token-expired":      {"enrolment token of %s has expired (issue a new one with server host token)", "主机 %s 的注册令牌已过期（用 server host token 重新签发）"},
	"err.no-request":         {"no registration request %s", "没有登记申请 %s"},
	"err.request-decided":    {"registration request %s is already %s", "登记申请 %s 已处理（%s）"},
	"err.request-registered": {"this medium is already registered as %s", "该介质已登记为 %s"},
	"err.no-officer":         {"no officer %s", "没有保密员 %s"},
	"usage.baseline":         {"bad baseline (at most 64 identity keys of at most 512 bytes, no control characters)", "基线有误（最多 64 个标识，每个不超过 512 字节，不含控制字符）"},
	"usage.too-many-seen":    {"too many media in one report (at most %d)", "一次报告的介质过多（最多 %d 个）"},
	"usage.decision":         {"bad decision %q (want allow or block)", "判定有误 %q（应为 allow 或 block）"},
	"usage.bad-text":         {"text too long (at most %d bytes) or with control characters", "文本过长（最多 %d 字节）或含控制字符"},
	"usage.bad-identity":     {"bad identity in the request", "申请中的标识有误"},
	"usage.request-state":    {"bad request state %q (want pending, approved or rejected)", "申请状态有误 %q（应为 pending、approved 或 rejected）"},
	"field-name.token":       {"token", "令牌"},
	"field-name.location":    {"location", "位置"},
	"field-name.custodian":   {"custodian", "责任人"},
	"field-name.hostname":    {"host name", "主机名"},
	"field-name.purpose":     {"purpose", "用途"},
	"field-name.requester":   {"requester", "申请人"},
	"field-name.label":       {"label", "标签"},
	"field-name.host":        {"host", "主机"},
}

// officeRefusals are the office server's own refusals (wire error kind "office").
var officeRefusals = map[string][2]string{
	"office.no-cert":      {"a client certificate from the office is required", "需要单位签发的客户端证书"},
	"office.bad-cert":     {"client certificate not accepted", "客户端证书不被接受"},
	"office.not-host":     {"this endpoint is for enrolled hosts, not officers", "此接口仅供已注册主机使用，不供保密员使用"},
	"office.unknown-host": {"host %s is not in the office register", "主机 %s 不在单位登记簿中"},
	"office.revoked":      {"the certificate of %s has been revoked", "%s 的证书已被吊销"},
	"office.stale-cert":   {"this is not the current certificate of %s (enrolled again?)", "这不是 %s 的当前证书（是否已重新注册？）"},
	"office.method":       {"method not allowed", "不允许的请求方法"},
	"office.bad-body":     {"malformed request", "请求格式有误"},
	"office.too-large":    {"request body too large (at most %d bytes)", "请求体过大（最多 %d 字节）"},
	"office.bad-token":    {"enrolment refused", "注册被拒绝"},
	"office.bad-csr":      {"bad certificate request", "证书请求有误"},
	"office.bad-query":    {"bad query", "查询参数有误"},
	"office.not-found":    {"no such endpoint", "没有此接口"},
	"office.not-officer":  {"this certificate is not an officer's of this office", "此证书不是本单位保密员的证书"},
	"office.unknown-op":   {"unknown operation", "未知操作"},
	"office.unreachable":  {"office server %s unreachable: %s", "无法连接单位服务器 %s：%s"},
}
