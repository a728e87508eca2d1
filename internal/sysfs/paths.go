package sysfs

import "path/filepath"

// Paths are the file system places mediagate reads and writes outside its database.
// One value is built at start (from flags, environment and defaults) and carried to
// every part; tests point it at temporary directories.
type Paths struct {
	Sys      string // sysfs, normally /sys
	Dev      string // device nodes, normally /dev
	UdevData string // udev database, normally /run/udev/data
	Proc     string // procfs, normally /proc
	Run      string // mediagate's run directory, normally /run/mediagate
	Socket   string // the daemon's control socket; empty means <Run>/control.sock
}

// Default places of a running Linux system.
const (
	DefaultSys      = "/sys"
	DefaultDev      = "/dev"
	DefaultUdevData = "/run/udev/data"
	DefaultProc     = "/proc"
	DefaultRun      = "/run/mediagate"
	DefaultSocket   = DefaultRun + "/control.sock"
)

// DefaultPaths returns the places of a running Linux system.
func DefaultPaths() Paths {
	return Paths{Sys: DefaultSys, Dev: DefaultDev, UdevData: DefaultUdevData, Proc: DefaultProc, Run: DefaultRun, Socket: DefaultSocket}
}

// ControlSocket is the daemon's control socket: Socket, or control.sock in the run
// directory when Socket is empty.
func (p Paths) ControlSocket() string {
	if p.Socket != "" {
		return p.Socket
	}
	run := p.Run
	if run == "" {
		run = DefaultRun
	}
	return filepath.Join(run, "control.sock")
}

// AllowDir is where the enforcer keeps the automounter markers the udev rule tests
// (rules/71-mediagate.rules): <Run>/allow.
func (p Paths) AllowDir() string {
	run := p.Run
	if run == "" {
		run = DefaultRun
	}
	return filepath.Join(run, "allow")
}

// SelfMountinfo is the mount table of the calling process: <Proc>/self/mountinfo.
func (p Paths) SelfMountinfo() string {
	proc := p.Proc
	if proc == "" {
		proc = DefaultProc
	}
	return filepath.Join(proc, "self", "mountinfo")
}
