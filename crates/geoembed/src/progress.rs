//! Progress and cancellation, per tile, for whoever drives the work: the CLI draws a bar,
//! the GDAL plugin forwards to `GDALProgressFunc`, a Python binding to a callback.
//!
//! Tiles are encoded and decoded on rayon's threads, but every [`Progress`] call is made
//! from the thread that called the pipeline: hosts such as GDAL and Python expect their
//! callbacks on that thread (Python's needs the interpreter lock its caller holds).

use crate::error::{Error, Result};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// Told how many tiles a stage has, then of every tile done.
pub trait Progress: Sync {
    /// A stage ("encoding", "decoding", "verifying") of `total_tiles` tiles starts.
    fn begin(&self, total_tiles: u64, stage: &str);
    /// `tiles` more are done. `Break` asks to stop: the pipeline ends with an
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) error and writes nothing.
    fn advance(&self, tiles: u64) -> ControlFlow<()>;
    /// The stage is over (also after an error).
    fn finish(&self);
}

/// Progress nobody watches.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _total_tiles: u64, _stage: &str) {}
    fn advance(&self, _tiles: u64) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    fn finish(&self) {}
}

/// One stage of a pipeline as the caller's [`Progress`] sees it: begun on creation,
/// finished on drop, and remembering a request to stop.
pub struct Stage<'a> {
    progress: &'a dyn Progress,
    cancelled: AtomicBool,
}

impl<'a> Stage<'a> {
    pub fn begin(progress: &'a dyn Progress, total_tiles: u64, name: &str) -> Self {
        progress.begin(total_tiles, name);
        Stage {
            progress,
            cancelled: AtomicBool::new(false),
        }
    }

    /// A stage nobody watches (a `.emb` read row by row as a source).
    pub fn silent() -> Stage<'static> {
        Stage::begin(&NoProgress, 0, "")
    }

    /// Reports `tiles` done (from the pipeline's calling thread); `Err(Cancelled)` if the
    /// caller asked to stop.
    pub fn advance(&self, tiles: u64) -> Result<()> {
        self.report(tiles);
        self.check()
    }

    /// Tells the caller, unless it already asked to stop (it hears nothing after that).
    fn report(&self, tiles: u64) {
        if !self.is_cancelled() && self.progress.advance(tiles).is_break() {
            self.cancelled.store(true, Ordering::Relaxed);
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once the caller asked to stop.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::cancelled())
        } else {
            Ok(())
        }
    }

    /// Runs `work` on every job in parallel on the current rayon pool and returns the
    /// results in job order, reporting each finished job from this thread. Jobs not yet
    /// started when the caller cancels are skipped; the first error (or `Cancelled`) wins.
    pub fn run_parallel<J, R, F>(&self, jobs: Vec<J>, work: F) -> Result<Vec<R>>
    where
        J: Send,
        R: Send,
        F: Fn(J) -> Result<R> + Sync,
    {
        let mut results: Vec<Option<Result<R>>> = jobs.iter().map(|_| None).collect();
        let (done_tx, done_rx) = mpsc::channel::<(usize, Result<R>)>();
        rayon::in_place_scope(|scope| {
            for (i, job) in jobs.into_iter().enumerate() {
                let done_tx = done_tx.clone();
                let work = &work;
                let cancelled = &self.cancelled;
                scope.spawn(move |_| {
                    let r = if cancelled.load(Ordering::Relaxed) {
                        Err(Error::cancelled())
                    } else {
                        work(job)
                    };
                    // The receiver lives until every job has reported.
                    let _ = done_tx.send((i, r));
                });
            }
            drop(done_tx);
            while let Some((i, r)) = next_done(&done_rx) {
                results[i] = Some(r);
                self.report(1);
            }
        });
        self.check()?;
        results
            .into_iter()
            .map(|r| r.expect("every job reports"))
            .collect()
    }
}

/// The next finished job, or `None` once all have reported. A rayon worker (a caller
/// inside `ThreadPool::install`) must not block: it runs pending jobs of its pool while
/// it waits, or a one-thread pool would wait for itself.
fn next_done<T>(rx: &mpsc::Receiver<T>) -> Option<T> {
    if rayon::current_thread_index().is_none() {
        return rx.recv().ok();
    }
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::thread::yield_now();
                }
            }
        }
    }
}

impl Drop for Stage<'_> {
    fn drop(&mut self) {
        self.progress.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records calls; cancels after `stop_after` tiles.
    struct Recorder {
        calls: Mutex<Vec<String>>,
        thread: std::thread::ThreadId,
        stop_after: u64,
    }

    impl Progress for Recorder {
        fn begin(&self, total: u64, stage: &str) {
            self.calls
                .lock()
                .unwrap()
                .push(format!("begin {total} {stage}"));
        }
        fn advance(&self, tiles: u64) -> ControlFlow<()> {
            assert_eq!(std::thread::current().id(), self.thread, "caller's thread");
            let mut c = self.calls.lock().unwrap();
            c.push(format!("advance {tiles}"));
            if c.len() as u64 > self.stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn finish(&self) {
            self.calls.lock().unwrap().push("finish".into());
        }
    }

    fn recorder(stop_after: u64) -> Recorder {
        Recorder {
            calls: Mutex::new(Vec::new()),
            thread: std::thread::current().id(),
            stop_after,
        }
    }

    #[test]
    fn every_job_is_reported_from_the_calling_thread_in_order_of_results() {
        let p = recorder(u64::MAX);
        let out = {
            let stage = Stage::begin(&p, 20, "squaring");
            stage
                .run_parallel((0..20u64).collect(), |x| Ok(x * x))
                .unwrap()
        };
        assert_eq!(out, (0..20u64).map(|x| x * x).collect::<Vec<_>>());
        let calls = p.calls.into_inner().unwrap();
        assert_eq!(calls.len(), 22);
        assert_eq!(calls[0], "begin 20 squaring");
        assert_eq!(calls[21], "finish");
    }

    #[test]
    fn cancelling_stops_with_a_cancelled_error() {
        let p = recorder(3);
        let stage = Stage::begin(&p, 1000, "work");
        let e = stage
            .run_parallel((0..1000u64).collect(), |x| {
                std::thread::sleep(std::time::Duration::from_micros(200));
                Ok(x)
            })
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Cancelled);
        drop(stage);
        let calls = p.calls.into_inner().unwrap();
        assert_eq!(
            calls[1..],
            ["advance 1", "advance 1", "advance 1", "finish"],
            "nothing reported after the caller said stop"
        );
    }

    #[test]
    fn a_one_thread_pool_caller_does_not_wait_for_itself() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let sum: u64 = pool.install(|| {
            let stage = Stage::silent();
            stage
                .run_parallel((1..=100u64).collect(), Ok)
                .unwrap()
                .into_iter()
                .sum()
        });
        assert_eq!(sum, 5050);
    }
}
