package hostclient

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// DefaultUnitDropIn is where `host enroll` writes the systemd drop-in that lets the
// sandboxed daemon (scripts/systemd/mediagate.service: IPAddressDeny=any, no
// AF_INET) reach the office server and nothing else.
const DefaultUnitDropIn = "/etc/systemd/system/mediagate.service.d/50-office.conf"

// ServerAddresses resolves the office server's host name to the addresses the
// daemon may reach (a literal address is itself).
func ServerAddresses(ctx context.Context, server string) ([]net.IP, error) {
	u, err := url.Parse(server)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("office server address %q: want https://host[:port]", server)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil {
		return []net.IP{ip}, nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("resolve office server %s: %w", u.Hostname(), err)
	}
	return ips, nil
}

// UnitDropIn is the drop-in's text: IPv4 and IPv6 sockets, and IP traffic to the
// server's addresses only (the unit denies every other address).
func UnitDropIn(server string, ips []net.IP) string {
	var addrs []string
	for _, ip := range ips {
		if s := ip.String(); !slices.Contains(addrs, s) {
			addrs = append(addrs, s)
		}
	}
	slices.Sort(addrs)
	return fmt.Sprintf(`# Written by 'mediagate host enroll': the daemon of a host enrolled with the office
# server %s may reach that server, and no other address.
[Service]
RestrictAddressFamilies=AF_INET AF_INET6
IPAddressAllow=%s
`, server, strings.Join(addrs, " "))
}
