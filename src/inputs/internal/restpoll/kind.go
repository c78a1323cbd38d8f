package restpoll

import (
	"context"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Input is a polling REST input built for one stanza.
type Input interface {
	// Check is the live check of --validate-arguments.
	Check(ctx context.Context) error
	// Run polls once from the checkpoint to the end.
	Run(ctx context.Context) error
}

// NewFunc reads a stanza into an input (its package's NewConfig, then
// New); its errors name the stanza and the parameter.
type NewFunc func(st modinput.Stanza, rt *inputs.Runtime) (Input, error)

// Kind wires a polling input for the command: name is its scheme name,
// scheme what --scheme prints, and newInput builds the input that
// --validate-arguments checks and a launch runs.
func Kind(name string, scheme modinput.Scheme, newInput NewFunc) inputs.Kind {
	return inputs.Kind{
		Name:    name,
		Scheme:  scheme,
		Polling: true,
		Validate: func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
			in, err := newInput(st, rt)
			if err != nil {
				return err
			}
			return in.Check(ctx)
		},
		Run: func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
			in, err := newInput(st, rt)
			if err != nil {
				return err
			}
			return in.Run(ctx)
		},
	}
}
