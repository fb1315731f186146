//! Arrow schemas of part files.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

fn labels_type() -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("keys", DataType::Utf8, false),
                Field::new("values", DataType::Utf8, true),
            ])),
            false,
        )),
        false,
    )
}

/// The `labels` map column (name -> value).
pub fn labels_field() -> Field {
    Field::new("labels", labels_type(), false)
}

/// `series_id, ts, value`: one row per sample, sorted by series then time.
pub fn samples_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("series_id", DataType::UInt64, false),
            Field::new("ts", DataType::Int64, false),
            Field::new("value", DataType::Float64, false),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// One row per series in the part, with its time bounds and sample count.
pub fn series_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("series_id", DataType::UInt64, false),
            Field::new("metric_name", DataType::Utf8, false),
            labels_field(),
            Field::new("min_ts", DataType::Int64, false),
            Field::new("max_ts", DataType::Int64, false),
            Field::new("samples", DataType::UInt64, false),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// One row per exemplar.
pub fn exemplars_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("series_id", DataType::UInt64, false),
            Field::new("ts", DataType::Int64, false),
            Field::new("value", DataType::Float64, false),
            labels_field(),
        ]))
    });
    Arc::clone(&SCHEMA)
}
