//! Fidelity: what a result is, from most to least like the paper's
//! experiment. The one home of the levels, their descriptions and the rule
//! that lowers a run's label.
use serde::{Deserialize, Serialize};

/// What a result is, from most to least like the paper's experiment. Every
/// profile declares one; overrides, stand-in datasets and reduced precision
/// only ever lower it ([`Fidelity::lowest`]).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Fidelity {
    /// A reduced budget (fewer iterations, fewer seeds, narrower nets):
    /// numbers are not comparable with the paper's. The default: nothing is
    /// called the paper's experiment unless it says so.
    #[default]
    Shortened,
    /// The paper's recipe on a stand-in (CIFAR-10 for an ImageNet claim, a
    /// re-encoded copy of the data) or with a documented adaptation.
    Analogue,
    /// The paper's experiment: its data, architecture and recipe.
    Paper,
}

impl Fidelity {
    pub const ALL: [Fidelity; 3] = [Fidelity::Paper, Fidelity::Analogue, Fidelity::Shortened];

    /// The value of the `fidelity` key and of the Parquet column.
    pub fn as_str(self) -> &'static str {
        match self {
            Fidelity::Paper => "paper",
            Fidelity::Analogue => "analogue",
            Fidelity::Shortened => "shortened",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The lower of two labels: a result is only as faithful as its least
    /// faithful part.
    pub fn lowest(self, other: Fidelity) -> Fidelity {
        self.min(other)
    }
}

impl std::fmt::Display for Fidelity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Fidelity {
    /// The label as a report's title line says it.
    pub fn phrase(self) -> &'static str {
        match self {
            Fidelity::Paper => "paper: the paper's experiment",
            Fidelity::Analogue => "ANALOGUE of the paper's experiment",
            Fidelity::Shortened => "SHORTENED, not the paper's recipe",
        }
    }

    /// What the label means for a reader comparing numbers.
    pub fn meaning(self) -> &'static str {
        match self {
            Fidelity::Paper => "the paper's experiment: its data, architecture and recipe",
            Fidelity::Analogue => "the paper's recipe on a stand-in (other data, or a documented adaptation): compare directions, not numbers",
            Fidelity::Shortened => "a reduced budget, not the paper's recipe: numbers are not comparable to the paper's",
        }
    }

    /// The label of rows written before the `fidelity` column existed, from
    /// their `faithful` flag, read conservatively: never `paper` (that flag
    /// ignored the dataset), `analogue` where faithful, else `shortened`.
    pub fn from_legacy_faithful(faithful: bool) -> Fidelity {
        if faithful {
            Fidelity::Analogue
        } else {
            Fidelity::Shortened
        }
    }

    /// The rule that lowers a label: a result that differs in any way from
    /// its profile as written (`Lowering`) is at most `analogue`.
    pub fn lowered_by(self, reasons: &[Lowering]) -> Fidelity {
        if reasons.is_empty() {
            self
        } else {
            self.lowest(Fidelity::Analogue)
        }
    }
}

/// How [`Lowering::Overridden`] begins when shown: claims read it in a
/// report's fidelity notes (an overridden budget decides no claim).
pub const OVERRIDDEN: &str = "overridden: ";
/// How [`Lowering::OtherConfigFile`] begins when shown.
pub const OTHER_CONFIG: &str = "--config ";

/// Why a result's label is below its profile's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lowering {
    /// `--set key=value` overrides, as given.
    Overridden(Vec<String>),
    /// Another experiment file than `experiments/<name>.toml` (`--config`).
    OtherConfigFile(String),
    /// A copy of the data that is not the official release (its label).
    StandInData(String),
    /// Numerics other than the papers' fp32 (`tf32`, `bf16`).
    ReducedPrecision(String),
}

impl std::fmt::Display for Lowering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lowering::Overridden(sets) => write!(f, "{OVERRIDDEN}{}", sets.join(", ")),
            Lowering::OtherConfigFile(path) => write!(f, "{OTHER_CONFIG}{path}"),
            Lowering::StandInData(label) => write!(f, "data: {label}, not the official release"),
            Lowering::ReducedPrecision(p) => write!(f, "numerics: {p}, not fp32"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_reason_lowers_to_analogue_and_never_raises() {
        let stand_in = [Lowering::StandInData("CIFAR-10 (JPEG q75 copy)".into())];
        assert_eq!(Fidelity::Paper.lowered_by(&stand_in), Fidelity::Analogue);
        assert_eq!(Fidelity::Paper.lowered_by(&[]), Fidelity::Paper);
        assert_eq!(
            Fidelity::Shortened.lowered_by(&stand_in),
            Fidelity::Shortened
        );
        assert_eq!(
            stand_in[0].to_string(),
            "data: CIFAR-10 (JPEG q75 copy), not the official release"
        );
    }

    #[test]
    fn legacy_faithful_rows_are_never_paper() {
        assert_eq!(Fidelity::from_legacy_faithful(true), Fidelity::Analogue);
        assert_eq!(Fidelity::from_legacy_faithful(false), Fidelity::Shortened);
    }
}
