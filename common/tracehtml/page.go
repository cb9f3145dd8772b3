// Package tracehtml builds the trace explorer: one self-contained HTML page
// (data as JSON, script and style inline, a Content-Security-Policy that
// forbids every fetch) that shows a run going through the model, from the
// reports of its model.Tracer alone. A Collector keeps the reports' share
// of the page as the model runs; Data turns it into what the page embeds;
// Write writes the page.
package tracehtml

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

//go:embed page.html
var pageHTML string

//go:embed page.js
var pageJS string

//go:embed page.css
var pageCSS string

// Write writes the page for d to w.
func Write(w io.Writer, d *Data) error {
	js, err := json.Marshal(d) // escapes <, > and &: safe inside <script>
	if err != nil {
		return err
	}
	r := strings.NewReplacer("{{TITLE}}", htmlEscape(d.Title), "{{CSS}}", pageCSS, "{{JS}}", pageJS, "{{DATA}}", string(js))
	_, err = io.WriteString(w, r.Replace(pageHTML))
	return err
}

// WriteFile writes the page for d to path.
func WriteFile(path string, d *Data) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, d); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
