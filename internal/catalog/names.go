package catalog

// names are the words of the domain: levels, statuses, kinds, access modes, USB
// interface classes, the fields a refusal can name, and reasons inside messages.
// media.ParseLevel and media.ParseStatus accept the Chinese names on input; a test
// keeps them in step.
var names = map[string][2]string{
	"level.unclassified": {"unclassified", "非密"},
	"level.confidential": {"confidential", "秘密"},
	"level.secret":       {"secret", "机密"},
	"level.top-secret":   {"top-secret", "绝密"},

	"status.active":    {"active", "在用"},
	"status.lent":      {"lent", "借出"},
	"status.in-vault":  {"in-vault", "入柜保存"},
	"status.repair":    {"repair", "送修"},
	"status.lost":      {"lost", "丢失"},
	"status.destroyed": {"destroyed", "已销毁"},
	"status.retired":   {"retired", "已停用"},

	"kind.usb-disk":     {"usb-disk", "U盘/移动硬盘"},
	"kind.disk":         {"disk", "硬盘"},
	"kind.sd":           {"sd", "存储卡"},
	"kind.optical-disc": {"optical-disc", "光盘"},
	"kind.other":        {"other", "其他"},

	// The register listing shows the access key in both languages.
	"access.rw": {"rw", "读写"},
	"access.ro": {"ro", "只读"},

	// fields named by "invalid …" refusals (registry.Field)
	"field-name.number":      {"number", "编号"},
	"field-name.level":       {"level", "密级"},
	"field-name.lower_media": {"lower-media setting", "低密级介质设置"},
	"field-name.mode":        {"mode", "模式"},
	"field-name.kind":        {"kind", "类型"},
	"field-name.identity":    {"identity", "标识"},
	"field-name.capacity":    {"capacity", "容量"},
	"field-name.note":        {"note", "备注"},
	"field-name.department":  {"department", "部门"},
	"field-name.name":        {"name", "姓名"},
	"field-name.handle":      {"handle", "代号"},
	"field-name.email":       {"email", "邮箱"},
	"field-name.login":       {"login", "登录名"},
	"field-name.person":      {"person", "人员"},
	"field-name.to":          {"to", "接收人"},
	"field-name.witness":     {"witness", "见证人"},
	"field-name.due":         {"due", "归还期限"},
	"field-name.year":        {"year", "年份"},
	"field-name.deadline":    {"deadline", "截止期限"},
	"field-name.reason":      {"reason", "原因"},
	"field-name.cabinet":     {"cabinet", "柜号"},
	"field-name.slot":        {"slot", "格位"},
	"field-name.away":        {"away", "送修在外"},
	"field-name.approved_by": {"approved_by", "审批人"},
	"field-name.method":      {"method", "销毁方式"},

	// reasons inside messages (registry.Why, service.Phrase)
	"why.key-differs":      {"identity key differs", "标识不符"},
	"why.no-key":           {"no identity key", "没有标识"},
	"why.registered-as":    {"registered as %s", "已登记为 %s"},
	"why.identity-differs": {"identity differs: %s", "标识不符：%s"},
	"why.bound-unreadable": {"bound %s not readable yet", "绑定的 %s 尚不可读"},

	// why a serial is weak (identity.Quality)
	"serial-weak.empty":           {"empty", "为空"},
	"serial-weak.blank":           {"only white space", "只有空白字符"},
	"serial-weak.too-long":        {"longer than 126 bytes", "超过 126 字节"},
	"serial-weak.not-utf8":        {"not valid UTF-8", "不是有效的 UTF-8"},
	"serial-weak.non-printable":   {"contains non-printable characters", "含有不可打印字符"},
	"serial-weak.too-short":       {"shorter than 4 characters", "少于 4 个字符"},
	"serial-weak.placeholder":     {"known placeholder serial shared by many devices", "已知的占位序列号，许多设备共用"},
	"serial-weak.repeated":        {"one repeated character", "同一字符重复"},
	"serial-weak.counting":        {"a counting sequence, not a serial", "是递增序列，不是序列号"},
	"serial-weak.zeros":           {"zeros", "全为零"},
	"serial-weak.card-reader":     {"the serial identifies the card reader, not the card in it", "该序列号标识的是读卡器，而不是其中的卡"},
	"serial-weak.optical":         {"optical discs are identified by content, not serial", "光盘按内容识别，不按序列号"},
	"serial-weak.disc-no-content": {"%s disc: no content to identify it by", "%s 光盘：没有可用于识别的内容"},

	// USB interface classes (policy.Classes), by key
	"class.audio":                {"audio", "音频设备"},
	"class.cdc":                  {"communications / network (CDC)", "通信/网络设备（CDC）"},
	"class.hid":                  {"human interface (keyboard, mouse)", "人机接口设备（键盘、鼠标）"},
	"class.physical":             {"physical interface", "物理接口设备"},
	"class.still-image":          {"still image / phone (PTP, MTP)", "静态图像/手机（PTP、MTP）"},
	"class.printer":              {"printer", "打印机"},
	"class.mass-storage":         {"mass storage", "大容量存储设备"},
	"class.hub":                  {"hub", "集线器"},
	"class.cdc-data":             {"communications data (CDC data)", "通信数据设备（CDC数据）"},
	"class.smart-card":           {"smart card reader", "智能卡读卡器"},
	"class.content-security":     {"content security", "内容安全设备"},
	"class.video":                {"video (camera)", "视频设备（摄像头）"},
	"class.personal-healthcare":  {"personal healthcare", "个人医疗设备"},
	"class.audio-video":          {"audio/video", "音视频设备"},
	"class.billboard":            {"billboard", "Billboard设备"},
	"class.usb-c-bridge":         {"USB Type-C bridge", "USB Type-C桥接设备"},
	"class.diagnostic":           {"diagnostic", "诊断设备"},
	"class.wireless":             {"wireless controller (Bluetooth, Wi-Fi)", "无线控制器（蓝牙、无线网卡）"},
	"class.misc":                 {"miscellaneous", "杂项设备"},
	"class.application-specific": {"application specific (firmware update, IrDA)", "特定应用设备（固件升级、红外）"},
	"class.vendor-specific":      {"vendor specific", "厂商自定义设备"},
	"class.unknown":              {"unknown class %s", "未知类别 %s"},
}
