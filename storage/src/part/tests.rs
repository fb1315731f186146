use super::*;
use crate::model::{Exemplar, Label};
use crate::object_store::DataStore;

#[test]
fn day_names() {
    assert_eq!(day_dir_name(0), "day=1970-01-01");
    assert_eq!(day_of(-1), -1);
    assert_eq!(day_of(DAY_MS), 1);
}

#[tokio::test]
async fn write_and_read_back_with_design_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let store = DataStore::local(dir.path()).unwrap();
    let mut w = PartWriter::new(store.clone(), "metrics", 7, 0, 0).unwrap();
    let labels = vec![
        ("__name__".to_string(), "up".to_string()),
        ("job".into(), "x".into()),
    ];
    let n = 100_000usize;
    let ts: Vec<i64> = (0..n as i64).map(|i| i * 15).collect();
    let values: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
    w.push_series(1, &labels, &ts, &values).await.unwrap();
    w.push_series(
        5,
        &labels[..1],
        &ts[..3],
        &[f64::NAN, 1.0, f64::NEG_INFINITY],
    )
    .await
    .unwrap();
    let mut meta = w.finish().await.unwrap();
    let ex = vec![(
        1,
        Exemplar {
            labels: vec![Label::new("trace_id", "t1")],
            ts: 3,
            value: 0.5,
        },
    )];
    write_exemplars(&store, "metrics", &mut meta, &ex)
        .await
        .unwrap();
    assert_eq!(meta.rows, n as u64 + 3);
    assert_eq!(meta.series, 2);
    assert!(meta.has_exemplars);

    let series = read_series(&store, "metrics", &meta).await.unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].labels, labels);
    assert_eq!(
        (series[0].min_ts, series[0].max_ts, series[0].samples),
        (0, (n as i64 - 1) * 15, n as u64)
    );

    let mut r = SampleRunReader::open(&store, "metrics", &meta)
        .await
        .unwrap();
    let a = r.next_run().await.unwrap().unwrap();
    assert_eq!((a.id, a.ts.len()), (1, n));
    assert_eq!(a.ts, ts);
    let b = r.next_run().await.unwrap().unwrap();
    assert_eq!(b.id, 5);
    assert!(b.values[0].is_nan());
    assert!(r.next_run().await.unwrap().is_none());
    assert_eq!(read_exemplars(&store, "metrics", &meta).await.unwrap(), ex);

    // The column encodings DESIGN §2 asks for.
    let file = std::fs::File::open(dir.path().join(meta.samples_path("metrics").as_ref())).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader;
    let rg = reader.metadata().row_group(0);
    let encodings = |i: usize| format!("{:?}", rg.column(i).encodings().collect::<Vec<_>>());
    assert!(
        encodings(1).contains("DELTA_BINARY_PACKED"),
        "{}",
        encodings(1)
    );
    assert!(
        encodings(2).contains("BYTE_STREAM_SPLIT"),
        "{}",
        encodings(2)
    );
    assert!(!encodings(2).contains("DICTIONARY"), "{}", encodings(2));
    assert!(format!("{:?}", rg.column(1).compression()).contains("ZSTD"));
    assert!(
        reader.metadata().offset_index().is_some() || rg.column(1).offset_index_offset().is_some()
    );
    // Regular 15 s samples compress to well under 2 bytes each.
    assert!(
        meta.bytes < (n as u64) * 2,
        "{} bytes for {n} samples",
        meta.bytes
    );
}

/// Selecting by series and time must return exactly what filtering a full
/// read returns, whichever pages the page index lets it skip.
#[tokio::test]
async fn selected_reads_match_filtered_full_reads() {
    let store = DataStore::in_memory();
    let mut w = PartWriter::new(store.clone(), "metrics", 9, 0, 0).unwrap();
    let labels = vec![("__name__".to_string(), "m".to_string())];
    // Series big enough to span several pages, with ids spread over u64.
    let ids: Vec<u64> = vec![3, 1 << 40, 1 << 62, u64::MAX - 5];
    let n = 50_000i64;
    for &id in &ids {
        let ts: Vec<i64> = (0..n).map(|i| i * 10).collect();
        let values: Vec<f64> = (0..n).map(|i| (i as f64) + id as f64).collect();
        w.push_series(id, &labels, &ts, &values).await.unwrap();
    }
    let meta = w.finish().await.unwrap();
    for (want, mint, maxt) in [
        (vec![ids[1]], 0, i64::MAX),
        (vec![ids[0], ids[3]], 123_450, 200_000),
        (vec![ids[2]], 499_990, 499_990),
        (ids.clone(), -100, 5),
        (vec![ids[1]], 600_000, 700_000),
        (vec![7], 0, i64::MAX),
    ] {
        let got = read_selected(&store, "metrics", &meta, &want, mint, maxt)
            .await
            .unwrap();
        let mut expected = Vec::new();
        let mut r = SampleRunReader::open(&store, "metrics", &meta)
            .await
            .unwrap();
        while let Some(run) = r.next_run().await.unwrap() {
            if !want.contains(&run.id) {
                continue;
            }
            let keep: Vec<usize> = (0..run.ts.len())
                .filter(|&i| run.ts[i] >= mint && run.ts[i] <= maxt)
                .collect();
            if !keep.is_empty() {
                expected.push((
                    run.id,
                    keep.iter().map(|&i| run.ts[i]).collect::<Vec<_>>(),
                    keep.iter().map(|&i| run.values[i]).collect::<Vec<_>>(),
                ));
            }
        }
        let got: Vec<_> = got.into_iter().map(|r| (r.id, r.ts, r.values)).collect();
        assert_eq!(got, expected, "ids {want:?} in [{mint}, {maxt}]");
    }
}
