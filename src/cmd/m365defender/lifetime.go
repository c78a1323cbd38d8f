package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// lifetime returns a context that ends on SIGTERM, SIGINT (on Windows also
// CTRL_BREAK, which Go delivers as os.Interrupt), or when the parent splunkd
// goes away. SIGPIPE is turned into EPIPE errors so that a closed stdout stops
// the process cleanly instead of killing it.
func lifetime(parent context.Context, log *slog.Logger) (context.Context, context.CancelFunc) {
	signal.Ignore(syscall.SIGPIPE)
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	parentGone := watchParent(ctx)
	go func() {
		select {
		case s := <-sigs:
			log.Info("stop signal received, stopping inputs", "signal", s.String())
		case <-parentGone:
			log.Warn("parent process went away, stopping inputs")
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}

// parentPollInterval is how often the parent process is checked.
const parentPollInterval = time.Second
