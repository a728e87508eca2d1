package daemon

import (
	"net"
	"os"
	"strconv"
	"time"
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

// WatchdogInterval is how often to send WATCHDOG=1 when systemd watches the service
// (WatchdogSec= in the unit): half of $WATCHDOG_USEC, as sd_watchdog_enabled(3)
// advises, and never below a millisecond. It is 0 when no watchdog is set, the value
// is not a positive number, or $WATCHDOG_PID names another process.
func WatchdogInterval(getenv func(string) string, pid int) time.Duration {
	usec, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	usec = min(usec, int64(24*time.Hour/time.Microsecond))
	if p := getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(pid) {
		return 0
	}
	return max(time.Duration(usec)*time.Microsecond/2, time.Millisecond)
}
