package catalog

// hostside are the texts of a classified host enrolled with an office server:
// enrolment, registration requests, the refusal of register commands, and what
// `status` says of the office.
var hostside = map[string][2]string{
	"help.host enroll":        {"Enrol this host with the office server (its register and signed policy)", "将本机登记到办公室服务器（使用其台账和签名策略）"},
	"help.host enroll.long":   {"Enrol this classified host with the office server. The server's CA is checked\nagainst --ca-fingerprint before anything is sent; then the host makes its key pair\n(ed25519), sends the one-time --token with a certificate request, stores its key,\ncertificate, the office CA, the policy signing key and the server's address in the\n\"office\" directory beside the database (0600, root only), and fetches its first\npolicy. From the next start the daemon decides from the verified policy cache only,\nand the register commands refuse here with a pointer to the server. A host is\nenrolled once: --force replaces the enrolment.", "将本涉密主机登记到办公室服务器。发送任何内容之前先用 --ca-fingerprint 核对服务器的 CA；\n然后本机生成密钥对（ed25519），以证书申请连同一次性的 --token 发送，把本机密钥、证书、\n办公室 CA、策略签名公钥和服务器地址保存在数据库旁的 \"office\" 目录中（0600，仅 root），\n并取得第一份策略。守护进程自下次启动起只依据已验证的策略缓存作出判定，台账命令在本机\n拒绝执行并指向服务器。一台主机只登记一次：--force 重新登记。"},
	"help.media request":      {"Ask the office server to register the medium plugged in here", "请求办公室服务器登记本机接入的介质"},
	"help.media request.long": {"On a host enrolled with an office server: read the identity of the attached\ndevice (as 'media register --from-device' does) and send a registration request to\nthe server with the level, the purpose and the requester (the person logged in,\nfrom the audit login uid). The officer approves it on the server, assigning the\nnumber and custodian; the host's policy then includes the medium.", "在已登记到办公室服务器的主机上：读取已接入设备的标识（与 'media register --from-device'\n相同），连同密级、用途和申请人（当前登录的人员，取自审计登录 uid）向服务器发送登记申请。\n保密员在服务器上批准并分配编号和责任人后，本机策略即包含该介质。"},

	"usage.enrolled-twice":          {"this host is already enrolled with %s: give --force to enrol it again", "本机已登记到 %s：如需重新登记，请加 --force"},
	"usage.enroll-host":             {"--host is required: this host has no local profile to take its number from", "必须给出 --host：本机没有本地配置可取得主机编号"},
	"usage.request-not-enrolled":    {"this host is not enrolled with an office server: register the medium here with 'mediagate media register'", "本机未登记到办公室服务器：请用 'mediagate media register' 在本机登记介质"},
	"usage.enrolled-register":       {"this host is enrolled with the office server %[2]s, which keeps the register: run '%[1]s' there", "本机已登记到办公室服务器 %[2]s，台账由服务器保管：请在服务器上执行 '%[1]s'"},
	"usage.enrolled-register-media": {"this host is enrolled with the office server %[2]s, which keeps the register: run '%[1]s' there, or ask for the registration from here with 'mediagate media request --from-device DEV --level L --purpose TEXT'", "本机已登记到办公室服务器 %[2]s，台账由服务器保管：请在服务器上执行 '%[1]s'，或在本机用 'mediagate media request --from-device 设备 --level 密级 --purpose 用途' 申请登记"},

	"out.enrolled":         {"enrolled as %s with %s (state in %s)", "已作为 %s 登记到 %s（状态保存在 %s）"},
	"out.enroll-policy":    {"policy version %d in force: %d media", "策略版本 %d 已生效：%d 件介质"},
	"out.enroll-no-policy": {"no policy yet (%v): the daemon fetches it and blocks every medium until then", "尚无策略（%v）：守护进程将自动获取，在此之前阻止所有介质"},
	"out.enroll-restart":   {"restart the daemon (systemctl daemon-reload; systemctl restart mediagate) to enforce the office's policy", "请重启守护进程（systemctl daemon-reload; systemctl restart mediagate）以执行办公室策略"},
	"out.enroll-dropin":    {"the daemon may reach the server: %s", "已允许守护进程连接服务器：%s"},
	"out.request-sent":     {"registration request %s sent to %s for %s", "登记申请 %s 已发送到 %s，申请人 %s"},

	"field.office":           {"Office server", "办公室服务器"},
	"field.office-policy":    {"Policy", "策略"},
	"field.office-refused":   {"Policy refused", "拒绝的策略"},
	"out.office-reachable":   {"%s (last contact %s)", "%s（最近联系 %s）"},
	"out.office-unreachable": {"%s: server unreachable since %s; enforcing the policy in force", "%s：服务器自 %s 起无法连接；继续执行现行策略"},
	"out.office-broken":      {"enrolment does not load (%s): every medium is blocked", "登记信息无法读取（%s）：所有介质均被阻止"},
	"out.office-policy":      {"version %d, issued %s", "版本 %d，签发于 %s"},
	"out.office-no-policy":   {"none yet: every medium is blocked", "尚无：所有介质均被阻止"},
	"out.office-refused":     {"%s from %s (%s); the policy in force stays", "%s 来自 %s（%s）；现行策略保持不变"},
}
