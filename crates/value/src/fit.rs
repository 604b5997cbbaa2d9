//! Maximum likelihood for every model: L-BFGS (argmin, Moré-Thuente line search) on the
//! log-parameters from several starting points, exact gradients by forward-mode automatic
//! differentiation, standard errors from the Hessian, and warnings instead of silent failure.

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use serde::Serialize;
use std::sync::Mutex;

use crate::dual::{Dual, Real};
use crate::error::ValueError;

/// A model's total log-likelihood over its data, as a function of its `N` parameters.
pub(crate) trait Likelihood<const N: usize>: Sync {
    /// The model's name in messages.
    const MODEL: &'static str;
    /// Parameter names, in order.
    const NAMES: [&'static str; N];
    /// Customers behind the data (the log-likelihood is divided by this for the optimiser).
    fn customers(&self) -> usize;
    /// Σ over customers of the log-likelihood at `parameters` (natural scale).
    fn log_likelihood<T: Real + Send>(&self, parameters: [T; N]) -> T;
    /// Starting points (natural scale); the best converged fit wins.
    fn starts(&self) -> Vec<[f64; N]>;
    /// Model-specific explanations of a degenerate fit.
    fn degeneracy(&self, _parameters: [f64; N]) -> Vec<String> {
        Vec::new()
    }
    /// A representative sample of about `customers` customers, or None when the data are
    /// small enough to explore the starting points on directly.
    fn thinned(&self, _customers: usize) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
}

/// Above twice this many customers the starting points are explored on a systematic sample of
/// this size and only the best is continued on the full data: a start far from the optimum
/// costs tens of iterations, on 20,000 customers instead of millions.
const EXPLORE_CUSTOMERS: usize = 20_000;

/// How to fit. Consuming setters; each says its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    pub(crate) penalty: f64,
    pub(crate) max_iterations: u64,
    pub(crate) explore_customers: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            penalty: 0.0,
            max_iterations: 500,
            explore_customers: EXPLORE_CUSTOMERS,
        }
    }
}

impl FitOptions {
    /// Options with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// L2 penalty λ on the log-parameters: the optimiser minimises −LL/n + λ·Σ ln(θ)², which
    /// pulls parameters towards 1 and keeps small data from running to a boundary. Default 0.
    pub fn penalty(mut self, penalty: f64) -> Self {
        self.penalty = penalty;
        self
    }

    /// Most L-BFGS iterations per starting point. Default 500.
    pub fn max_iterations(mut self, iterations: u64) -> Self {
        self.max_iterations = iterations;
        self
    }

    /// Customers in the sample on which the starting points are explored when the data have
    /// more than twice as many; 0 explores on all the data. Default 20,000.
    pub fn explore_customers(mut self, customers: usize) -> Self {
        self.explore_customers = customers;
        self
    }

    fn validate(&self) -> Result<(), ValueError> {
        if !(self.penalty >= 0.0 && self.penalty.is_finite()) {
            return Err(ValueError::BadPenalty(self.penalty));
        }
        Ok(())
    }
}

/// What a fit found and how much to trust it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitReport {
    /// The model's name.
    pub model: &'static str,
    /// (name, estimate) of each parameter.
    pub parameters: Vec<(&'static str, f64)>,
    /// Standard error of each parameter (delta method from the log scale); NaN when the
    /// Hessian is not positive definite (see the warnings).
    pub std_errors: Vec<f64>,
    /// Log-likelihood at the estimate (without the penalty).
    pub log_likelihood: f64,
    /// L-BFGS iterations of the winning start.
    pub iterations: u64,
    /// Whether the winning start met the gradient or cost tolerance.
    pub converged: bool,
    /// Starting points tried and how many converged (on the exploration sample when the data
    /// have more than 40,000 customers; the best is then continued on all of them).
    pub starts: (usize, usize),
    /// The penalty used.
    pub penalty: f64,
    /// Customers and distinct histories behind the fit.
    pub customers: usize,
    /// Everything that makes the estimate doubtful, in words.
    pub warnings: Vec<String>,
}

impl FitReport {
    /// The estimate of parameter `name`.
    pub fn parameter(&self, name: &str) -> Option<f64> {
        self.parameters
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

/// Parameters beyond these bounds have "run to a boundary": the likelihood keeps improving as
/// they grow or shrink without limit.
const LARGE: f64 = 1e5;
const SMALL: f64 = 1e-5;

/// The optimiser's problem: −LL/n + λ·Σθ² over θ = ln(parameters).
struct Objective<'a, L, const N: usize> {
    likelihood: &'a L,
    penalty: f64,
    /// The last point evaluated with its gradient: the line search asks for the cost and then
    /// the gradient of each trial point, and L-BFGS asks again for the cost of the accepted
    /// one, so one dual-number evaluation answers all three.
    last: Mutex<Option<(Vec<f64>, Dual<N>)>>,
}

impl<'a, L: Likelihood<N>, const N: usize> Objective<'a, L, N> {
    fn new(likelihood: &'a L, penalty: f64) -> Self {
        Objective {
            likelihood,
            penalty,
            last: Mutex::new(None),
        }
    }

