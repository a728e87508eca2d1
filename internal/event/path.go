package event

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Roles of top-level detail fields, given by the `event` struct tag; see Paths.
const (
	RoleCustodian = "custodian" // the handle of a medium's custodian (now, before or after a change)
	RolePerson    = "person"    // the handle or user name of anyone else a row names
	RoleHost      = "host"      // a host's number or system name
)

// jsonName is the JSON name of a struct field, "" for a field not encoded.
func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name
}

// Path is the SQLite JSON path ("$.device.source") of a field of a details type,
// named by its Go field names ("Device", "Source"), so that a query reads the field
// the writers write. It panics when there is no such field: a query and the details
// it reads were changed apart.
func Path[T any](fields ...string) string {
	t := reflect.TypeFor[T]()
	p := "$"
	for _, name := range fields {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			panic(fmt.Sprintf("event.Path: %s has no field %s", t, name))
		}
		f, ok := t.FieldByName(name)
		if !ok || jsonName(f) == "" {
			panic(fmt.Sprintf("event.Path: %s has no encoded field %s", t, name))
		}
		p += "." + jsonName(f)
		t = f.Type
	}
	return p
}

// Paths lists the JSON paths ("$.custodian") of the top-level fields that have role
// in the details of any kind, sorted and without repeats.
func Paths(role string) []string {
	var out []string
	for _, t := range kinds {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Tag.Get("event") == role && jsonName(f) != "" {
				out = append(out, "$."+jsonName(f))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Text is a free-text field of some details: its JSON name and value.
type Text struct{ Name, Value string }

// Texts lists the top-level fields of d (a details value) whose type is string, in
// declaration order, so a writer can check free text before it goes into the log.
func Texts(d any) []Text {
	v := reflect.ValueOf(d)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var out []Text
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type == reflect.TypeFor[string]() && jsonName(f) != "" {
			out = append(out, Text{jsonName(f), v.Field(i).String()})
		}
	}
	return out
}
