//! Runs promqltest scripts against Hearth's PromQL engine over a real
//! storage engine: WAL and head, Parquet parts, or both at once.

pub mod script;

use std::sync::Arc;

use hearth_query::promql::ast::{At, Expr, ValueKind};
use hearth_query::promql::functions::depends_on_eval_time;
use hearth_query::promql::{self, DurationContext, EvalOptions, Evaluated, Value};
use hearth_storage::metrics::StorageMetrics;
use hearth_storage::object_store::DataStore;
use hearth_storage::{EngineOptions, Labels, MetricsEngine, MetricsWrite, Sample, SeriesWrite};

use script::{Command, Eval, EvalKind, Expected, ExpectedSeries, parse_script};

/// Where loaded samples live when queries run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// In the head only.
    Head,
    /// Flushed to Parquet parts and compacted.
    Parts,
    /// The older half of every series in a part, the newer half in the head.
    Split,
}

/// Outcome of one script.
#[derive(Debug, Default)]
pub struct Report {
    /// Evals that passed.
    pub passed: usize,
    /// Evals skipped (native histograms, experimental features).
    pub skipped: usize,
    /// Failures: line, query, what went wrong.
    pub failed: Vec<(usize, String, String)>,
}

fn almost_equal(a: f64, b: f64) -> bool {
    hearth_query::promql::functions::histogram::almost_equal(a, b, 1e-6)
}

async fn open_engine(dir: &std::path::Path) -> Arc<MetricsEngine> {
    let mut options = EngineOptions::new(dir);
    options.out_of_order_window_ms = i64::MAX / 4;
    options.retention.max_age_ms = None;
    let store = DataStore::in_memory();
    MetricsEngine::open(options, store, StorageMetrics::default())
        .await
        .expect("open engine")
        .0
}

