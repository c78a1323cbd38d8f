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

// Kind wires a polling input for the command: name is its scheme name,
// scheme what --scheme prints; --validate-arguments reads the stanza with
// newConfig, builds the input with newInput and runs its Check, a launch
// its Run. A newConfig error is returned as it is.
func Kind[C any, I Input](name string, scheme modinput.Scheme, newConfig func(modinput.Stanza) (C, error), newInput func(C, *inputs.Runtime) I) inputs.Kind {
	return inputs.Kind{
		Name:    name,
		Scheme:  scheme,
		Polling: true,
		Validate: func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
			cfg, err := newConfig(st)
			if err != nil {
				return err
			}
			return newInput(cfg, rt).Check(ctx)
		},
		Run: func(ctx context.Context, rt *inputs.Runtime, st modinput.Stanza) error {
			cfg, err := newConfig(st)
			if err != nil {
				return err
			}
			return newInput(cfg, rt).Run(ctx)
		},
	}
}
