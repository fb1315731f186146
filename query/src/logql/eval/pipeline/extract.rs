//! Turning the lines of a metric query into samples.

use super::super::super::ast::{Conversion, LogRange, RangeOp};
use super::super::labels::LabelPairs;
use super::label_filter::Filter;
use super::{InputEntry, Pipeline, PipelineError, convert};

/// The error a failed `unwrap` conversion sets.
const SAMPLE_EXTRACTION_ERR: &str = "SampleExtractionErr";

#[derive(Debug)]
enum Value {
    /// One per line.
    Count,
    /// The line's length in bytes.
    Bytes,
    /// A label's value.
    Unwrap {
        label: String,
        conversion: Conversion,
        post_filters: Vec<Filter>,
    },
}

/// A metric query's pipeline plus how each surviving line becomes a
/// number.
#[derive(Debug)]
pub struct SampleExtractor {
    pipeline: Pipeline,
    value: Value,
}

fn needs_unwrap(op: RangeOp) -> bool {
    !matches!(
        op,
        RangeOp::Rate
            | RangeOp::CountOverTime
            | RangeOp::BytesRate
            | RangeOp::BytesOverTime
            | RangeOp::AbsentOverTime
    )
}

fn convert_value(conversion: Conversion, text: &str) -> Result<f64, String> {
    match conversion {
        Conversion::Float => convert::parse_float(text),
        Conversion::Duration | Conversion::DurationSeconds => {
            convert::parse_duration(text).map(|ns| ns as f64 / 1e9)
        }
        Conversion::Bytes => convert::parse_bytes(text).map(|b| b as f64),
    }
}

impl SampleExtractor {
    /// For a metric query: the pipeline plus how each surviving line
    /// becomes a number.
    pub fn new(range: &LogRange, op: RangeOp) -> Result<Self, PipelineError> {
        let value = match &range.unwrap {
            None if needs_unwrap(op) => return Err(PipelineError::MissingUnwrap(op.name())),
            None if matches!(op, RangeOp::BytesRate | RangeOp::BytesOverTime) => Value::Bytes,
            None => Value::Count,
            Some(_)
                if matches!(
                    op,
                    RangeOp::BytesRate | RangeOp::BytesOverTime | RangeOp::CountOverTime
                ) =>
            {
                return Err(PipelineError::UnexpectedUnwrap(op.name()));
            }
            Some(u) => Value::Unwrap {
                label: u.label.clone(),
                conversion: u.conversion,
                post_filters: u
                    .post_filters
                    .iter()
                    .map(Filter::new)
                    .collect::<Result<_, _>>()?,
            },
        };
        Ok(Self {
            pipeline: Pipeline::new(&range.query.pipeline)?,
            value,
        })
    }

    /// `None` when the line is filtered out. The labels are the series
    /// labels (empty values left out); for unwrap, without the unwrapped
    /// label. A line without the unwrapped label gives no sample; one
    /// whose value does not convert gives 0 marked `SampleExtractionErr`.
    pub fn extract(&self, entry: InputEntry<'_>) -> Option<(LabelPairs, f64)> {
        let (line, mut labels) = self.pipeline.run(&entry)?;
        let value = match &self.value {
            Value::Count => 1.0,
            Value::Bytes => line.len() as f64,
            Value::Unwrap {
                label,
                conversion,
                post_filters,
            } => {
                let converted = convert_value(*conversion, labels.get(label)?);
                let value = converted.unwrap_or_else(|details| {
                    labels.set_error(SAMPLE_EXTRACTION_ERR, details);
                    0.0
                });
                for f in post_filters {
                    if !f.eval(&mut labels) {
                        return None;
                    }
                }
                labels.remove(label);
                value
            }
        };
        Some((labels.into_series(), value))
    }
}
