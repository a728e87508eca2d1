package catalog

// sheets are the texts of import, export, the printed register and labels, and of
// the fields of the paper register.
var sheets = map[string][2]string{
	// fields of the paper register
	"field-name.serial":     {"serial", "序列号"},
	"field-name.status":     {"status", "状态"},
	"field-name.in-service": {"date put into service", "启用日期"},
	"field-name.model":      {"brand/model", "品牌型号"},
	"field-name.purpose":    {"purpose", "用途"},
	"field-name.custodian":  {"custodian", "责任人"},
	"invalid.pending-key":   {"a medium with its identity pending is registered without an identity key", "身份待绑定的介质登记时不带标识"},
	"invalid.not-pending":   {"%s already has its identity: nothing to bind", "%s 已有标识，无需绑定"},
	"err.not-pending":       {"%s already has its identity: nothing to bind", "%s 已有标识，无需绑定"},

	// reading the file
	"file.too-big":          {"the file has %d bytes, more than the %d an import reads", "文件有 %d 字节，超过导入上限 %d 字节"},
	"file.xls":              {"this is an old Excel 97–2003 (.xls) file: save it as .xlsx or CSV", "这是旧版 Excel 97–2003（.xls）文件：请另存为 .xlsx 或 CSV"},
	"file.bad-utf8":         {"the text is not valid UTF-8", "文本不是有效的 UTF-8"},
	"file.bad-encoding":     {"the file is neither UTF-8 nor GB18030 text", "文件既不是 UTF-8 也不是 GB18030 文本"},
	"file.binary":           {"the file holds binary data, not CSV text", "文件含二进制数据，不是 CSV 文本"},
	"file.bad-csv":          {"not valid CSV: %s", "CSV 格式有误：%s"},
	"file.bad-xlsx":         {"cannot read the XLSX file: %s", "无法读取 XLSX 文件：%s"},
	"file.no-sheet":         {"the workbook has no sheet", "工作簿中没有工作表"},
	"file.cell-too-long":    {"a cell of more than %d bytes", "单元格超过 %d 字节"},
	"file.too-many-columns": {"more than %d columns", "超过 %d 列"},
	"file.too-many-rows":    {"more than %d rows", "超过 %d 行"},
	"file.empty":            {"the sheet is empty", "工作表为空"},
	"file.map-field":        {"--map %q: no such field (number, level, kind, model, capacity, serial, custodian, department, in-service, purpose, status, note, vendor, product, wwn, key)", "--map %q：没有这个字段（number、level、kind、model、capacity、serial、custodian、department、in-service、purpose、status、note、vendor、product、wwn、key）"},
	"file.map-column":       {"--map: the header has no column %q", "--map：表头中没有列 %q"},
	"file.no-header":        {"no header row found in the first rows (number, level, custodian …, in Chinese or English): name the columns with --map", "前几行中找不到表头（编号、密级、责任人……）：请用 --map 指定列"},
	"file.dup-column":       {"two columns hold %s (the other is column %s)", "有两列都是 %s（另一列为 %s 列）"},
	"file.at":               {"row %d, column %s: %s", "第 %d 行，%s 列：%s"},
	"file.at-row":           {"row %d: %s", "第 %d 行：%s"},

	// deciding the rows
	"err.import-column":           {"the sheet has no %s column (map one with --map)", "表中没有 %s 列（可用 --map 指定）"},
	"err.import-errors":           {"%d rows are in error: nothing was imported (see the report; --dry-run shows it without importing)", "有 %d 行有误：未导入任何内容（见报告；--dry-run 只显示报告不导入）"},
	"err.import-control-char":     {"control or format character %U in the cell", "单元格中有控制或格式字符 %U"},
	"err.import-number":           {"%q cannot be a number (at most 64 bytes, no spaces, slashes or braces)", "%q 不能作为编号（最多 64 字节，不含空格、斜杠或花括号）"},
	"err.import-dup-number":       {"number %s is also on row %d", "编号 %s 与第 %d 行重复"},
	"err.import-required":         {"empty: this column is required", "为空：此列必填"},
	"err.import-level":            {"unknown level %q (confidential, secret, top-secret, unclassified, or their Chinese names)", "未知密级 %q（秘密、机密、绝密、非密 或 confidential、secret、top-secret、unclassified）"},
	"err.import-kind":             {"unknown kind of medium %q (usb-disk, disk, optical-disc, sd, other, or their Chinese names)", "未知介质类型 %q（U盘、移动硬盘、硬盘、光盘、SD卡、其他 或 usb-disk、disk、optical-disc、sd、other）"},
	"err.import-status":           {"unknown status %q", "未知状态 %q"},
	"err.import-lent":             {"lent media are imported as in use: change the status to active (in use) and record the loan with 'media lend'", "借出的介质按在用导入：请将状态改为在用，再用 'media lend' 登记借用"},
	"err.import-date":             {"%q is not a date (write 2026-01-31 or 2026/1/31)", "%q 不是日期（2026-01-31、2026/1/31、2026年1月31日）"},
	"err.import-too-long":         {"longer than %d bytes", "超过 %d 字节"},
	"err.import-unrecognisable":   {"a row without a number needs a serial: otherwise a second import could not recognise it", "没有编号的行必须有序列号，否则再次导入时无法识别"},
	"err.import-registered-as":    {"this medium is already registered as %s", "该介质已登记为 %s"},
	"err.import-dup-serial":       {"serial %q is also on row %d", "序列号 %q 与第 %d 行重复"},
	"err.import-dup-identity":     {"identity %s is also on row %d", "标识 %s 与第 %d 行重复"},
	"err.import-ambiguous-person": {"%q is the name of several people (%s): write the handle", "%q 对应多个人员（%s）：请填写人员代号"},
	"err.import-unknown-person":   {"unknown custodian %q: add the person (person add) or import with --create-people", "未知责任人 %q：请先添加人员（person add），或用 --create-people 导入"},
	"err.import-person-handle":    {"%q cannot be a person's handle: add the person with 'person add' first", "%q 不能作为人员代号：请先用 'person add' 添加该人员"},
}