    /// Value and gradient at θ, from the cache when θ was the last point asked for.
    fn cached(&self, theta: &[f64]) -> Dual<N> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((point, dual)) = last.as_ref()
            && point.as_slice() == theta
        {
            return *dual;
        }
        let dual = self.dual(theta);
        *last = Some((theta.to_vec(), dual));
        dual
    }

    fn evaluate<T: Real + Send>(&self, theta: [T; N]) -> T {
        let parameters = theta.map(|t| t.exp());
        let n = self.likelihood.customers() as f64;
        let penalty = theta.iter().fold(T::constant(0.0), |sum, t| sum + *t * *t) * self.penalty;
        -self.likelihood.log_likelihood(parameters) / n + penalty
    }

    fn dual(&self, theta: &[f64]) -> Dual<N> {
        let theta: [Dual<N>; N] = std::array::from_fn(|i| Dual::variable(theta[i], i));
        self.evaluate(theta)
    }
}

impl<L: Likelihood<N>, const N: usize> CostFunction for Objective<'_, L, N> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, theta: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        let value = self.cached(theta).value;
        // The line search handles +∞ as "too far"; NaN (a diverged series) is treated the same.
        Ok(if value.is_nan() { f64::INFINITY } else { value })
    }
}

impl<L: Likelihood<N>, const N: usize> Gradient for Objective<'_, L, N> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, theta: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        let dual = self.cached(theta);
        if !dual.value.is_finite() || dual.gradient.iter().any(|g| !g.is_finite()) {
            return Err(argmin::core::Error::msg("non-finite gradient"));
        }
        Ok(dual.gradient.to_vec())
    }
}

/// One start's outcome.
#[derive(Clone, Copy)]
struct Run<const N: usize> {
    theta: [f64; N],
    cost: f64,
    iterations: u64,
    converged: bool,
}

fn run_from<L: Likelihood<N>, const N: usize>(
    objective: Objective<'_, L, N>,
    start: [f64; N],
    options: &FitOptions,
) -> Option<Run<N>> {
    let theta0: Vec<f64> = start.iter().map(|p| p.ln()).collect();
    if !objective
        .evaluate::<f64>(std::array::from_fn(|i| theta0[i]))
        .is_finite()
    {
        return None;
    }
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-9)
        .ok()?
        .with_tolerance_cost(1e-15)
        .ok()?;
    let result = Executor::new(objective, solver)
        .configure(|state| state.param(theta0).max_iters(options.max_iterations))
        .run()
        .ok()?;
    let state = result.state();
    let theta = state.get_best_param()?.clone();
    let converged = matches!(
        state.get_termination_reason(),
        Some(TerminationReason::SolverConverged)
    );
    Some(Run {
        theta: std::array::from_fn(|i| theta[i]),
        cost: state.get_best_cost(),
        iterations: state.get_iter(),
        converged,
    })
}

/// Runs L-BFGS from every start on `likelihood`; returns the finite runs and how many
/// converged.
fn explore<L: Likelihood<N>, const N: usize>(
    likelihood: &L,
    starts: &[[f64; N]],
    options: &FitOptions,
) -> (Vec<Run<N>>, usize) {
    let runs: Vec<Run<N>> = starts
        .iter()
        .filter_map(|start| run_from(Objective::new(likelihood, options.penalty), *start, options))
        .filter(|run| run.cost.is_finite())
        .collect();
    let converged = runs.iter().filter(|r| r.converged).count();
    (runs, converged)
}

/// The converged run with the lowest cost, or the lowest-cost run when none converged.
fn best_run<const N: usize>(runs: &[Run<N>]) -> Option<Run<N>> {
    runs.iter()
        .filter(|r| r.converged)
        .min_by(|a, b| a.cost.total_cmp(&b.cost))
        .or_else(|| runs.iter().min_by(|a, b| a.cost.total_cmp(&b.cost)))
        .copied()
}