fn labels_string(labels: &[(String, String)]) -> String {
    let inner: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn actual_labels(s: &promql::labels::LabelSet) -> Vec<(String, String)> {
    s.pairs()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Compares a result with the expectation; `Err` says how they differ.
fn compare(eval: &Eval, result: &Evaluated) -> Result<(), String> {
    match (&eval.expected, &result.value) {
        (Expected::Scalar(want), Value::Scalar(got)) => {
            let got = got.first().copied().unwrap_or(f64::NAN);
            if almost_equal(*want, got) {
                Ok(())
            } else {
                Err(format!("expected scalar {want}, got {got}"))
            }
        }
        (Expected::String(want), Value::String(got)) => {
            if want == got {
                Ok(())
            } else {
                Err(format!("expected string {want:?}, got {got:?}"))
            }
        }
        (Expected::Series(want), Value::Scalar(got))
            if matches!(eval.kind, EvalKind::Range { .. }) =>
        {
            // A range query over a scalar answers one series without labels.
            let got = vec![(Vec::new(), got.iter().map(|&v| Some(v)).collect())];
            compare_series(want, &got, false, true)
        }
        (Expected::Series(want), Value::Vector(got)) => {
            let got: Vec<ExpectedSeries> = got
                .iter()
                .map(|s| (actual_labels(&s.labels), s.points.clone()))
                .collect();
            compare_series(
                want,
                &got,
                eval.ordered,
                matches!(eval.kind, EvalKind::Range { .. }),
            )
        }
        (
            Expected::RangeVector {
                series,
                start,
                step,
            },
            Value::Matrix(got),
        ) => {
            let got: Vec<ExpectedSeries> = got
                .iter()
                .map(|s| {
                    let mut points = Vec::new();
                    let mut t = *start;
                    let mut i = 0;
                    while i < s.ts.len() {
                        if s.ts[i] == t {
                            points.push(Some(s.values[i]));
                            i += 1;
                        } else if s.ts[i] > t {
                            points.push(None);
                        } else {
                            return (actual_labels(&s.labels), vec![Some(f64::NAN); 1000]);
                        }
                        t += step;
                    }
                    (actual_labels(&s.labels), points)
                })
                .collect();
            compare_series(series, &got, false, true)
        }
        (Expected::Series(want), Value::Scalar(got)) if want.is_empty() => {
            Err(format!("expected empty vector, got scalar {got:?}"))
        }
        (want, got) => Err(format!("expected {want:?}, got {}", got.type_name())),
    }
}

fn compare_series(
    want: &[ExpectedSeries],
    got: &[ExpectedSeries],
    ordered: bool,
    range: bool,
) -> Result<(), String> {
    let render = |v: &[Option<f64>]| -> String {
        v.iter()
            .map(|p| p.map_or("_".to_owned(), |x| x.to_string()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if want.len() != got.len() {
        let got_s: Vec<String> = got
            .iter()
            .map(|(l, v)| format!("{} {}", labels_string(l), render(v)))
            .collect();
        return Err(format!(
            "expected {} series, got {}: [{}]",
            want.len(),
            got.len(),
            got_s.join("; ")
        ));
    }
    for (i, (labels, values)) in want.iter().enumerate() {
        let found = if ordered {
            (got[i].0 == *labels).then_some(&got[i])
        } else {
            got.iter().find(|(l, _)| l == labels)
        };
        let Some((_, points)) = found else {
            let got_s: Vec<String> = got.iter().map(|(l, _)| labels_string(l)).collect();
            return Err(format!(
                "missing {} (got {})",
                labels_string(labels),
                got_s.join(", ")
            ));
        };
        let mut points = points.clone();
        if range {
            while points.len() > values.len() && points.last() == Some(&None) {
                points.pop();
            }
        }
        let same = points.len() == values.len()
            && points.iter().zip(values).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => almost_equal(*a, *b),
                (None, None) => true,
                _ => false,
            });
        if !same {
            return Err(format!(
                "{}: expected {}, got {}",
                labels_string(labels),
                render(values),
                render(&points)
            ));
        }
    }
    Ok(())
}

/// Puts `@ t` on every selector and subquery that has no `@` yet.
fn pin_at(expr: &mut Expr, t: i64) {
    match expr {
        Expr::Number(_) | Expr::String(_) => {}
        Expr::Selector(s) => {
            s.at.get_or_insert(At::Time(t));
        }
        Expr::Range(r) => {
            r.selector.at.get_or_insert(At::Time(t));
        }
        // Upstream leaves whatever is under a pinned subquery alone.
        Expr::Subquery(sq) => {
            sq.at.get_or_insert(At::Time(t));
        }
        Expr::Call(c) => c.args.iter_mut().for_each(|a| pin_at(a, t)),
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                pin_at(p, t);
            }
            pin_at(&mut a.expr, t);
        }
        Expr::Binary(b) => {
            pin_at(&mut b.lhs, t);
            pin_at(&mut b.rhs, t);
        }
        Expr::Negate(e) | Expr::Paren(e) => pin_at(e, t),
    }
}

fn calls_any(expr: &Expr, names: &[&str]) -> bool {
    calls_matching(expr, |name| names.contains(&name))
}

fn calls_matching(expr: &Expr, hit: impl Fn(&str) -> bool + Copy) -> bool {
    match expr {
        Expr::Number(_) | Expr::String(_) | Expr::Selector(_) | Expr::Range(_) => false,
        Expr::Subquery(sq) => calls_matching(&sq.expr, hit),
        Expr::Call(c) => hit(&c.name) || c.args.iter().any(|a| calls_matching(a, hit)),
        Expr::Aggregate(a) => {
            a.param.as_ref().is_some_and(|p| calls_matching(p, hit)) || calls_matching(&a.expr, hit)
        }
        Expr::Binary(b) => calls_matching(&b.lhs, hit) || calls_matching(&b.rhs, hit),
        Expr::Negate(e) | Expr::Paren(e) => calls_matching(e, hit),
    }
}

/// The checks upstream's harness adds to every instant eval: the same
/// answer as the middle step of a range query around it, and the same
/// answer at other times once every selector is pinned with `@`.
async fn extra_checks(
    engine: &Arc<MetricsEngine>,
    eval: &Eval,
    expr: &Expr,
    at: i64,
) -> Result<(), String> {
    let options = EvalOptions::default();
    let checkable = matches!(eval.expected, Expected::Series(_) | Expected::Scalar(_))
        && !eval.ordered
        && matches!(expr.kind(), ValueKind::Vector | ValueKind::Scalar);
    if !checkable {
        return Ok(());
    }
    if !calls_any(expr, &["start", "end", "range", "step"]) {
        let result = promql::range(engine, expr, at - 60_000, at + 60_000, 60_000, &options)
            .await
            .map_err(|e| format!("as a range query: {}", e.message))?;
        let middle = match result.value {
            Value::Vector(v) => Value::Vector(
                v.into_iter()
                    .filter_map(|mut s| {
                        let p = s.points.get(1).copied().flatten();
                        s.points = vec![p];
                        p.is_some().then_some(s)
                    })
                    .collect(),
            ),
            Value::Scalar(v) => Value::Scalar(vec![v.get(1).copied().unwrap_or(f64::NAN)]),
            other => other,
        };
        let as_instant = Evaluated {
            value: middle,
            steps: vec![at],
            annotations: result.annotations,
        };
        compare(eval, &as_instant).map_err(|e| format!("as a range query: {e}"))?;
    }
    // Pinning moves a query in time, so evaluation-time functions and the
    // query-bound ones (start(), step(), ...) rule it out.
    if !calls_any(expr, &["start", "end", "range", "step"])
        && !calls_matching(expr, depends_on_eval_time)
    {
        let mut pinned = expr.clone();
        pin_at(&mut pinned, at);
        let times = if at == 0 {
            vec![-1000, 0, 1000]
        } else {
            vec![-10 * at, 0, at / 5, at, 10 * at]
        };
        for t in times {
            let result = promql::instant(engine, &pinned, t, &options)
                .await
                .map_err(|e| format!("pinned with @ and run at {t}ms: {}", e.message))?;
            compare(eval, &result).map_err(|e| format!("pinned with @ and run at {t}ms: {e}"))?;
        }
    }
    Ok(())
}

async fn run_eval(engine: &Arc<MetricsEngine>, eval: &Eval) -> Result<(), String> {
    let options = EvalOptions::default();
    let ctx = match eval.kind {
        EvalKind::Instant { .. } => DurationContext::default(),
        EvalKind::Range { start, end, step } => DurationContext {
            step_ms: step,
            range_ms: end - start,
        },
    };
    let parsed = promql::parse_with(&eval.expr, ctx);
    let result = match parsed {
        Err(e) => Err(e.message),
        Ok(expr) => match eval.kind {
            EvalKind::Instant { at } => promql::instant(engine, &expr, at, &options)
                .await
                .map_err(|e| e.message),
            EvalKind::Range { start, end, step } => {
                promql::range(engine, &expr, start, end, step, &options)
                    .await
                    .map_err(|e| e.message)
            }
        },
    };
    match (eval.fail, result) {
        (true, Err(_)) => Ok(()),
        (true, Ok(_)) => Err("expected the query to fail".into()),
        (false, Err(e)) => Err(format!("unexpected error: {e}")),
        (false, Ok(result)) => {
            compare(eval, &result)?;
            if let (EvalKind::Instant { at }, Ok(expr)) = (&eval.kind, promql::parse(&eval.expr)) {
                extra_checks(engine, eval, &expr, *at).await?;
            }
            match eval.warn {
                Some(true) if result.annotations.warnings.is_empty() => {
                    return Err("expected a warning".into());
                }
                Some(false) if !result.annotations.warnings.is_empty() => {
                    return Err(format!(
                        "unexpected warnings: {:?}",
                        result.annotations.warnings
                    ));
                }
                _ => {}
            }
            match eval.info {
                Some(true) if result.annotations.infos.is_empty() => {
                    Err("expected an info annotation".into())
                }
                Some(false) if !result.annotations.infos.is_empty() => {
                    Err(format!("unexpected infos: {:?}", result.annotations.infos))
                }
                _ => Ok(()),
            }
        }
    }
}

fn mentions_any(expr: &str, names: &[String]) -> bool {
    names.iter().any(|name| {
        expr.match_indices(name.as_str()).any(|(i, _)| {
            let before = expr[..i].chars().next_back();
            let after = expr[i + name.len()..].chars().next();
            let ident =
                |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            !ident(before) && !ident(after)
        })
    })
}

/// Runs one script.
pub async fn run_script(text: &str, storage: Storage) -> Result<Report, String> {
    let commands = parse_script(text).map_err(|e| e.to_string())?;
    let mut report = Report::default();
    let mut dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut engine = open_engine(dir.path()).await;
    let mut native_names: Vec<String> = Vec::new();
    let mut dirty = false;
    for command in commands {
        match command {
            Command::Clear => {
                engine.close().map_err(|e| e.to_string())?;
                dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                engine = open_engine(dir.path()).await;
                native_names.clear();
                dirty = false;
            }
            Command::Load(load) => {
                native_names.extend(load.native_histogram_names.iter().cloned());
                // In split mode the older half of each series goes to a part
                // before the rest is appended to the head.
                let halves: Vec<(usize, usize)> = load
                    .series
                    .iter()
                    .map(|(_, samples)| {
                        let cut = if storage == Storage::Split {
                            samples.len() / 2
                        } else {
                            0
                        };
                        (cut, samples.len())
                    })
                    .collect();
                for (pass, flush_after) in [(0usize, storage == Storage::Split), (1, false)] {
                    let mut write = MetricsWrite {
                        series: Vec::new(),
                        metadata: Vec::new(),
                    };
                    for ((labels, samples), &(cut, len)) in load.series.iter().zip(&halves) {
                        let range = if pass == 0 { 0..cut } else { cut..len };
                        if range.is_empty() {
                            continue;
                        }
                        let labels = Labels::from_pairs(
                            labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                        )
                        .map_err(|e| format!("line {}: {e}", load.line))?;
                        write.series.push(SeriesWrite {
                            labels,
                            samples: samples[range]
                                .iter()
                                .map(|&(ts, value)| Sample { ts, value })
                                .collect(),
                            exemplars: Vec::new(),
                        });
                    }
                    let outcome = engine
                        .append(write)
                        .map_err(|e| format!("line {}: {e}", load.line))?;
                    if !outcome.rejected.is_empty() {
                        return Err(format!(
                            "line {}: samples rejected: {:?}",
                            load.line, outcome.rejected
                        ));
                    }
                    if flush_after {
                        engine.flush().await.map_err(|e| e.to_string())?;
                    }
                }
                dirty = true;
            }
            Command::Eval(eval) => {
                if storage == Storage::Parts && dirty {
                    engine.flush().await.map_err(|e| e.to_string())?;
                    engine.compact(true).await.map_err(|e| e.to_string())?;
                    dirty = false;
                }
                if eval.needs_native_histograms || mentions_any(&eval.expr, &native_names) {
                    report.skipped += 1;
                    continue;
                }
                match run_eval(&engine, &eval).await {
                    Ok(()) => report.passed += 1,
                    Err(e) => report.failed.push((eval.line, eval.expr.clone(), e)),
                }
            }
        }
    }
    engine.close().map_err(|e| e.to_string())?;
    Ok(report)
}
