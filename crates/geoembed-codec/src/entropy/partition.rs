//! The optimal cut of an ordered sequence of token histograms (cells of activities) into at
//! most so many runs, each run one context with its own static table: the float codec's
//! context thresholds. Dynamic programming over every run's cost, so the cut is the
//! cheapest of all, not only of the equally filled quantiles. (The native codec's greedy
//! merge of adjacent levels came within 0.01% of this cut on the issue-13 rasters, and
//! keeps it.)

/// What a run's cost is computed from: its token count, `Σ c·log2(c)` over its symbols'
/// counts, and one past the last symbol it uses. (A run's entropy is `total·log2(total) −
/// count_log_count`.)
pub(crate) struct RunCounts {
    pub total: u64,
    pub count_log_count: f64,
    pub symbols: usize,
}

/// `c·log2(c)`, 0 for 0.
fn count_log_count(c: u64) -> f64 {
    if c == 0 {
        0.0
    } else {
        c as f64 * (c as f64).log2()
    }
}

/// [`count_log_count`] of the counts below `len` from a table, computed once per call of
/// [`cheapest_runs`] (its runs take two per symbol update, and the logarithms were most
/// of its time); larger counts directly. The same values either way.
struct CountLogCounts(Vec<f64>);

impl CountLogCounts {
    /// Most entries: 512 KB.
    const MOST: u64 = 1 << 16;

    fn new(len: u64) -> Self {
        CountLogCounts((0..len.min(Self::MOST)).map(count_log_count).collect())
    }

    fn of(&self, c: u64) -> f64 {
        match self.0.get(c as usize) {
            Some(&value) => value,
            None => count_log_count(c),
        }
    }
}

/// The starts (indices into `histograms`, the first always 0) of the runs that minimise
/// the sum of `run_cost` over the runs, among every cut into at most `max_runs` runs.
/// `run_cost` should charge the run's table, or more runs always win.
///
/// Each run's summary grows from the previous run with the same start by the next
/// histogram's used symbols only: a float tile's cells use a few of the alphabet's 252
/// tokens each, and summing every symbol of every run (n²/2 of them) was a seventh of the
/// encode of small rasters. O(n² · (used symbols per cell + max_runs)) for n histograms.
pub(crate) fn cheapest_runs(
    histograms: &[Vec<u64>],
    max_runs: usize,
    run_cost: impl Fn(&RunCounts) -> f64,
) -> Vec<usize> {
    let n = histograms.len();
    if n == 0 || max_runs == 0 {
        return Vec::new();
    }
    let used: Vec<Vec<(usize, u64)>> = histograms
        .iter()
        .map(|h| {
            let symbols = h.iter().enumerate().filter(|&(_, &c)| c > 0);
            symbols.map(|(symbol, &c)| (symbol, c)).collect()
        })
        .collect();
    let alphabet = histograms.iter().map(Vec::len).max().unwrap_or(0);
    let all_tokens: u64 = histograms.iter().flatten().sum();
    let table = CountLogCounts::new(all_tokens + 1);
    // cost[first][end - first - 1]: the run of histograms first..end.
    let mut counts = vec![0u64; alphabet];
    let cost: Vec<Vec<f64>> = (0..n)
        .map(|first| {
            counts.fill(0);
            let mut run = RunCounts {
                total: 0,
                count_log_count: 0.0,
                symbols: 0,
            };
            used[first..]
                .iter()
                .map(|cell| {
                    for &(symbol, c) in cell {
                        let before = counts[symbol];
                        counts[symbol] = before + c;
                        run.count_log_count += table.of(before + c) - table.of(before);
                        run.total += c;
                        run.symbols = run.symbols.max(symbol + 1);
                    }
                    run_cost(&run)
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

    fn run_entropy_and_table(run: &RunCounts) -> f64 {
        let total = run.total as f64;
        total * total.log2() - run.count_log_count + 24.0
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
        let starts = cheapest_runs(&histograms, 3, run_entropy_and_table);
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
        assert_eq!(
            cheapest_runs(&histograms, 1, run_entropy_and_table),
            vec![0]
        );
        assert!(cheapest_runs(&[], 4, run_entropy_and_table).is_empty());
    }
}
