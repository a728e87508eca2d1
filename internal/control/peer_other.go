//go:build !linux

package control

import (
	"errors"
	"net"
)

func peerCred(*net.UnixConn) (Peer, error) {
	return Peer{}, errors.New("peer credentials need Linux")
}
