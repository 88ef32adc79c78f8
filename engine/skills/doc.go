// Package skills loads, lints and ranks skills: runbooks written as
// SKILL.md files that tell Nightshift's agents how to investigate and
// mitigate a class of incident, and that may declare deterministic checks
// for the evidence reasoner.
//
// It is a leaf package: it imports no other package of this project (the
// engine adapts its own types into Observation and reads Skill and Finding
// back). It does no I/O besides reading the fs.FS it is given (LoadDir and
// LintDir open that fs.FS on a local directory); it never fetches evidence,
// calls a model or runs anything a skill says.
//
// # Format
//
// A skill is a folder holding a SKILL.md file: YAML front matter between two
// "---" lines, then a Markdown body of instructions. Other files in the
// folder are reference material, listed in Skill.References and read only on
// demand (ReadReference).
//
//	---
//	name: resource-limits          # required, kebab-case, unique in the set, at most 64 characters
//	description: >-                # required: when the skill applies, in one or two sentences
//	  Use when a workload is slow or restarting while its containers hit
//	  their CPU or memory limits.
//	agents: [rca, mitigation]      # optional: triage, rca, mitigation, evaluation, sre (default: all)
//	checks:                        # optional: deterministic rules (below)
//	  - id: container-cpu-throttled
//	    when: {metric: cpu_throttled, labels_present: [container], above: 0.25}
//	    category: resource-limits
//	    finding: "container {container} of {resource} is CPU-throttled ({value})"
//	---
//	# Resource limits
//	1. Compare each container's usage with its own limit ...
//
// Unknown fields, duplicate fields and YAML aliases are errors. Lint reports
// every problem of a folder at once with its file, line and field; Load
// refuses the skills that have any.
//
// # Checks
//
// A check is one rule: when an observation matches its `when` condition it
// yields a Finding of its `category` (one of Categories), worded by its
// `finding` template. A condition looks at exactly one kind of observation:
//
//	metric: PATTERN          # anomalous metric series whose name matches
//	log: PATTERN             # log lines (and Kubernetes events) whose text matches
//	change: KIND | [KIND...] # changes of these kinds: deployment, config,
//	                         # infrastructure, feature-flag, scaling, iam
//
// and may narrow it with
//
//	text: PATTERN            # change only: the change summary matches
//	resource_type: PATTERN   # the resource type matches (k8s.deployment, aws.rds.instance, ...)
//	labels: {NAME: VALUE}    # each label equals VALUE (or matches /regexp/)
//	labels_present: [NAME]   # each label is set and not empty
//	labels_absent: [NAME]    # each label is unset or empty
//	above: NUMBER            # metric only: the anomalous level is greater than NUMBER
//	below: NUMBER            # metric only: the anomalous level is less than NUMBER
//
// A PATTERN is a case-insensitive substring, or a regular expression between
// slashes (/x509|certificate has expired/, RE2 syntax, case-insensitive,
// unanchored). A label VALUE is matched exactly unless written /like this/.
//
// In the finding template {resource}, {resource_type}, {kind}, {name} (metric
// name or change kind), {value} (metric checks) and {text} (log line or change
// summary) stand for the observation's fields; any other {x} stands for label
// x, which the condition must require through labels or labels_present. {{ and
// }} are literal braces.
//
// Evaluate runs the checks of a set of skills over observations. It is pure:
// the reasoner decides what an observation is (which series are anomalous and
// what their anomalous level is) and what a finding weighs.
//
// # Selection
//
// Index ranks skills against free text (an alert, the resource types
// involved, the findings so far) with Okapi BM25 over the skill's name and
// description (weighted double) and its body, so that only the relevant
// runbooks reach an agent's prompt. Tokenize documents the tokenizer.
//
// SYNTAX.md in this folder is the same reference for skill authors.
package skills
