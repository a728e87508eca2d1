package catalog

// officemore are the texts of the office's vault stations (enrolled hosts that check
// media in to the office's campaign) and of a host register that is not a file.
var officemore = map[string][2]string{
	"field-name.id":          {"id", "编号"},
	"err.too-many":           {"too many %s (at most %d)", "%s 过多（最多 %d 个）"},
	"err.station-checkin-id": {"a check-in reported by a vault station needs an id of 1 to 64 characters", "保管站报告的入库记录须有 1 至 64 个字符的编号"},
}
