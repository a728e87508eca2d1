package forms

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteHTMLEscapes: what the register holds (a note, a repairer's name) is text on
// the form, never markup, and the page counter is a CSS counter.
func TestWriteHTMLEscapes(t *testing.T) {
	var b bytes.Buffer
	err := WriteHTML(&b, Form{Lang: "zh", Title: "涉密存储介质销毁审批登记表", Unit: `某单位"}</style><script>x()</script>`, Marking: "机密",
		Fields: []Field{{"备注", "<script>alert(1)</script>"}}, Signatures: []string{"审批人"}, SignDate: "日期", Page: "第 %d 页 共 %d 页"})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>") {
		t.Errorf("markup from the register reached the page:\n%s", out)
	}
	for _, want := range []string{`<html lang="zh-CN">`, `content: "第 " counter(page) " 页 共 " counter(pages) " 页"`, "&lt;script&gt;alert(1)&lt;/script&gt;", "审批人"} {
		if !strings.Contains(out, want) {
			t.Errorf("form lacks %q:\n%s", want, out)
		}
	}
}
