//! Progress: a bar with ETA on a terminal, one plain line per epoch otherwise (logs, Slurm, CI).
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: Option<ProgressBar>,
    run_id: String,
}

impl Progress {
    pub fn new(run_id: &str, total: u64, start: u64) -> Self {
        let bar = if std::io::stderr().is_terminal() {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>16} [{bar:30}] {pos}/{len} it  {msg}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_prefix(run_id.to_string());
            b.set_position(start);
            Some(b)
        } else {
            None
        };
        Self {
            bar,
            run_id: run_id.into(),
        }
    }

    pub fn update(&self, iteration: u64, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_position(iteration);
            b.set_message(msg.to_string());
        }
    }

    /// One line per epoch when not on a terminal.
    pub fn epoch(&self, line: &str) {
        match &self.bar {
            Some(b) => b.set_message(line.to_string()),
            None => eprintln!("[{}] {line}", self.run_id),
        }
    }

    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
