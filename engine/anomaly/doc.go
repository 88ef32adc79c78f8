// Package anomaly finds where a metric series changed regime around an
// incident: whether it did, when the abnormal regime started (the onset), in
// which direction, by how much, and whether it looks like a step, a ramp or a
// spike. The evidence engine uses onsets to order resources in time ("the
// database's latency moved four minutes before the front end's errors") and
// to match changes (deployments, config edits) that precede them.
//
// It is a leaf package: pure computation on values passed in, no I/O, no
// clock, no logging, and no import of any other Nightshift package. It must not
// decide what is a root cause; it describes one series at a time (Rank only
// orders such descriptions). Every function is safe for concurrent use and
// none modifies its input.
//
// # Method
//
// Detect looks at the window [Incident-Lookback, Incident+After] and works in
// five steps.
//
//  1. Clean: non-finite values and points outside the window are dropped, the
//     rest sorted by time. Windows of more than 256 samples (1 s data) are
//     reduced to 256 equal time buckets by their median, so the search costs
//     the same for 150 or 7,200 points; onsets are then refined on the raw
//     samples around the bucket, with an absolute-error fit.
//  2. Noise: sigma is 1.4826·MAD of first differences over sqrt 2, after
//     collapsing runs of repeated values (a 1 s series of a 15 s scrape
//     repeats each value). Differences ignore level shifts and ramps, so
//     sigma is the point-to-point noise even across the change.
//  3. Spikes: a run of one to three samples that sits, in one direction,
//     more than 1.5×MinScore times max(sigma, local spread) away from the
//     medians of the five samples on each side is a spike candidate, and is
//     replaced by the local level so that it cannot pull the segmentation.
//  4. Segmentation: greedy binary segmentation with a least-squares cost on
//     the despiked samples. Each split is the best of two models, evaluated in
//     O(1) per candidate with prefix sums: a hinge (flat, a linear ramp in
//     time over 1 to 64 samples or to the end of the data, flat again; a
//     step is a ramp of one interval) and an epidemic interval (flat, shifted,
//     back again). A split is kept while it removes more than 3·ln(n)·sigma²
//     of squared error (a BIC-like penalty), up to eight change points. A
//     ramp must beat the best plain step by ln(n)·sigma² and have at least
//     half of its inner samples between the two levels; otherwise it is a
//     step. The hinge is where a ramp leaves the old level, not where it
//     crosses a threshold.
//  5. Judging: segments are scanned in time order against a reference: the
//     first segment plus every later segment judged normal (or the samples
//     of Options.Baseline). A segment is abnormal when its median lies at
//     least MinScore robust z units from the reference median and at most 5%
//     of the reference lies beyond it (a crest of a periodic signal is a level
//     the reference already visits). The z unit is the largest of
//     1.4826·MAD(reference), sigma, 1% of the reference level and the
//     reference's quantisation step (the smallest gap between its distinct
//     values), so flat and integer series never divide by zero. Consecutive
//     abnormal segments in one direction form an episode; a segment still at
//     half the threshold does not end it, and an episode that follows another
//     in the same direction after a normal stretch no longer than either
//     continues it (flapping, an oscillation that started). An episode that
//     came back to normal needs the spike threshold, 1.5×MinScore.
//
// Among episodes and spikes, the one nearest the incident wins: one that
// spans the incident time is at distance zero, and a level change beats a
// spike at equal distance. Its onset is the first sample of the new regime (a
// step's first new sample; a ramp's hinge), moved back over up to three
// samples just before it that are already three z units off. The first
// segment must hold max(6, n/5) samples, so a change at the very start of
// the window, or before it, is the normal state rather than the incident.
//
// # Assumptions and limits
//
// The model is piecewise constant with linear transitions plus noise without
// long memory. Periodic signals are recognised as normal when the reference
// (the first fifth of the window) spans a period: with the default two-hour
// lookback, periods up to about 40 minutes. One that starts inside the window
// is a change of regime and is reported from its first excursion. Slower cycles, trends across the whole
// window and changes in variance alone are outside the model. A change seen
// only in the last sample is not reported (it could be a spike);
// two samples are enough for a step. Onsets have the resolution of
// the samples; End has the resolution of a bucket on bucketed series. Shifts
// below about five noise sigmas are detected only part of the time.
package anomaly
