package daemon

import (
	"net"
	"os"
)

// Notify sends a state line ("READY=1", "STOPPING=1", "STATUS=…") to systemd when the
// service runs with Type=notify ($NOTIFY_SOCKET set); otherwise it does nothing. An
// address starting with "@" is in the abstract namespace.
func Notify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
