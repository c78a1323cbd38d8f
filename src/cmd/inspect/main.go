// Command inspect runs the project's AppInspect-style checks (package
// appcheck) over a packaged app and exits non-zero on any finding.
//
//	go run ./src/cmd/inspect [flags] dist/TA-m365-defender-<version>.tgz
//	go run ./src/cmd/inspect -tree .        # the source tree instead
//
// The --scheme output of every input is taken from the packaged binary for
// this machine (through its bin/<scheme>.sh launcher, as splunkd runs it), or
// from <scheme>.xml files in -schemes DIR.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ta-m365-defender/ta-m365-defender/src/appcheck"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specDir := fs.String("spec-dir", "", "directory of Splunk's .conf.spec files (default: ../shared/fixtures/splunk-spec beside the module root)")
	schemeDir := fs.String("schemes", "", "directory of <scheme>.xml files to use instead of running the packaged binary")
	appID := fs.String("app-id", "TA-m365-defender", "expected app id (folder name and [package] id); empty: take it from app.conf")
	tree := fs.Bool("tree", false, "the argument is a source tree (repository root), not a package")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: inspect [flags] PACKAGE.tgz | -tree DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	target := fs.Arg(0)

	dir := *specDir
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			fmt.Fprintf(stderr, "inspect: %v (use -spec-dir)\n", err)
			return 2
		}
		dir = filepath.Join(root, "..", "shared", "fixtures", "splunk-spec")
	}
	specs, err := appcheck.LoadSystemSpecs(dir)
	if err != nil {
		fmt.Fprintf(stderr, "inspect: %v\n", err)
		return 2
	}
	opts := appcheck.Options{AppID: *appID, Specs: specs}
	if *schemeDir != "" {
		if opts.Schemes, err = appcheck.ReadSchemeDir(*schemeDir); err != nil {
			fmt.Fprintf(stderr, "inspect: %v\n", err)
			return 2
		}
	}

	var app *appcheck.App
	if *tree {
		app, err = appcheck.LoadTree(target)
	} else {
		app, err = appcheck.LoadPackage(target, appcheck.HostPlatform())
	}
	if err != nil {
		fmt.Fprintf(stderr, "inspect: %v\n", err)
		return 2
	}
	defer app.Close()

	findings := appcheck.Check(app, opts)
	for _, f := range findings {
		fmt.Fprintln(stdout, f)
	}
	if len(findings) > 0 {
		fmt.Fprintf(stdout, "inspect: %s: %d finding(s) in %d files\n", target, len(findings), countFiles(app))
		return 1
	}
	fmt.Fprintf(stdout, "inspect: %s: OK, %d files checked\n", target, countFiles(app))
	return 0
}

func countFiles(app *appcheck.App) int {
	n := 0
	for _, f := range app.Files {
		if f.Mode.IsRegular() {
			n++
		}
	}
	return n
}

// moduleRoot walks up from the working directory to the one holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
