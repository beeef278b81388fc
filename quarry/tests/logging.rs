//! Every statement is logged through `tracing` (target `quarry::sql`): SQL, bound values,
//! duration and rows. Its own test binary: tracing caches per-callsite interest, and a
//! test running in parallel without a subscriber would race the capture.

mod common;

use common::run;
use quarry::prelude::*;
use std::sync::{Arc, Mutex};

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "logging", db_table = "all_types")]
pub struct Logged {
    #[field(primary_key)]
    pub id: i32,
    #[field(max_length = 10)]
    pub char: String,
    pub _state: ModelState,
}

fn sample(_: i64) -> Logged {
    Logged {
        id: 0,
        char: "c1".into(),
        _state: ModelState::new(),
    }
}

/// Collects `quarry::sql` events.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        m.target() == "quarry::sql"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct V(String);
        impl tracing::field::Visit for V {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={:?};", f.name(), v));
            }
        }
        let mut v = V(String::new());
        event.record(&mut v);
        self.0.lock().unwrap().push(v.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn statements_are_logged_with_params_duration_and_rows() {
    let capture = Capture::default();
    let events = capture.0.clone();
    tracing::subscriber::with_default(capture, || {
        run(&[Logged::meta()], |db| {
            events.lock().unwrap().clear();
            Logged::objects().create(db, sample(1)).unwrap();
            Logged::objects().filter(q!(char = "c1")).count(db).unwrap();
        });
    });
    let events = events.lock().unwrap();
    let count = events
        .iter()
        .find(|e| e.contains("SELECT COUNT(*)"))
        .expect("the count was logged");
    assert!(count.contains("params=[Text(\"c1\")]"), "{count}");
    assert!(count.contains("rows=1"), "{count}");
    assert!(count.contains("duration_ms="), "{count}");
    assert!(
        events
            .iter()
            .any(|e| e.contains("INSERT INTO") && e.contains("all_types")),
        "{events:?}"
    );
}
