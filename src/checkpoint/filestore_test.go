package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 12, 4, 15, 4, 5, 123456789, time.UTC)

// newStore returns a FileStore in a fresh directory with a fixed clock.
func newStore(t *testing.T, dir, namespace string) *FileStore {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := NewFileStore(dir, namespace)
	if err != nil {
		t.Fatalf("NewFileStore: %v", err)
	}
	s.now = func() time.Time { return fixedNow }
	return s
}

type cursor struct {
	Time  time.Time `json:"time"`
	Skip  string    `json:"skip,omitempty"`
	Count int       `json:"count"`
}

// portableName is what every record file name must look like.
var portableName = regexp.MustCompile(`^[A-Za-z0-9_-]{0,32}_[0-9a-f]{8}_[A-Za-z0-9_-]{0,32}_[0-9a-f]{16}\.json$`)

func TestSaveLoadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		key  string
		v    any
	}{
		{"Simple", "cursor", cursor{Time: fixedNow, Skip: "abc", Count: 3}},
		{"EmptyKey", "", cursor{Count: 1}},
		{"Slashes", "partition/0/../../etc", "offset-12"},
		{"WindowsPath", `C:\Users\splunk\x:y`, 42.5},
		{"ReservedWindowsName", "CON", true},
		{"ReservedWindowsNameExt", "nul.txt", []string{"a"}},
		{"Dots", "..", map[string]int{"a": 1}},
		{"Unicode", "日本語-ключ-🔑", "ü"},
		{"ControlChars", "a\nb\tc\x00d\"e\\", "x"},
		{"Long", strings.Repeat("k", 600), cursor{Count: 600}},
		{"Spaces", "  trailing dot. ", nil},
		{"Null", "null", nil},
	}
	dir := t.TempDir()
	s := newStore(t, dir, "m365_defender_eventhub://prod hub")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Save(tt.key, tt.v); err != nil {
				t.Fatalf("Save: %v", err)
			}
			name := filepath.Base(s.Path(tt.key))
			if !portableName.MatchString(name) {
				t.Errorf("file name %q is not portable", name)
			}
			if _, err := os.Stat(s.Path(tt.key)); err != nil {
				t.Fatalf("record file: %v", err)
			}
			got := reflect.New(reflect.TypeOf(&tt.v).Elem())
			if tt.v != nil {
				got = reflect.New(reflect.TypeOf(tt.v))
			}
			found, err := s.Load(tt.key, got.Interface())
			if err != nil || !found {
				t.Fatalf("Load = %v, %v; want true, nil", found, err)
			}
			if tt.v != nil {
				if g := got.Elem().Interface(); !reflect.DeepEqual(g, tt.v) {
					t.Errorf("Load = %#v, want %#v", g, tt.v)
				}
			}
		})
	}
	keys, err := s.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(tests) {
		t.Errorf("Keys() returned %d keys, want %d: %q", len(keys), len(tests), keys)
	}
	want := map[string]bool{}
	for _, tt := range tests {
		want[tt.key] = true
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("Keys() has unexpected key %q", k)
		}
	}
}

