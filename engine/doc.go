// Package engine is Nightshift's domain: alerts, investigations, hypotheses,
// tools and the use cases that tie them together (intake and correlation, the
// investigation runner, the reasoners).
//
// The engine does no I/O of its own. Everything it needs from the outside world
// reaches it through small ports declared here and satisfied elsewhere: a
// store (package store, Redis), alert sources (integrations/<system>), tools
// (integrations/<system>/tools.go) and progress sinks (bot/...). Only
// cmd/nightshift knows the concrete types. The engine imports its own leaf
// subpackages (journal, topology, skills, anomaly) and nothing else from the
// project.
package engine
