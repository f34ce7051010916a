//! A `solver.prototxt` (Caffe's SolverParameter) read, checked and turned into settings, with Caffe's
//! learning-rate schedules (SGDSolver::GetLearningRate).

use super::math;
use crate::formats::caffe::proto::{solver_parameter::SolverType, NetParameter, SolverParameter};
use crate::formats::caffe::prototxt::parse_message;
use crate::{bail, Error, Result};

/// How the learning rate changes with the iteration (Caffe's `lr_policy` and its parameters).
#[derive(Debug, Clone, PartialEq)]
pub enum LrPolicy {
    /// base_lr.
    Fixed,
    /// base_lr · gamma^⌊iter / stepsize⌋.
    Step { gamma: f32, stepsize: u32 },
    /// base_lr · gamma^(steps taken): one step at the first iteration ≥ each stepvalue, at most one per
    /// iteration (Caffe's `current_step_`).
    MultiStep { gamma: f32, stepvalues: Vec<i32> },
    /// base_lr · (1 + gamma · iter)^(−power).
    Inv { gamma: f32, power: f32 },
}

/// Caffe's `regularization_type`: the weight-decay term added to a blob's gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regularization {
    /// decay · w.
    L2,
    /// decay · sign(w).
    L1,
}

/// The settings of an SGD solver, as Caffe's SolverParameter gives them (defaults as in caffe.proto).
#[derive(Debug, Clone, PartialEq)]
pub struct Solver {
    pub base_lr: f32,
    pub lr_policy: LrPolicy,
    pub momentum: f32,
    pub weight_decay: f32,
    pub regularization: Regularization,
    /// Iterations to train (Caffe's `max_iter`).
    pub max_iter: u32,
    /// Test every this many iterations; 0: never.
    pub test_interval: u32,
    /// Batches per test, one entry per test net.
    pub test_iter: Vec<u32>,
    /// Whether to test before the first iteration too (default true).
    pub test_initialization: bool,
    /// Snapshot every this many iterations; 0: never.
    pub snapshot: u32,
    pub snapshot_prefix: Option<String>,
    /// Whether to snapshot after the last iteration too (default true).
    pub snapshot_after_train: bool,
    /// Print the loss every this many iterations; 0: never.
    pub display: u32,
    /// The displayed loss is averaged over this many iterations (default 1).
    pub average_loss: u32,
    /// Forward/backward passes accumulated per update; the gradient is divided by it (default 1).
    pub iter_size: u32,
    /// Scale all gradients down so that their joint L2 norm is at most this (Caffe's `clip_gradients`).
    pub clip_gradients: Option<f32>,
    /// None: Caffe's default −1, a seed of the trainer's choosing.
    pub random_seed: Option<u64>,
    /// The net's file (`net`: train and test) or its train/test files (`train_net`, `test_net`).
    pub net: Option<String>,
    pub train_net: Option<String>,
    pub test_net: Vec<String>,
    /// Nets given inline (`net_param`, `train_net_param`, `test_net_param`).
    pub net_param: Option<NetParameter>,
    pub train_net_param: Option<NetParameter>,
    pub test_net_param: Vec<NetParameter>,
}

/// What a run may set instead of its solver: `max_iter`, `snapshot`, `test_interval`, and the seed of the
/// fillers and the data layers' crops and mirrors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    pub max_iter: Option<u32>,
    pub snapshot: Option<u32>,
    pub test_interval: Option<u32>,
    pub seed: Option<u64>,
}

impl Overrides {
    /// Sets what is given on the solver; returns the run's seed: the given one, else the solver's
    /// `random_seed`, else 1.
    pub fn apply(&self, solver: &mut Solver) -> u64 {
        solver.max_iter = self.max_iter.unwrap_or(solver.max_iter);
        solver.snapshot = self.snapshot.unwrap_or(solver.snapshot);
        solver.test_interval = self.test_interval.unwrap_or(solver.test_interval);
        self.seed.or(solver.random_seed).unwrap_or(1)
    }
}

/// Caffe's lr policies this solver does not implement.
const OTHER_CAFFE_POLICIES: &[&str] = &["exp", "poly", "sigmoid"];

