package service

import (
	"context"

	"mediagate/internal/audit"
	"mediagate/internal/event"
	"mediagate/internal/media"
)

// FormKind is a paper form of the register.
type FormKind string

// The forms, each printed from one record of the audit log.
const (
	FormRegister FormKind = "register" // 登记
	FormHandover FormKind = "handover" // 交接
	FormLend     FormKind = "lend"     // 借用
	FormRepair   FormKind = "repair"   // 维修
	FormDestroy  FormKind = "destroy"  // 销毁
)

// FormKinds lists the forms.
func FormKinds() []FormKind {
	return []FormKind{FormRegister, FormHandover, FormLend, FormRepair, FormDestroy}
}

var formEvents = map[FormKind]event.Kind{
	FormRegister: event.KindMediumRegister, FormHandover: event.KindMediumHandover, FormLend: event.KindMediumLend,
	FormRepair: event.KindMediumRepair, FormDestroy: event.KindMediumDestroy,
}

// FormRecord is what a form is printed from: the medium, the latest record of the
// form's kind and the full names of the people it names.
type FormRecord struct {
	Kind    FormKind
	Medium  media.Medium
	Record  *audit.Event
	Details any               // the record's details (package event's type for its kind)
	Names   map[string]string // handle → full name
}

// FormRecord finds the latest record of a form's kind for a medium (by any of its
// numbers). A form is printed from what the register recorded, never from what is
// typed for it: without such a record it is refused (err.form-no-record).
func (s *Service) FormRecord(ctx context.Context, kind FormKind, number string) (FormRecord, error) {
	ek, ok := formEvents[kind]
	if !ok {
		return FormRecord{}, badRequest("err.form-kind", string(kind))
	}
	m, err := s.store.Medium(ctx, number)
	if err != nil {
		return FormRecord{}, err
	}
	rows, err := s.store.Events(ctx, EventFilter{Medium: m.Number, Kind: string(ek)})
	if err != nil {
		return FormRecord{}, err
	}
	if len(rows) == 0 {
		return FormRecord{}, refused("err.form-no-record", m.Number, string(kind))
	}
	rec := rows[len(rows)-1]
	d, err := event.Decode(rec.Kind, rec.Details)
	if err != nil {
		return FormRecord{}, err
	}
	names := map[string]string{}
	people, err := s.store.ListPeople(ctx, true)
	if err != nil {
		return FormRecord{}, err
	}
	for _, p := range people {
		names[p.Handle] = p.Name
	}
	return FormRecord{Kind: kind, Medium: m, Record: rec, Details: d, Names: names}, nil
}
