package sysfs

import "strings"

// UnescapeMount undoes the kernel's octal escapes in a mountinfo or mounts field
// (\040 space, \011 tab, \012 newline, \134 backslash, \043 hash). A backslash not
// followed by three octal digits that fit in a byte (at most \377) is kept as is.
func UnescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && isOctal3(s, i+1) {
			v := (int(s[i+1]-'0') << 6) | (int(s[i+2]-'0') << 3) | int(s[i+3]-'0')
			if v <= 0xff {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isOctal3(s string, i int) bool {
	if i+3 > len(s) {
		return false
	}
	for _, c := range []byte(s[i : i+3]) {
		if c < '0' || c > '7' {
			return false
		}
	}
	return true
}
