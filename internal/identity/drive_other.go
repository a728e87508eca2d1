//go:build !linux

package identity

func driveEmpty(string) bool { return false }
