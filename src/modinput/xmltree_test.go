package modinput

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// node is an XML element reduced to what the SDK tests compare: name,
// attributes, trimmed text and children, whitespace between elements ignored.
type node struct {
	Name     string
	Attrs    []string
	Text     string
	Children []*node
}

func (n *node) String() string {
	var b strings.Builder
	n.write(&b, 0)
	return b.String()
}

func (n *node) write(b *strings.Builder, depth int) {
	fmt.Fprintf(b, "%s<%s %v>%q\n", strings.Repeat("  ", depth), n.Name, n.Attrs, n.Text)
	for _, c := range n.Children {
		c.write(b, depth+1)
	}
}

// parseTreeForTest parses b (UTF-8, or UTF-16 with a BOM) into nodes. It
// accepts a sequence of top-level elements, as the SDKs' event fixtures are.
func parseTreeForTest(t testing.TB, b []byte) []*node {
	t.Helper()
	src, err := utf8Reader(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(src)
	dec.CharsetReader = passThroughCharset
	var roots, stack []*node
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &node{Name: tk.Name.Local}
			for _, a := range tk.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				n.Attrs = append(n.Attrs, a.Name.Local+"="+a.Value)
			}
			sort.Strings(n.Attrs)
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				roots = append(roots, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.Text = strings.TrimSpace(n.Text)
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tk)
			}
		}
	}
	return roots
}

func treesEqual(a, b []*node) bool {
	var sa, sb strings.Builder
	for _, n := range a {
		sa.WriteString(n.String())
	}
	for _, n := range b {
		sb.WriteString(n.String())
	}
	return sa.String() == sb.String()
}

func dumpTrees(ns []*node) string {
	var s strings.Builder
	for _, n := range ns {
		s.WriteString(n.String())
	}
	return s.String()
}

// fixture reads a file of Splunk's SDK fixtures, beside the repository.
func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir(t), rel))
	if err != nil {
		t.Fatalf("SDK fixture missing (../shared/fixtures/splunk-sdk must sit beside the repository): %v", err)
	}
	return b
}

func fixtureDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "fixtures", "splunk-sdk")
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = up
	}
}
