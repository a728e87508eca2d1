package catalog

// officemore are the texts of the office's vault stations (enrolled hosts that check
// media in to the office's campaign) and of a host register that is not a file.
var officemore = map[string][2]string{
	"flag:media plugged into this host are checked in to the office's year-end campaign": {"media plugged into this host are checked in to the office's year-end campaign", "接入本主机的介质计入办公室的年终入库清点"},
	"flag:make the host a vault station (--vault-station=false: no longer one)":          {"make the host a vault station (--vault-station=false: no longer one)", "将主机设为保管站（--vault-station=false：取消）"},
	"usage.host-db-postgres": {"'mediagate %s' is for a classified host, whose register is a local file (--db PATH): a host decides devices from local files and never waits on the network. A postgres:// register is the office server's (mediagate server run) and the officer's",
		"'mediagate %s' 用于涉密主机，其台账是本地文件（--db 路径）：主机依据本地文件判定设备，从不等待网络。postgres:// 台账属于办公室服务器（mediagate server run）和保密员命令"},
	"field.office-checkins":      {"Vault station", "保管站"},
	"out.office-checkins-queued": {"%d check-ins waiting for the office server", "%d 条入库记录等待发送到办公室服务器"},
	"field-name.id":              {"id", "编号"},
	"err.too-many":               {"too many %s (at most %d)", "%s 过多（最多 %d 个）"},
	"err.station-checkin-id":     {"a check-in reported by a vault station needs an id of 1 to 64 characters", "保管站报告的入库记录须有 1 至 64 个字符的编号"},
}
