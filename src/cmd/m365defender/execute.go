package main

import (
	"context"
	"errors"
	"io"

	"github.com/ta-m365-defender/ta-m365-defender/src/actions"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// execute runs a modular alert action (splunkd's --execute with a JSON
// payload on stdin); actions.Execute logs every outcome itself. Exit codes: 0
// every result updated, 1 some failed, 2 the action could not run at all.
func execute(ctx context.Context, name string, stdin io.Reader, stderr io.Writer, secrets *modinput.Secrets) int {
	err := actions.Execute(ctx, name, stdin, stderr, actions.Deps{Secrets: secrets})
	var re *actions.RunError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &re):
		return 1
	}
	return 2
}
