//! Progress of `statetest` and `bench`: a bar (indicatif) when stderr is a terminal, plain
//! lines when it is not (a pipe or a file: logs stay readable, no escape codes). Progress goes
//! to stderr; results go to stdout.
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A bar on a terminal, `None` when stderr is not one.
fn bar(len: usize, template: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template(template)
        .expect("a valid template")
        .progress_chars("=> ");
    pb.set_style(style);
    Some(pb)
}

/// `dtvm bench`: a bar with the case just finished; without a terminal, dtvm-bench's plain
/// line per case.
pub(crate) struct BenchProgress {
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl BenchProgress {
    pub(crate) fn new() -> Self {
        Self {
            bar: std::sync::Mutex::new(None),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) -> bool {
        match self.bar.lock().expect("progress lock").as_ref() {
            Some(pb) => {
                f(pb);
                true
            }
            None => false,
        }
    }
}

impl dtvm_bench::Progress for BenchProgress {
    fn start(&self, cases: usize) {
        *self.bar.lock().expect("progress lock") = bar(
            cases,
            "{elapsed_precise} [{bar:40}] {pos}/{len} cases  {msg}",
        );
    }

    fn case_done(&self, name: &str, result: Result<f64, &str>) {
        let drawn = self.with_bar(|pb| {
            if let Err(e) = result {
                pb.println(format!("{name:<40} ERROR: {e}"));
            }
            pb.set_message(name.to_owned());
            pb.inc(1);
        });
        if !drawn {
            dtvm_bench::Lines.case_done(name, result);
        }
    }

    fn finish(&self) {
        self.with_bar(ProgressBar::finish_and_clear);
    }

    fn print(&self, text: &str) {
        if !self.with_bar(|pb| pb.suspend(|| print!("{text}"))) {
            print!("{text}");
        }
    }
}

/// `dtvm statetest`: counts finished cases from any worker thread. A bar on a terminal;
/// otherwise a line at every tenth of the cases.
pub(crate) struct Counter {
    bar: Option<ProgressBar>,
    total: usize,
    done: AtomicUsize,
    failed: AtomicUsize,
}

impl Counter {
    pub(crate) fn new(total: usize) -> Self {
        Self {
            bar: bar(
                total,
                "{elapsed_precise} [{bar:40}] {pos}/{len} cases  {msg}",
            ),
            total,
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    /// One more case finished; failures so far show in the bar's message.
    pub(crate) fn inc(&self, failed: bool) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(pb) => {
                if failed {
                    let n = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
                    pb.set_message(format!("{n} failed"));
                }
                pb.inc(1);
            }
            None => {
                let step = self.total.div_ceil(10).max(1);
                if done.is_multiple_of(step) && done < self.total {
                    eprintln!("statetest: {done}/{} cases", self.total);
                }
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}
