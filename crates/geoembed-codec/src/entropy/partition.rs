//! The optimal cut of an ordered sequence of token histograms (cells of activities) into at
//! most so many runs, each run one context with its own static table: the float codec's
//! context thresholds. Dynamic programming over every run's cost, so the cut is the
//! cheapest of all, not only of the equally filled quantiles. (The native codec's greedy
//! merge of adjacent levels came within 0.01% of this cut on the issue-13 rasters, and
//! keeps it.)

/// The starts (indices into `histograms`, the first always 0) of the runs that minimise
/// the sum of `run_cost` over the runs, among every cut into at most `max_runs` runs.
/// `run_cost` gets a run's summed token counts, up to the last symbol any histogram uses;
/// it should charge the run's table, or more runs always win. O(n² · (alphabet + max_runs)) for n histograms: meant for a few hundred.
pub(crate) fn cheapest_runs(
    histograms: &[Vec<u64>],
    max_runs: usize,
    run_cost: impl Fn(&[u64]) -> f64,
) -> Vec<usize> {
    let n = histograms.len();
    if n == 0 || max_runs == 0 {
        return Vec::new();
    }
    // Symbols past the last one any histogram uses are left off every run's counts: a
    // float tile's residual tokens use a fifth of the alphabet, and the n²/2 runs' sums
    // were most of this function's time on small tiles.
    let alphabet = histograms
        .iter()
        .filter_map(|h| h.iter().rposition(|&c| c > 0))
        .max()
        .map_or(0, |last| last + 1);
    // prefix[i]: the counts of histograms 0..i.
    let mut prefix = vec![vec![0u64; alphabet]; n + 1];
    for (i, histogram) in histograms.iter().enumerate() {
        let (done, next) = prefix.split_at_mut(i + 1);
        for ((sum, &before), &count) in next[0].iter_mut().zip(&done[i]).zip(histogram) {
            *sum = before + count;
        }
    }
    // cost[first][end - first - 1]: the run of histograms first..end.
    let mut counts = vec![0u64; alphabet];
    let cost: Vec<Vec<f64>> = (0..n)
        .map(|first| {
            (first + 1..=n)
                .map(|end| {
                    for ((count, &upto), &before) in
                        counts.iter_mut().zip(&prefix[end]).zip(&prefix[first])
                    {
                        *count = upto - before;
                    }
                    run_cost(&counts)
                })
                .collect()
        })
        .collect();
    let max_runs = max_runs.min(n);
    // best[k][end]: the cheapest cut of histograms 0..end into k runs, and where its last
    // run starts.
    let mut best = vec![vec![(f64::INFINITY, 0usize); n + 1]; max_runs + 1];
    best[0][0] = (0.0, 0);
    for k in 1..=max_runs {
        for end in k..=n {
            for first in k - 1..end {
                let total = best[k - 1][first].0 + cost[first][end - first - 1];
                if total < best[k][end].0 {
                    best[k][end] = (total, first);
                }
            }
        }
    }
    let runs = (1..=max_runs)
        .min_by(|&a, &b| best[a][n].0.total_cmp(&best[b][n].0))
        .expect("at least one run");
    let mut starts = Vec::with_capacity(runs);
    let mut end = n;
    for k in (1..=runs).rev() {
        end = best[k][end].1;
        starts.push(end);
    }
    starts.reverse();
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entropy_and_table(counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let entropy: f64 = counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| -(c as f64) * (c as f64 / total as f64).log2())
            .sum();
        entropy + 24.0
    }

    /// Three regimes of token statistics, in runs of uneven length: the cut finds them,
    /// and no cut into at most three runs costs less (checked against every one).
    #[test]
    fn the_cut_is_the_cheapest_of_all() {
        let regime = |i: usize| match i {
            0..=2 => vec![90, 10, 0, 0],
            3..=9 => vec![10, 80, 10, 0],
            _ => vec![0, 10, 40, 50],
        };
        let histograms: Vec<Vec<u64>> = (0..12).map(regime).collect();
        let starts = cheapest_runs(&histograms, 3, entropy_and_table);
        assert_eq!(starts, vec![0, 3, 10]);
        let cost_of = |starts: &[usize]| {
            let ends = starts[1..].iter().copied().chain([histograms.len()]);
            starts
                .iter()
                .zip(ends)
                .map(|(&first, end)| {
                    let mut counts = vec![0u64; 4];
                    for h in &histograms[first..end] {
                        counts.iter_mut().zip(h).for_each(|(c, &v)| *c += v);
                    }
                    entropy_and_table(&counts)
                })
                .sum::<f64>()
        };
        let found = cost_of(&starts);
        for a in 1..12 {
            assert!(found <= cost_of(&[0, a]) + 1e-9);
            for b in a + 1..12 {
                assert!(found <= cost_of(&[0, a, b]) + 1e-9);
            }
        }
        assert_eq!(cheapest_runs(&histograms, 1, entropy_and_table), vec![0]);
        assert!(cheapest_runs(&[], 4, entropy_and_table).is_empty());
    }
}
