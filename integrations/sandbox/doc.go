// Package sandbox is Nightshift's simulated environment: a retail store on a
// simulated cloud account and Kubernetes cluster, and a library of incidents
// ("scenarios") that play out in it. It lets the whole product run — alert
// intake, correlation, investigation, reporting — with no cloud account, and
// it is what `nightshift demo` plays and `nightshift eval` scores.
//
// A scenario is one YAML file in the format documented in SCENARIOS.md
// (the contract; fields there keep working). [Load], [LoadFS] and [LoadDir]
// read and validate scenario files; [Builtin] returns the embedded library.
// Loading splits the scenario's `truth` block off into a separate [Truth]
// value that only the caller of the loader receives: [Scenario] has no field
// that can reach it, so nothing built from a Scenario (an [Env], its tools,
// its alerts) can leak the answer to the engine.
//
// [NewEnv] turns a Scenario into an [Env], shifted in time so that the
// incident happens when the caller wants it to. An Env serves the scenario's
// telemetry through read-only engine tools ([Env.Tools]) that speak the same
// evidence types as the real providers (CloudWatch, CloudWatch Logs,
// CloudTrail, Kubernetes, Prometheus), delivers its alerts as normalised
// engine alerts ([Env.Alerts]) and exports its topology ([Env.Resources],
// [Env.Edges]).
//
// What this package must not do: it never talks to a network, never reads
// anything but the scenario files (and the CSV files they name), and never
// changes anything: every tool is read-only by construction, since there is
// nothing behind it to write to. It imports only the engine. Generated
// telemetry is computed on demand from the scenario (nothing is cached
// globally), so serving the whole library keeps memory flat.
//
// # Additions to the scenario format
//
// The loader accepts these fields beyond SCENARIOS.md; all are optional:
//
//   - resources[].labels, depends_on, spec on an id that the base topology
//     already has override it field by field: type, name, depends_on and spec
//     replace the base's values when given, labels are merged key by key.
//   - logs[].labels: labels of the log lines (pod, container, ...).
//   - alerts[].rule: the identity of the alerting rule. Alerts with the same
//     source, rule and resource share a fingerprint (a flapping alarm is one
//     condition). Default: "scenario-alert-<index>".
//   - alerts[].resolved_at: an offset or time at which the alert resolves;
//     Env.Alerts then also yields the resolved delivery.
//   - alerts[].description and alerts[].labels: copied into the engine alert.
//   - recorded[].series[].labels: labels of a recorded series.
//
// Defaults: space "sandbox", window 1h, noise 0, log level info (the
// spellings "warning" and "err" are accepted), alert severity warning (any
// spelling engine.ParseSeverity knows), recorded time_column "time". A
// `truth` block is optional (a user rehearsing a runbook may not know the
// answer); when present it needs root_cause (a known resource) and category.
// Library scenarios fire their first alert at incident_at.
//
// Text is served verbatim: specs, log messages and change summaries are not
// time-shifted, so scenarios should not write absolute dates into them.
// Recorded CSV values "NaN" and ±Inf are served as missing points, as JSON
// cannot carry them.
package sandbox