func TestRecordFormat(t *testing.T) {
	s := newStore(t, "", "m365_defender_incidents://prod")
	if err := s.Save("cursor", map[string]any{"last": "2026-12-01T00:00:00Z", "n": 2}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.Path("cursor"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"namespace":"m365_defender_incidents://prod","key":"cursor","saved":"2026-12-04T15:04:05.123456789Z","data":{"last":"2026-12-01T00:00:00Z","n":2}}` + "\n"
	if string(b) != want {
		t.Errorf("record file:\n got %s\nwant %s", b, want)
	}
	if got, want := filepath.Base(s.Path("cursor")), "m365_defender_incidents_prod_"; !strings.HasPrefix(got, want) {
		t.Errorf("file name %q does not start with %q", got, want)
	}
}

func TestLoadMissing(t *testing.T) {
	s := newStore(t, "", "ns")
	var c cursor
	found, err := s.Load("nothing", &c)
	if found || err != nil {
		t.Fatalf("Load = %v, %v; want false, nil", found, err)
	}
	keys, err := s.Keys()
	if err != nil || len(keys) != 0 {
		t.Fatalf("Keys = %q, %v; want none", keys, err)
	}
}

func TestNewFileStoreCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "modinputs", "m365_defender_incidents")
	s := newStore(t, dir, "m365_defender_incidents://x")
	if err := s.Save("k", 1); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("directory not created: %v", err)
	}
}

func TestNewFileStoreErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, namespace, want string
	}{
		{"NoDir", "", "ns", "checkpoint: no checkpoint directory given"},
		{"BadNamespace", t.TempDir(), "a\xffb", `checkpoint: namespace "a\xffb" is not valid UTF-8`},
		{"DirIsFile", filepath.Join(file, "sub"), "ns", "checkpoint: create directory: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFileStore(tt.dir, tt.namespace)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("NewFileStore error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestNamespacesAreIsolated(t *testing.T) {
	dir := t.TempDir()
	// All of these sanitise to the same readable part, or differ only in case.
	namespaces := []string{
		"m365_defender_incidents://prod",
		"m365_defender_incidents:/prod",
		"m365_defender_incidents://Prod",
		"m365_defender_incidents://PROD",
		"m365_defender_incidents__prod",
	}
	stores := make([]*FileStore, len(namespaces))
	for i, ns := range namespaces {
		stores[i] = newStore(t, dir, ns)
		if err := stores[i].Save("cursor", i); err != nil {
			t.Fatal(err)
		}
		if err := stores[i].Save(fmt.Sprintf("only-%d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range stores {
		var got int
		if found, err := s.Load("cursor", &got); err != nil || !found || got != i {
			t.Errorf("%s: Load = %d, %v, %v; want %d", namespaces[i], got, found, err, i)
		}
		keys, err := s.Keys()
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"cursor", fmt.Sprintf("only-%d", i)}; !reflect.DeepEqual(keys, want) {
			t.Errorf("%s: Keys = %q, want %q", namespaces[i], keys, want)
		}
	}
	// File names must differ even ignoring case (Windows and macOS file systems).
	seen := map[string]string{}
	for _, s := range stores {
		n := strings.ToLower(filepath.Base(s.Path("cursor")))
		if prev, ok := seen[n]; ok {
			t.Errorf("namespaces %q and %q share file %s on a case-insensitive file system", prev, s.Namespace(), n)
		}
		seen[n] = s.Namespace()
	}
}

func TestDelete(t *testing.T) {
	s := newStore(t, "", "ns")
	if err := s.Save("a", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("b", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("a"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if err := s.Delete("never"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	var v int
	if found, err := s.Load("a", &v); found || err != nil {
		t.Fatalf("Load after Delete = %v, %v", found, err)
	}
	if keys, _ := s.Keys(); !reflect.DeepEqual(keys, []string{"b"}) {
		t.Fatalf("Keys = %q, want [b]", keys)
	}
}

func TestSaveErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cp")
	s := newStore(t, dir, "ns")
	if err := s.Save("k", make(chan int)); err == nil || !strings.HasPrefix(err.Error(), `checkpoint: save "k": encode: `) {
		t.Errorf("Save(chan) error = %v", err)
	}
	if _, err := os.Stat(s.Path("k")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed Save left a file: %v", err)
	}
	if err := s.Save("bad\xff", 1); err == nil || err.Error() != `checkpoint: key "bad\xff" is not valid UTF-8` {
		t.Errorf("Save(invalid key) error = %v", err)
	}
	if _, err := s.Load("bad\xff", new(int)); err == nil {
		t.Error("Load(invalid key) succeeded")
	}
	if err := s.Delete("bad\xff"); err == nil {
		t.Error("Delete(invalid key) succeeded")
	}
	// The directory disappears under the store: Save must fail loudly, not pretend.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("k", 1); err == nil || !strings.HasPrefix(err.Error(), `checkpoint: save "k": `) {
		t.Errorf("Save into a vanished directory: error = %v", err)
	}
	if _, err := s.Keys(); err == nil {
		t.Error("Keys of a vanished directory succeeded")
	}
}

func TestLoadDataMismatchKeepsFile(t *testing.T) {
	s := newStore(t, "", "ns")
	if err := s.Save("k", "not a number"); err != nil {
		t.Fatal(err)
	}
	var n int
	found, err := s.Load("k", &n)
	if !found || err == nil || !strings.HasPrefix(err.Error(), `checkpoint: load "k": decode data: `) {
		t.Fatalf("Load = %v, %v; want true and a decode error", found, err)
	}
	if errors.Is(err, ErrCorrupt) {
		t.Error("a type mismatch must not be reported as corruption")
	}
	if _, err := os.Stat(s.Path("k")); err != nil {
		t.Errorf("the record was moved: %v", err)
	}
}

func TestCorruptRecord(t *testing.T) {
	const ns = "m365_defender_incidents://prod"
	good := string(encodeRecord(nil, ns, "cursor", fixedNow, []byte(`{"count":7}`)))
	tests := []struct {
		name    string
		content string
		wantErr string // substring of the CorruptError's cause
	}{
		{"Empty", "", "empty file"},
		{"OnlyWhitespace", " \n", "empty file"},
		{"TruncatedHalf", good[:len(good)/2], "bad JSON"},
		{"TruncatedEnd", good[:len(good)-3], "bad JSON"},
		{"NotJSON", "cursor=7\n", "bad JSON"},
		{"JSONNull", "null", "no version field"},
		{"JSONArray", "[1,2]", "bad JSON"},
		{"TrailingGarbage", good + "xyz", "bad JSON"},
		{"UnknownVersion", `{"version":2,"namespace":"` + ns + `","key":"cursor","data":{}}`, "unknown record version 2"},
		{"VersionZero", `{"version":0,"data":{}}`, "unknown record version 0"},
		{"VersionString", `{"version":"1","data":{}}`, "bad JSON"},
		{"NoVersion", `{"namespace":"` + ns + `","key":"cursor","data":{}}`, "no version field"},
		{"NoData", `{"version":1,"namespace":"` + ns + `","key":"cursor"}`, "no data field"},
		{"WrongKey", strings.Replace(good, `"key":"cursor"`, `"key":"other"`, 1), `record belongs to another key: file holds namespace "` + ns + `", key "other"`},
		{"WrongNamespace", strings.Replace(good, ns, "m365_defender_alerts://prod", 1), "record belongs to another key"},
		{"BadSavedTime", strings.Replace(good, "2026-12-04T", "2026-13-04T", 1), "bad JSON"},
		{"OtherVersionOtherTypes", `{"version":3,"saved":1733300000,"data":{}}`, "unknown record version 3"},
		{"InvalidUTF8", strings.Replace(good, `"count":7`, "\"count\":\"\xff\"", 1), "not valid UTF-8"},
		{"ZeroBytes", strings.Repeat("\x00", 64), "bad JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, "", ns)
			path := s.Path("cursor")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var c cursor
			found, err := s.Load("cursor", &c)
			if found {
				t.Error("Load reported found for a corrupt record")
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load error = %v (%T), want *CorruptError", err, err)
			}
			if !strings.Contains(ce.Err.Error(), tt.wantErr) {
				t.Errorf("cause = %q, want it to contain %q", ce.Err, tt.wantErr)
			}
			wantAside := fmt.Sprintf("%s.corrupt-%d", path, fixedNow.Unix())
			if ce.Path != path || ce.SetAside != wantAside {
				t.Errorf("CorruptError paths = %q, %q; want %q, %q", ce.Path, ce.SetAside, path, wantAside)
			}
			if want := "checkpoint: corrupt record " + path + " (set aside as " + wantAside + "): "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err, want)
			}
			if b, err := os.ReadFile(wantAside); err != nil || string(b) != tt.content {
				t.Errorf("set-aside file = %q, %v; want the original bytes", b, err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("corrupt file still in place: %v", err)
			}
			// Not silently reset: the error came first; now the key is simply missing.
			if found, err := s.Load("cursor", &c); found || err != nil {
				t.Errorf("Load after set-aside = %v, %v; want false, nil", found, err)
			}
			if keys, err := s.Keys(); err != nil || len(keys) != 0 {
				t.Errorf("Keys = %q, %v; want none", keys, err)
			}
			if err := s.Save("cursor", cursor{Count: 1}); err != nil {
				t.Fatalf("Save after set-aside: %v", err)
			}
		})
	}
}

func TestCorruptTwiceInOneSecond(t *testing.T) {
	s := newStore(t, "", "ns")
	path := s.Path("k")
	var asides []string
	for i := range 3 {
		if err := os.WriteFile(path, []byte(fmt.Sprintf("garbage %d", i)), 0o600); err != nil {
			t.Fatal(err)
		}
		var ce *CorruptError
		if _, err := s.Load("k", new(int)); !errors.As(err, &ce) {
			t.Fatalf("Load error = %v", err)
		}
		asides = append(asides, ce.SetAside)
	}
	base := fmt.Sprintf("%s.corrupt-%d", path, fixedNow.Unix())
	if want := []string{base, base + "-1", base + "-2"}; !reflect.DeepEqual(asides, want) {
		t.Fatalf("set-aside names = %q, want %q", asides, want)
	}
	for i, a := range asides {
		if b, _ := os.ReadFile(a); string(b) != fmt.Sprintf("garbage %d", i) {
			t.Errorf("%s holds %q", a, b)
		}
	}
}

// TestCrashLeftovers lays out what a crash can leave behind and checks the store reads through it.
func TestCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, "ns")
	other := newStore(t, dir, "other")
	if err := s.Save("k", cursor{Count: 1}); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(s.Path("k"))
	full := encodeRecord(nil, "ns", "k", fixedNow, []byte(`{"count":2}`))
	// NewFileStore judges staleness by the real clock (the fixed one is set only after it returns).
	stale, fresh := time.Now().Add(-time.Hour), time.Now()
	leftovers := []struct {
		name    string
		content []byte
		mtime   time.Time
		removed bool // by the next NewFileStore
	}{
		{"." + name + tempMarker + "111", nil, stale, true},                             // crash right after CreateTemp
		{"." + name + tempMarker + "222", full[:10], stale, true},                       // crash during Write
		{"." + name + tempMarker + "333", full, stale, true},                            // crash before Rename
		{"." + name + tempMarker + "444", full, fresh, false},                           // too fresh: may be in flight
		{"." + filepath.Base(other.Path("k")) + tempMarker + "555", full, stale, false}, // another namespace's
	}
	for _, l := range leftovers {
		p := filepath.Join(dir, l.name)
		if err := os.WriteFile(p, l.content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, l.mtime, l.mtime); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *FileStore) {
		t.Helper()
		var c cursor
		if found, err := s.Load("k", &c); err != nil || !found || c.Count != 1 {
			t.Fatalf("Load = %+v, %v, %v; want the record before the crash", c, found, err)
		}
		if keys, err := s.Keys(); err != nil || !reflect.DeepEqual(keys, []string{"k"}) {
			t.Fatalf("Keys = %q, %v", keys, err)
		}
	}
	check(s)
	s2 := newStore(t, dir, "ns") // a relaunch after the crash
	check(s2)
	for _, l := range leftovers {
		_, err := os.Stat(filepath.Join(dir, l.name))
		if gone := errors.Is(err, os.ErrNotExist); gone != l.removed {
			t.Errorf("%s: removed = %v, want %v", l.name, gone, l.removed)
		}
	}
	if err := s2.Save("k", cursor{Count: 3}); err != nil {
		t.Fatal(err)
	}
}

func TestNewFileStoreCleansWithRealClock(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, "ns")
	tmp := filepath.Join(dir, "."+filepath.Base(s.Path("k"))+tempMarker+"1")
	if err := os.WriteFile(tmp, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleTempAge)
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileStore(dir, "ns"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file kept: %v", err)
	}
}

func TestKeysIgnoresForeignFiles(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, "ns")
	if err := s.Save("k", 1); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(s.Path("k"))
	foreign := map[string]string{
		"README.txt":                              "hello",
		name + ".corrupt-1700000000":              "garbage",
		"." + name + tempMarker + "9":             string(encodeRecord(nil, "ns", "tmp", fixedNow, []byte("1"))),
		s.prefix + "forged_0123456789abcdef.json": string(encodeRecord(nil, "ns", "forged", fixedNow, []byte("1"))), // name does not match its key
		s.prefix + "broken_0123456789abcdef.json": "{",
	}
	for n, c := range foreign {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, s.prefix+"dir_0123456789abcdef.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	keys, err := s.Keys()
	if err != nil || !reflect.DeepEqual(keys, []string{"k"}) {
		t.Fatalf("Keys = %q, %v; want [k]", keys, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := newStore(t, "", "ns")
	const writers, rounds = 6, 25
	var wg sync.WaitGroup
	errs := make(chan error, 4*writers*rounds)
	for w := range writers {
		wg.Add(3)
		go func() { // own key
			defer wg.Done()
			key := fmt.Sprintf("partition-%d", w)
			for i := range rounds {
				if err := s.Save(key, cursor{Count: i}); err != nil {
					errs <- err
				}
				var c cursor
				if found, err := s.Load(key, &c); err != nil || !found || c.Count != i {
					errs <- fmt.Errorf("%s: Load = %+v, %v, %v; want count %d", key, c, found, err, i)
				}
			}
		}()
		go func() { // shared key, written by everyone
			defer wg.Done()
			for i := range rounds {
				if err := s.Save("shared", cursor{Count: w*1000 + i, Skip: strings.Repeat("x", 100*w)}); err != nil {
					errs <- err
				}
			}
		}()
		go func() { // readers of the shared key and of the key list
			defer wg.Done()
			for range rounds {
				var c cursor
				if _, err := s.Load("shared", &c); err != nil {
					errs <- err
				}
				if _, err := s.Keys(); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var c cursor
	if found, err := s.Load("shared", &c); err != nil || !found || c.Count%1000 != rounds-1 {
		t.Errorf("final shared record = %+v, %v, %v", c, found, err)
	}
	keys, err := s.Keys()
	if err != nil || len(keys) != writers+1 {
		t.Errorf("Keys = %q, %v", keys, err)
	}
	entries, _ := os.ReadDir(s.Dir())
	for _, e := range entries {
		if strings.Contains(e.Name(), tempMarker) {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestReadable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"cursor", "cursor"},
		{"m365_defender_incidents://prod", "m365_defender_incidents_prod"},
		{"a b\\c", "a_b_c"},
		{"日本", "_"},
		{"Mixed-Case_09", "Mixed-Case_09"},
		{strings.Repeat("a", 40), strings.Repeat("a", 32)},
		{"con.", "con_"},
	}
	for _, tt := range tests {
		if got := readable(tt.in); got != tt.want {
			t.Errorf("readable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeRecordEscapes(t *testing.T) {
	ns, key := "ns\"\\\x01\u2028", "k\n\x1f/<>&"
	b := encodeRecord(nil, ns, key, fixedNow, []byte("1"))
	rec, err := decodeRecord(b)
	if err != nil {
		t.Fatalf("decodeRecord(%s): %v", b, err)
	}
	if rec.Namespace != ns || rec.Key != key || !rec.Saved.Equal(fixedNow) || !bytes.Equal(rec.Data, []byte("1")) {
		t.Errorf("round trip = %+v", rec)
	}
}
