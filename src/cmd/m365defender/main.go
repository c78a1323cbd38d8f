// Command m365defender is the TA-m365-defender add-on's one binary: every
// modular input scheme and every alert action of the app. splunkd starts it
// through the launchers in the app's bin/ directory, which pass the scheme or
// action name first:
//
//	m365defender <scheme> --scheme               print the introspection scheme
//	m365defender <scheme> --validate-arguments   check <items> from stdin
//	m365defender [<scheme>]                      stream events for the <input> on stdin
//	m365defender <action> --execute              run a modular alert action
//	m365defender --version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// version is stamped by the Makefile from default/app.conf.
var version = "dev"

// gracePeriod is how long inputs get to flush and checkpoint after a stop signal.
const gracePeriod = 8 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command, apart from the process exit; tests call it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stderr = modinput.LockedWriter(stderr)
	secrets := &modinput.Secrets{}
	logger := slog.New(modinput.NewLogHandler(stderr, modinput.LogOptions{Secrets: secrets}))

	name, mode := "", ""
	switch len(args) {
	case 0:
	case 1:
		if strings.HasPrefix(args[0], "--") {
			mode = args[0]
		} else {
			name = args[0]
		}
	case 2:
		name, mode = args[0], args[1]
	default:
		logger.Error("invalid arguments to modular input script", "args", strings.Join(args, " "))
		return 2
	}
	mode = strings.ToLower(mode)
	if mode == "--version" {
		fmt.Fprintln(stdout, version)
		return 0
	}

	ctx, stop := lifetime(context.Background(), logger)
	defer stop()
	events := modinput.NewEventWriter(stdout)
	engine := &inputs.Engine{Kinds: kinds(), Events: events, Log: stderr, Secrets: secrets}

	switch mode {
	case "--scheme":
		kind, ok := engine.Kind(name)
		if !ok {
			logger.Log(ctx, modinput.LevelFatal, "no such modular input scheme", "scheme", name, "error_kind", "config")
			return 1
		}
		if _, err := kind.Scheme.WriteTo(stdout); err != nil {
			logger.Error("cannot write scheme", "error", err)
			return 1
		}
		return 0
	case "--validate-arguments":
		def, err := modinput.ReadValidationDefinition(ctx, stdin)
		if err == nil {
			err = engine.Validate(ctx, name, def)
		}
		if err != nil {
			msg := secrets.Redact(err.Error())
			stanza := name
			if def != nil {
				stanza = name + "://" + def.Item.Name
			}
			logger.Error("validation failed", "stanza", stanza, "input", name, "error_kind", inputs.ErrorKind(err), "error", msg)
			_ = modinput.WriteValidationError(stdout, msg)
			return 1
		}
		return 0
	case "--execute":
		return execute(ctx, name, stdin, stderr, secrets)
	case "":
		def, err := modinput.ReadInputDefinition(ctx, stdin)
		if err != nil {
			logger.Log(ctx, modinput.LevelFatal, "cannot read the input configuration", "error_kind", "config", "error", err)
			return 1
		}
		done := make(chan error, 1)
		go func() { done <- engine.Stream(ctx, def) }()
		var streamErr error
		select {
		case streamErr = <-done:
		case <-ctx.Done():
			select {
			case streamErr = <-done:
			case <-time.After(gracePeriod):
				logger.Log(context.Background(), modinput.LevelFatal, "inputs did not stop in time after the stop signal", "grace_ms", gracePeriod.Milliseconds())
				return 1
			}
		}
		switch {
		case streamErr == nil:
			return 0
		case errors.Is(streamErr, modinput.ErrOutputClosed):
			logger.Warn("splunkd stopped reading the event stream; stopping", "error_kind", "output")
			return 0
		default:
			logger.Debug("stream finished with failures", "error", streamErr)
			return 1
		}
	}
	logger.Error("invalid arguments to modular input script", "args", strings.Join(args, " "))
	return 2
}