impl Solver {
    /// Reads a text `solver.prototxt`.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Self::from_param(&parse_text(bytes)?)
    }

    /// Checks a SolverParameter and takes its settings.
    pub fn from_param(p: &SolverParameter) -> Result<Self> {
        Self::check_type(p)?;
        let Some(base_lr) = p.base_lr else { bail!(input, "the solver has no base_lr (the learning rate)") };
        if !base_lr.is_finite() || base_lr < 0.0 {
            bail!(input, "the solver's base_lr must be a number ≥ 0, not {base_lr}");
        }
        let lr_policy = Self::policy(p)?;
        let momentum = p.momentum();
        if !momentum.is_finite() || momentum < 0.0 {
            bail!(input, "the solver's momentum must be a number ≥ 0, not {momentum}");
        }
        let weight_decay = p.weight_decay();
        if !weight_decay.is_finite() || weight_decay < 0.0 {
            bail!(input, "the solver's weight_decay must be a number ≥ 0, not {weight_decay}");
        }
        let regularization = match p.regularization_type() {
            "L2" => Regularization::L2,
            "L1" => Regularization::L1,
            other => bail!(input, "unknown regularization_type \"{other}\" (Caffe has \"L2\" and \"L1\")"),
        };
        let Some(max_iter) = p.max_iter else {
            bail!(input, "the solver has no max_iter (how many iterations to train)")
        };
        let max_iter = non_negative("max_iter", max_iter)?;
        let clip = p.clip_gradients();
        if clip.is_nan() {
            bail!(input, "the solver's clip_gradients is not a number");
        }
        let iter_size = non_negative("iter_size", p.iter_size())?;
        if iter_size == 0 {
            bail!(input, "the solver's iter_size must be at least 1");
        }
        let average_loss = non_negative("average_loss", p.average_loss())?;
        if average_loss == 0 {
            bail!(input, "the solver's average_loss must be at least 1");
        }
        let trains = [p.net.is_some(), p.net_param.is_some(), p.train_net.is_some(), p.train_net_param.is_some()];
        if trains.iter().filter(|&&t| t).count() > 1 {
            bail!(
                input,
                "the solver names more than one train net (use only one of net, net_param, train_net, train_net_param)"
            );
        }
        let test_iter = p.test_iter.iter().map(|&t| non_negative("test_iter", t)).collect::<Result<Vec<_>>>()?;
        Ok(Self {
            base_lr,
            lr_policy,
            momentum,
            weight_decay,
            regularization,
            max_iter,
            test_interval: non_negative("test_interval", p.test_interval())?,
            test_iter,
            test_initialization: p.test_initialization(),
            snapshot: non_negative("snapshot", p.snapshot())?,
            snapshot_prefix: p.snapshot_prefix.clone(),
            snapshot_after_train: p.snapshot_after_train(),
            display: non_negative("display", p.display())?,
            average_loss,
            iter_size,
            clip_gradients: (clip >= 0.0).then_some(clip),
            random_seed: u64::try_from(p.random_seed()).ok(),
            net: p.net.clone(),
            train_net: p.train_net.clone(),
            test_net: p.test_net.clone(),
            net_param: p.net_param.clone(),
            train_net_param: p.train_net_param.clone(),
            test_net_param: p.test_net_param.clone(),
        })
    }

    /// Only plain SGD: `type: "SGD"` or the deprecated `solver_type: SGD` (the defaults).
    fn check_type(p: &SolverParameter) -> Result<()> {
        if let Some(t) = p.solver_type {
            let name = SolverType::try_from(t).map(|t| t.as_str_name().to_string()).unwrap_or_else(|_| t.to_string());
            if p.r#type.is_some() {
                bail!(input, "the solver sets both solver_type (deprecated) and type; keep only type");
            }
            if name != "SGD" {
                bail!(unsupported, "solver_type {name} is not supported: only SGD (with momentum) is");
            }
        }
        let t = p.r#type();
        if t != "SGD" {
            bail!(unsupported, "solver type \"{t}\" is not supported: only \"SGD\" (with momentum) is");
        }
        Ok(())
    }

    fn policy(p: &SolverParameter) -> Result<LrPolicy> {
        let Some(name) = p.lr_policy.as_deref() else {
            bail!(input, "the solver has no lr_policy (fixed, step, multistep or inv)")
        };
        let gamma = |policy: &str| match p.gamma {
            Some(g) if g.is_finite() && g >= 0.0 => Ok(g),
            Some(g) => Err(Error::input(format!("lr_policy \"{policy}\" needs gamma ≥ 0, not {g}"))),
            None => Err(Error::input(format!("lr_policy \"{policy}\" needs gamma"))),
        };
        Ok(match name {
            "fixed" => LrPolicy::Fixed,
            "step" => {
                let gamma = gamma(name)?;
                match p.stepsize {
                    Some(s) if s > 0 => LrPolicy::Step { gamma, stepsize: s as u32 },
                    Some(s) => bail!(input, "lr_policy \"step\" needs stepsize > 0, not {s}"),
                    None => bail!(input, "lr_policy \"step\" needs stepsize (iterations between rate drops)"),
                }
            }
            "multistep" => {
                let gamma = gamma(name)?;
                if p.stepvalue.is_empty() {
                    bail!(input, "lr_policy \"multistep\" needs at least one stepvalue");
                }
                LrPolicy::MultiStep { gamma, stepvalues: p.stepvalue.clone() }
            }
            "inv" => {
                let gamma = gamma(name)?;
                match p.power {
                    Some(power) if power.is_finite() => LrPolicy::Inv { gamma, power },
                    Some(power) => bail!(input, "lr_policy \"inv\" needs a finite power, not {power}"),
                    None => bail!(input, "lr_policy \"inv\" needs power"),
                }
            }
            other if OTHER_CAFFE_POLICIES.contains(&other) => {
                bail!(unsupported, "lr_policy \"{other}\" is not supported: use fixed, step, multistep or inv")
            }
            other => bail!(input, "unknown lr_policy \"{other}\" (supported: fixed, step, multistep, inv)"),
        })
    }

    /// The learning rate at iteration `iter` (0-based), as Caffe's SGDSolver::GetLearningRate computes it
    /// when called once per iteration from 0: `step` and `multistep` in double precision (C++'s
    /// `pow(float, int)`) rounded to float; `inv` from the float 1 + gamma·iter as Caffe, its power taken
    /// in double and rounded to float (Caffe's float `pow`: the same or one ulp apart). The powers come from
    /// [`math`](super::math), so the rate has the same bits natively and in WebAssembly.
    pub fn learning_rate(&self, iter: u32) -> f32 {
        let base = self.base_lr;
        match &self.lr_policy {
            LrPolicy::Fixed => base,
            LrPolicy::Step { gamma, stepsize } => (base as f64 * math::powi(*gamma as f64, iter / stepsize)) as f32,
            LrPolicy::MultiStep { gamma, stepvalues } => {
                (base as f64 * math::powi(*gamma as f64, multistep_steps(stepvalues, iter))) as f32
            }
            LrPolicy::Inv { gamma, power } => {
                let x = 1.0 + gamma * iter as f32;
                base * math::powf(x as f64, -(*power as f64)) as f32
            }
        }
    }
}

/// Caffe's `current_step_` at iteration `iter`: it moves on by one at each iteration t with
/// t ≥ stepvalue[current_step_], so step k is taken at t_k = max(stepvalue[k], t_(k−1) + 1).
pub fn multistep_steps(stepvalues: &[i32], iter: u32) -> u32 {
    let mut steps = 0;
    let mut last: i64 = -1;
    for &v in stepvalues {
        let t = (v as i64).max(last + 1).max(0);
        if t > iter as i64 {
            break;
        }
        steps += 1;
        last = t;
    }
    steps
}

fn non_negative(field: &str, v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::input(format!("the solver's {field} must be ≥ 0, not {v}")))
}

/// Parses the text of a `solver.prototxt` into a SolverParameter.
pub fn parse_text(bytes: &[u8]) -> Result<SolverParameter> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| Error::format("the solver is binary data, not a text .prototxt"))?;
    parse_message(text, "caffe.SolverParameter", "the solver .prototxt")
}
