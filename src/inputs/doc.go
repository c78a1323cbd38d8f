// Package inputs holds what every input of the add-on shares: the Runtime an
// input runs with (event writer, checkpoints, splunkd client, logger), the Kind
// each input package exports so the command can list them explicitly, the
// scheme arguments common to several inputs, the secret-parameter helper, and
// the runner that executes the stanzas of one <input> document in isolation.
//
// The individual inputs live in sub-packages (incidents, alerts, eventhub,
// storage); they import this package, never each other.
package inputs
