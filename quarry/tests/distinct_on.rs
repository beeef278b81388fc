//! Django's `distinct(*fields)` (`distinct_on()` here), from `tests/distinct_on_fields`:
//! PostgreSQL's `DISTINCT ON`, refused elsewhere with Django's message.

mod common;

use common::{assert_error_contains, run, vendor};
use quarry::prelude::*;
use quarry::sql::Vendor;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "distinct_on")]
pub struct Staff {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(max_length = 50)]
    pub organisation: String,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![Staff::meta()]
}

#[test]
fn distinct_on_fields() {
    run(&models(), |db| {
        for (name, org) in [("p1", "o1"), ("p2", "o1"), ("p3", "o1"), ("p1", "o2")] {
            Staff::objects()
                .create(
                    db,
                    Staff {
                        id: 0,
                        name: name.into(),
                        organisation: org.into(),
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        }
        let qs = Staff::objects()
            .distinct_on(["organisation"])
            .order_by(["organisation", "-name"]);
        if vendor(db) != Vendor::Postgres {
            assert_error_contains(
                qs.all(db),
                "DISTINCT ON fields is not supported by this database backend",
            );
            return;
        }
        let got: Vec<(String, String)> = qs
            .all(db)
            .unwrap()
            .into_iter()
            .map(|s| (s.organisation, s.name))
            .collect();
        assert_eq!(
            got,
            [("o1".into(), "p3".into()), ("o2".into(), "p1".into())]
        );
        assert_eq!(
            Staff::objects()
                .distinct_on(["name"])
                .order_by(["name"])
                .count(db)
                .unwrap(),
            3
        );
        let names = Staff::objects()
            .distinct_on(["name"])
            .order_by(["name"])
            .values_list_flat("name")
            .all(db)
            .unwrap();
        assert_eq!(names.len(), 3);
    });
}
