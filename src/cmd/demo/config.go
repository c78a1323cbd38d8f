package main

import (
	"bytes"
	"encoding/xml"
	"sort"
)

// stanzaConfig is one <stanza> of the <input> document.
type stanzaConfig struct {
	Name   string
	Params map[string]string
}

// inputXML renders the <input> document splunkd writes on a modular input's
// stdin: metadata, then one <stanza> per input. serverURI and sessionKey
// may be empty, in which case the elements are left out (no splunkd).
func inputXML(serverHost, serverURI, sessionKey, checkpointDir, app string, stanzas []stanzaConfig) []byte {
	var b bytes.Buffer
	esc := func(s string) {
		_ = xml.EscapeText(&b, []byte(s))
	}
	b.WriteString("<input>\n")
	elem := func(tag, v string) {
		b.WriteString("  <" + tag + ">")
		esc(v)
		b.WriteString("</" + tag + ">\n")
	}
	elem("server_host", serverHost)
	if serverURI != "" {
		elem("server_uri", serverURI)
	}
	if sessionKey != "" {
		elem("session_key", sessionKey)
	}
	elem("checkpoint_dir", checkpointDir)
	b.WriteString("  <configuration>\n")
	for _, st := range stanzas {
		b.WriteString(`    <stanza name="`)
		esc(st.Name)
		b.WriteString(`" app="`)
		esc(app)
		b.WriteString("\">\n")
		keys := make([]string, 0, len(st.Params))
		for k := range st.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(`      <param name="`)
			esc(k)
			b.WriteString(`">`)
			esc(st.Params[k])
			b.WriteString("</param>\n")
		}
		b.WriteString("    </stanza>\n")
	}
	b.WriteString("  </configuration>\n</input>\n")
	return b.Bytes()
}
