//go:build !linux

package daemon

import (
	"errors"
	"net"
)

func peerCred(*net.UnixConn) (Peer, error) {
	return Peer{}, errors.New("peer credentials need Linux")
}
