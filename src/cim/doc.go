// Package cim checks the add-on's search-time knowledge objects without a Splunk
// server.
//
// It reads default/props.conf, transforms.conf, eventtypes.conf and tags.conf
// (and the CSV files under lookups/) and applies them to a sample event in the
// order Splunk documents for search time (props.conf.spec and the Knowledge
// Manager's "search-time operations sequence"):
//
//  1. EXTRACT-<class> (inline regexes), in ASCII order of class;
//  2. REPORT-<class> (transforms.conf REGEX/FORMAT/SOURCE_KEY/MV_ADD), in ASCII
//     order of class and list order within a class;
//  3. KV_MODE = json, the automatic JSON extraction: {"a":{"b":1}} gives a.b=1,
//     {"a":[1,2]} gives the multivalue a{}=1,2 and {"a":[{"b":1}]} gives a{}.b=1;
//     JSON null is extracted as the text "null", as Splunk does;
//  4. FIELDALIAS-<class> (AS and ASNEW);
//  5. EVAL-<field>, all evaluated against the same input ("as if they are run in
//     parallel"); a null result removes the field;
//  6. LOOKUP-<class> against CSV lookups (OUTPUT and OUTPUTNEW);
//  7. event types (eventtypes.conf searches, including %field% name
//     substitution) and then tags (tags.conf).
//
// The eval evaluator implements only the functions and operators the add-on
// uses. Anything else is a parse error, so a props.conf change that relies on
// an unimplemented function fails the tests instead of being skipped. Where
// Splunk's behaviour for a construct is ambiguous (a scalar function or a
// comparison applied to a multivalue field), the evaluator refuses it too.
//
// Nothing in the shipped binary imports this package.
package cim
