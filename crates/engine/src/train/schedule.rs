//! Learning-rate schedules by iteration, as pure functions of (config, iteration, state).
use crate::config::{Schedule, TrainConfig};
use serde::{Deserialize, Serialize};

/// What a schedule remembers between evaluations (checkpointed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LrState {
    /// Iteration at which warm-up ended (training error fell below the threshold).
    pub warmup_ended_at: Option<i64>,
    /// Plateau schedule: drops so far, best validation error, evaluations without improvement.
    pub plateau_drops: usize,
    pub plateau_best: Option<f64>,
    pub plateau_bad_evals: usize,
}

/// The learning rate used for the step at `iteration` (0-based).
pub fn learning_rate(cfg: &TrainConfig, iteration: i64, state: &LrState) -> f64 {
    if let Some(w) = &cfg.warmup {
        if state.warmup_ended_at.is_none() {
            return w.lr;
        }
    }
    match &cfg.schedule {
        Schedule::Constant => cfg.lr,
        Schedule::Step {
            lr_drops_at,
            factor,
        } => {
            let drops = lr_drops_at.iter().filter(|&&d| iteration >= d).count();
            cfg.lr * factor.powi(drops as i32)
        }
        Schedule::Plateau { factor, .. } => cfg.lr * factor.powi(state.plateau_drops as i32),
    }
}

/// Called with the training error of each logging window that ends at `iteration`.
/// ResNet Sec. 4.2 (110 layers): warm up "until the training error is below 80%".
pub fn observe_train_error(
    cfg: &TrainConfig,
    iteration: i64,
    train_error: f64,
    state: &mut LrState,
) {
    if let Some(w) = &cfg.warmup {
        if state.warmup_ended_at.is_none() && train_error < w.until_train_error_below {
            state.warmup_ended_at = Some(iteration);
        }
    }
}

/// Called with the validation (or, without a validation split, test) error of each evaluation.
pub fn observe_eval_error(cfg: &TrainConfig, error: f64, state: &mut LrState) {
    if let Schedule::Plateau {
        patience,
        max_drops,
        ..
    } = &cfg.schedule
    {
        match state.plateau_best {
            Some(best) if error >= best => {
                state.plateau_bad_evals += 1;
                if state.plateau_bad_evals >= *patience && state.plateau_drops < *max_drops {
                    state.plateau_drops += 1;
                    state.plateau_bad_evals = 0;
                }
            }
            _ => {
                state.plateau_best = Some(error);
                state.plateau_bad_evals = 0;
            }
        }
    }
}
