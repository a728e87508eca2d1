package catalog

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"mediagate/internal/media"
)

// Languages the catalogue holds, in the order of an entry's texts.
const (
	EN = "en"
	ZH = "zh"
)

// Lang normalises a language tag: "zh", "zh-CN", "zh_CN.UTF-8" and the like are ZH,
// everything else is EN.
func Lang(tag string) string {
	l := strings.ToLower(strings.TrimSpace(tag))
	if l == "zh" || strings.HasPrefix(l, "zh-") || strings.HasPrefix(l, "zh_") || strings.HasPrefix(l, "zh.") {
		return ZH
	}
	return EN
}

// Coded is an error of a lower layer that names its message by code: the registry's
// and the service's refusals. Code is a key of the catalogue; Args are its arguments.
type Coded interface {
	error
	Phrase
}

// Phrase is a part of a message named by code, such as the reason a serial is weak:
// an argument that implements it is rendered as the text of its code.
type Phrase interface {
	MessageCode() (code string, args []any)
}

// Term is an argument that is itself a word of the catalogue, such as a field name:
// it is rendered as the text of its key in the reader's language.
type Term interface {
	MessageKey() string
}

// Key is a Term for a catalogue key, for arguments built by a front-end.
type Key string

// MessageKey returns the key itself.
func (k Key) MessageKey() string { return string(k) }

// tables hold every entry: the key and its text in English and in Chinese, one table
// per file of this package. A key is in one table only (TestKeysDefinedOnce). They
// are looked up in turn rather than merged into one map at start: a merged copy
// doubled the catalogue's memory in every process, the resident daemon's included.
var tables = []map[string][2]string{messages, names, reasons, help, verify, hostside, sheets, duties, flags, office,
	officeRefusals, officeWords, logship, inspection, standalone, officemore}

// lookup returns the entry of key.
func lookup(key string) ([2]string, bool) {
	for _, t := range tables {
		if e, ok := t[key]; ok {
			return e, true
		}
	}
	return [2]string{}, false
}

// Has reports whether key is in the catalogue.
func Has(key string) bool { _, ok := lookup(key); return ok }

// Keys returns every key of the catalogue, sorted, each once.
func Keys() []string {
	var keys []string
	for _, t := range tables {
		keys = slices.AppendSeq(keys, maps.Keys(t))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// Text returns the unformatted text of key in lang, and whether the key exists.
func Text(lang, key string) (string, bool) {
	e, ok := lookup(key)
	if !ok {
		return "", false
	}
	if Lang(lang) == ZH {
		return e[1], true
	}
	return e[0], true
}

// T returns the text of key in lang, formatted with args. Arguments that are levels,
// statuses, kinds, access modes, Terms or Phrases (Coded errors among them) are
// rendered in lang first. An
// unknown key is returned as it is, followed by its arguments, so nothing is lost.
func T(lang, key string, args ...any) string {
	f, ok := Text(lang, key)
	if !ok {
		if len(args) == 0 {
			return key
		}
		return fmt.Sprintf("%s %v", key, args)
	}
	if len(args) == 0 {
		return f
	}
	return fmt.Sprintf(f, localize(lang, args)...)
}

// localize renders the arguments that are words in lang.
func localize(lang string, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case media.Level:
			out[i] = Level(lang, v)
		case media.Status:
			out[i] = Status(lang, v)
		case media.Kind:
			out[i] = Kind(lang, v)
		case media.Access:
			out[i] = Access(lang, v)
		case Term:
			// a word the catalogue lacks shows as written: "field-name.method" → "method"
			if k := v.MessageKey(); Has(k) {
				out[i] = T(lang, k)
			} else if _, word, ok := strings.Cut(k, "."); ok {
				out[i] = word
			} else {
				out[i] = k
			}
		case Phrase:
			if code, pargs := v.MessageCode(); Has(code) {
				out[i] = T(lang, code, pargs...)
			} else {
				out[i] = fmt.Sprint(a)
			}
		case time.Time:
			out[i] = LocalTime(v)
		default:
			out[i] = a
		}
	}
	return out
}

// Error renders err in lang when it (or an error it wraps) carries a message code,
// and returns err.Error() otherwise.
func Error(lang string, err error) string {
	var c Coded
	if errors.As(err, &c) {
		if code, args := c.MessageCode(); Has(code) {
			return T(lang, code, args...)
		}
	}
	return err.Error()
}

// name returns the text of prefix+key, or key itself for a value the catalogue does
// not know (a corrupt row shows what it holds).
func name(lang, prefix, key string) string {
	if s, ok := Text(lang, prefix+key); ok {
		return s
	}
	return key
}

// Level names a classification level: "secret" or 机密.
func Level(lang string, l media.Level) string { return name(lang, "level.", l.String()) }

// Status names a status of a medium: "in-vault" or 入柜保存.
func Status(lang string, s media.Status) string { return name(lang, "status.", string(s)) }

// Kind names a kind of medium: "usb-disk" or U盘/移动硬盘.
func Kind(lang string, k media.Kind) string { return name(lang, "kind.", string(k)) }

// Access names an access mode: rw, ro or 读写, 只读.
func Access(lang string, a media.Access) string { return name(lang, "access.", string(a)) }

// LocalTime renders a time argument as the front-ends show times: local time to the
// minute, nothing for the zero time.
func LocalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

// YesNo renders a boolean as yes/no.
func YesNo(lang string, b bool) string {
	if b {
		return T(lang, "yes")
	}
	return T(lang, "no")
}
