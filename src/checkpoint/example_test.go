package checkpoint_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
)

// A polling input keeps the time of the newest record it has delivered.
func Example() {
	dir, err := os.MkdirTemp("", "modinputs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	type cursor struct {
		LastModified time.Time `json:"last_modified"`
	}
	// One store per stanza; every stanza of a scheme shares checkpoint_dir.
	store, err := checkpoint.NewFileStore(filepath.Join(dir, "m365_defender_incidents"), "m365_defender_incidents://prod")
	if err != nil {
		log.Fatal(err)
	}

	var c cursor
	found, err := store.Load("incidents", &c)
	fmt.Println("first run, found:", found, err)

	// ... events up to this time were written and flushed ...
	c.LastModified = time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	if err := store.Save("incidents", c); err != nil {
		log.Fatal(err)
	}

	var next cursor
	found, err = store.Load("incidents", &next)
	fmt.Println("next run, found:", found, err, next.LastModified.Format(time.RFC3339))

	keys, _ := store.Keys()
	fmt.Println("keys:", keys)
	// Output:
	// first run, found: false <nil>
	// next run, found: true <nil> 2026-12-04T15:00:00Z
	// keys: [incidents]
}

// A damaged file is reported once and kept aside for inspection, never silently reset.
func ExampleCorruptError() {
	dir, err := os.MkdirTemp("", "modinputs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := checkpoint.NewFileStore(dir, "m365_defender_alerts://soc")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(store.Path("alerts"), []byte(`{"version":1,"key":"alerts","data":{"skip`), 0o600); err != nil {
		log.Fatal(err)
	}

	var v map[string]any
	_, err = store.Load("alerts", &v)
	var ce *checkpoint.CorruptError
	if errors.As(err, &ce) {
		_, statErr := os.Stat(ce.SetAside)
		fmt.Println("corrupt:", errors.Is(err, checkpoint.ErrCorrupt), "kept aside:", statErr == nil)
	}
	found, err := store.Load("alerts", &v)
	fmt.Println("afterwards found:", found, err)
	// Output:
	// corrupt: true kept aside: true
	// afterwards found: false <nil>
}
