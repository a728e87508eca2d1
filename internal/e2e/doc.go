// Package e2e holds the end-to-end scenarios of mediagate that run against a real Linux
// kernel with a real USB stack: a QEMU guest booted once for the whole suite, into which
// each scenario hot-plugs media and then looks at what udev, sysfs and the mount table
// say. Run it with scripts/e2e.sh; without MEDIAGATE_E2E=1 every test skips.
//
// Environment:
//
//	MEDIAGATE_E2E=1           run the suite (otherwise skip)
//	MEDIAGATE_E2E_IMAGE=DIR   guest built by scripts/vm/build-image.sh (vmlinuz, initrd.img, rootfs.qcow2)
//	MEDIAGATE_E2E_WORKDIR=DIR where the run keeps overlay, sockets, logs and the share (default: a temp dir)
//	MEDIAGATE_BIN=FILE        mediagate binary to install in the guest at /usr/local/bin/mediagate
//	MEDIAGATE_DAEMON_BIN=FILE mediagated binary (the daemon the unit runs) at /usr/local/bin/mediagated
package e2e
