// Package dashboards checks the add-on's Dashboard Studio views, navigation and search macros
// without a Splunk instance.
//
// A view in default/data/ui/views is a Dashboard Studio dashboard: an XML envelope
//
//	<dashboard version="2"><label>…</label><definition><![CDATA[{ JSON }]]></definition></dashboard>
//
// whose JSON definition holds dataSources (SPL searches), visualizations, inputs, layout and
// defaults. The checks read the app's own configuration (macros.conf, props.conf,
// transforms.conf, eventtypes.conf, inputs.conf) and the sample events of src/cim/testdata into
// a Catalog of what a search may use, and then analyse every search with a small SPL reader
// (Check): macros are expanded, the pipeline is split into commands, and every field a command
// reads must exist in the data, be defined by the app's props, or be created earlier in the
// same search. Commands the reader does not know are reported rather than skipped, so the
// checks cannot pass by accident.
//
// The package is test support: the shipped binary does not import it.
package dashboards