/// Fits by maximum likelihood from every starting point, keeps the best, and reports.
pub(crate) fn maximise<L: Likelihood<N>, const N: usize>(
    likelihood: &L,
    options: &FitOptions,
) -> Result<([f64; N], FitReport), ValueError> {
    options.validate()?;
    let objective = || Objective::new(likelihood, options.penalty);
    let starts = likelihood.starts();
    // Explore the starts on a sample when the data are large, then continue the best on
    // everything; if that does not converge, explore on everything.
    let polished = likelihood.thinned(EXPLORE_CUSTOMERS).and_then(|sample| {
        let (explored, converged) = explore(&sample, &starts, options);
        let best = best_run(&explored)?;
        let full = run_from(objective(), best.theta.map(f64::exp), options)?;
        (full.converged && full.cost.is_finite()).then_some((full, converged))
    });
    let (best, converged_runs) = match polished {
        Some(found) => found,
        None => {
            let (runs, converged) = explore(likelihood, &starts, options);
            let best = best_run(&runs).ok_or(ValueError::NoFiniteStart { model: L::MODEL })?;
            (best, converged)
        }
    };
    let parameters = best.theta.map(f64::exp);
    let log_likelihood = likelihood.log_likelihood(parameters);
    let mut warnings = Vec::new();
    if !best.converged {
        warnings.push(format!(
            "did not converge: stopped after {} iterations without meeting the tolerance; the estimate may be off",
            best.iterations
        ));
    }
    let std_errors = standard_errors(&objective(), best.theta, likelihood.customers() as f64);
    if std_errors.iter().any(|s| s.is_nan()) {
        warnings.push(
            "the Hessian is not positive definite at the estimate: the likelihood is flat in some direction, standard errors are undefined".into(),
        );
    }
    for (name, value) in L::NAMES.iter().zip(parameters) {
        if value > LARGE {
            warnings.push(format!(
                "{name} = {value:.4e} ran to the upper boundary (> {LARGE:e})"
            ));
        } else if value < SMALL {
            warnings.push(format!(
                "{name} = {value:.4e} ran to the lower boundary (< {SMALL:e})"
            ));
        }
    }
    if warnings.iter().any(|w| w.contains("boundary")) {
        warnings.extend(likelihood.degeneracy(parameters));
    }
    let report = FitReport {
        model: L::MODEL,
        parameters: L::NAMES.iter().copied().zip(parameters).collect(),
        std_errors: std_errors
            .iter()
            .zip(parameters)
            .map(|(se, p)| se * p)
            .collect(),
        log_likelihood,
        iterations: best.iterations,
        converged: best.converged,
        starts: (starts.len(), converged_runs),
        penalty: options.penalty,
        customers: likelihood.customers(),
        warnings,
    };
    Ok((parameters, report))
}

/// Standard errors of θ = ln(parameters): the square roots of the diagonal of the inverse
/// Hessian of the negative (penalised) log-likelihood, the Hessian by central differences of
/// the exact gradient. NaN when the Hessian is not positive definite.
// Matrix code reads best with indices.
#[allow(clippy::needless_range_loop)]
fn standard_errors<L: Likelihood<N>, const N: usize>(
    objective: &Objective<'_, L, N>,
    theta: [f64; N],
    customers: f64,
) -> [f64; N] {
    let mut hessian = [[0.0; N]; N];
    for j in 0..N {
        let h = 1e-5 * theta[j].abs().max(1.0);
        let mut up = theta;
        let mut down = theta;
        up[j] += h;
        down[j] -= h;
        let (gu, gd) = (objective.dual(&up), objective.dual(&down));
        for i in 0..N {
            // The objective is −LL/n: scale back to the total.
            hessian[i][j] = (gu.gradient[i] - gd.gradient[i]) / (2.0 * h) * customers;
        }
    }
    // Symmetrise the finite-difference estimate.
    for i in 0..N {
        for j in 0..i {
            let mean = 0.5 * (hessian[i][j] + hessian[j][i]);
            hessian[i][j] = mean;
            hessian[j][i] = mean;
        }
    }
    match cholesky_inverse_diagonal(hessian) {
        Some(diagonal) => diagonal.map(f64::sqrt),
        None => [f64::NAN; N],
    }
}

/// The diagonal of A⁻¹ for a symmetric positive definite A (Cholesky); None when A is not.
fn cholesky_inverse_diagonal<const N: usize>(a: [[f64; N]; N]) -> Option<[f64; N]> {
    let mut l = [[0.0; N]; N];
    for i in 0..N {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - sum;
                if !(d > 0.0 && d.is_finite()) {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - sum) / l[j][j];
            }
        }
    }
    // Column e of L⁻¹ by forward substitution; (A⁻¹)_ee = Σ_i (L⁻¹)_ie².
    let mut diagonal = [0.0; N];
    for e in 0..N {
        let mut column = [0.0; N];
        for i in e..N {
            let sum: f64 = (e..i).map(|k| l[i][k] * column[k]).sum();
            let rhs = if i == e { 1.0 } else { 0.0 };
            column[i] = (rhs - sum) / l[i][i];
        }
        diagonal[e] = column[e..].iter().map(|v| v * v).sum();
    }
    Some(diagonal)
}

#[cfg(test)]
mod tests {
    use super::cholesky_inverse_diagonal;

    #[test]
    fn inverse_diagonal_of_a_known_matrix() {
        // A = [[4, 2], [2, 3]]: A⁻¹ = [[3, −2], [−2, 4]] / 8.
        let d = cholesky_inverse_diagonal([[4.0, 2.0], [2.0, 3.0]]).unwrap();
        assert!((d[0] - 3.0 / 8.0).abs() < 1e-15 && (d[1] - 0.5).abs() < 1e-15);
        assert!(cholesky_inverse_diagonal([[1.0, 2.0], [2.0, 1.0]]).is_none());
    }
}
