package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// execute runs a modular alert action.
func execute(ctx context.Context, name string, stdin io.Reader, stderr io.Writer, secrets *modinput.Secrets, log *slog.Logger) int {
	log.Error("no such alert action", "action", name)
	return 2
}
