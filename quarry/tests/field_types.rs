//! Every field type of the foundation round-trips through the database, and its
//! lookups compare on the stored form. Also: statements are logged through `tracing`.

mod common;

use chrono::{NaiveTime, TimeDelta, TimeZone, Utc};
use common::run;
use quarry::prelude::*;
use quarry::{FieldKind, Json};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, Default)]
pub struct Dims {
    pub w: u32,
    pub h: u32,
}

#[derive(Choices, Debug, Clone, Copy, PartialEq)]
pub enum Level {
    Low = 1,
    High = 2,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "types", db_table = "all_types", indexes = [["small", "-big"]])]
pub struct AllTypes {
    #[field(primary_key)]
    pub id: i32,
    pub flag: bool,
    #[field(max_length = 10)]
    pub char: String,
    pub text: String,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub psmall: u16,
    pub pint: u32,
    pub pbig: u64,
    pub float: f64,
    #[field(max_digits = 10, decimal_places = 3)]
    pub dec: Decimal,
    pub date: NaiveDate,
    pub datetime: DateTime<Utc>,
    pub time: NaiveTime,
    pub duration: TimeDelta,
    pub uuid: uuid::Uuid,
    pub binary: Vec<u8>,
    pub json: serde_json::Value,
    pub dims: Json<Dims>,
    pub level: Level,
    #[field(kind = "EmailField")]
    pub email: String,
    #[field(db_column = "maybe_col")]
    pub maybe: Option<i64>,
    pub _state: ModelState,
}

fn sample(n: i64) -> AllTypes {
    AllTypes {
        id: 0,
        flag: n % 2 == 0,
        char: format!("c{n}"),
        text: "long text ".repeat(n as usize + 1),
        small: -3 * n as i16,
        int: 70_000 * n as i32,
        big: 9_000_000_000 * n,
        psmall: 7,
        pint: 4_000_000_000,
        pbig: 10_000_000_000,
        float: 1.5 * n as f64,
        dec: format!("{n}.125").parse().unwrap(),
        date: NaiveDate::from_ymd_opt(2020, 2, 29).unwrap(),
        datetime: Utc.with_ymd_and_hms(2021, 3, 4, 5, 6, 7).unwrap()
            + TimeDelta::microseconds(123_456 * n),
        time: NaiveTime::from_hms_micro_opt(23, 59, 58, 999_999).unwrap(),
        duration: TimeDelta::days(n) + TimeDelta::microseconds(5),
        uuid: uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0 + n as u128),
        binary: vec![0, 159, 146, 150, n as u8],
        json: serde_json::json!({"a": [1, 2, {"b": null}], "n": n}),
        dims: Json(Dims { w: 3, h: n as u32 }),
        level: if n == 1 { Level::Low } else { Level::High },
        email: "x@example.com".into(),
        maybe: if n == 1 { None } else { Some(n) },
        _state: ModelState::new(),
    }
}

#[test]
fn every_field_type_round_trips() {
    run(&[AllTypes::meta()], |db| {
        let one = AllTypes::objects().create(db, sample(1)).unwrap();
        let two = AllTypes::objects().create(db, sample(2)).unwrap();
        let got = AllTypes::objects().order_by(["id"]).all(db).unwrap();
        assert_eq!(got, vec![one.clone(), two.clone()]);
        assert_eq!(got[0].dec.to_string(), "1.125");
        // Lookups compare on the stored form of each type.
        let by = |q: Q| {
            AllTypes::objects()
                .filter(q)
                .values_list_flat("id")
                .all(db)
                .unwrap()
        };
        let id2 = vec![Value::I64(two.id as i64)];
        assert_eq!(by(q!(uuid = two.uuid)), id2);
        assert_eq!(by(q!(binary = vec![0u8, 159, 146, 150, 2])), id2);
        assert_eq!(
            by(q!(
                duration__gt = TimeDelta::days(1) + TimeDelta::microseconds(5)
            )),
            id2
        );
        assert_eq!(by(q!(dec__gte = "2.125".parse::<Decimal>().unwrap())), id2);
        assert_eq!(by(q!(dec__gt = 1.5)), id2);
        assert_eq!(by(q!(big = 18_000_000_000i64)), id2);
        assert_eq!(by(q!(pint = 4_000_000_000u32)).len(), 2);
        assert_eq!(by(q!(level = Level::High)), id2);
        assert_eq!(by(q!(flag = true)), id2);
        assert_eq!(by(q!(maybe__isnull = false)), id2);
        assert_eq!(
            by(q!(time =
                NaiveTime::from_hms_micro_opt(23, 59, 58, 999_999)
                    .unwrap()))
            .len(),
            2
        );
        assert_eq!(by(q!(datetime__gt = one.datetime)), id2);
        assert_eq!(
            by(q!(date__year = 2020, date__month = 2, date__day = 29)).len(),
            2
        );
        // Strings are parsed into the field's type, as Django's get_prep_value does.
        assert_eq!(by(q!(date = "2020-02-29")).len(), 2);
        assert_eq!(by(q!(uuid = two.uuid.hyphenated().to_string())), id2);
        assert_eq!(by(q!(datetime__lt = "2021-03-04 05:06:07.200000")).len(), 1);
        assert_eq!(by(q!(dec = "2.125")), id2);
        common::assert_error_contains(
            AllTypes::objects()
                .filter(q!(date = "29/02/2020"))
                .count(db),
            "“29/02/2020” value has an invalid date format. It must be in YYYY-MM-DD format.",
        );
        common::assert_error_contains(
            AllTypes::objects().filter(q!(int = "many")).count(db),
            "expected a number but got 'many'",
        );
        // values() decodes by field kind.
        let row = AllTypes::objects()
            .filter(q!(pk = two.id))
            .values(["uuid", "datetime", "dims", "level", "maybe"])
            .get(db, q!())
            .unwrap();
        assert_eq!(row.get("uuid"), Some(&Value::Uuid(two.uuid)));
        assert_eq!(row.get("datetime"), Some(&Value::DateTime(two.datetime)));
        assert_eq!(
            row.get("dims"),
            Some(&Value::Json(serde_json::json!({"w": 3, "h": 2})))
        );
        assert_eq!(row.get("level"), Some(&Value::I64(2)));
        assert_eq!(row.get_as::<Option<i64>>("maybe").unwrap(), Some(2));
    });
}

#[test]
fn kinds_follow_django() {
    let meta = AllTypes::meta();
    let kind = |n: &str| meta.field(n).unwrap().1.kind;
    assert_eq!(kind("id"), FieldKind::AutoField);
    assert_eq!(kind("char"), FieldKind::CharField);
    assert_eq!(kind("text"), FieldKind::TextField);
    assert_eq!(kind("psmall"), FieldKind::PositiveSmallIntegerField);
    assert_eq!(kind("pbig"), FieldKind::PositiveBigIntegerField);
    assert_eq!(kind("dims"), FieldKind::JSONField);
    assert_eq!(kind("level"), FieldKind::IntegerField);
    assert_eq!(kind("email"), FieldKind::EmailField);
    assert_eq!(meta.field("maybe").unwrap().1.column, "maybe_col");
    assert!(meta.field("maybe").unwrap().1.null);
    assert_eq!(meta.verbose_name, "all types");
    assert_eq!(meta.verbose_name_plural, "all typess");
    let choices = Level::choices();
    assert_eq!(
        choices,
        vec![
            (Value::I64(1), "Low".to_string()),
            (Value::I64(2), "High".to_string())
        ]
    );
}

#[test]
fn schema_has_the_declared_index() {
    let ddl = quarry::schema::create_table_sql(AllTypes::meta(), &quarry::sql::SqliteDialect);
    assert_eq!(ddl.len(), 2);
    assert!(
        ddl[1].starts_with("CREATE INDEX \"all_types_small_big_"),
        "{}",
        ddl[1]
    );
    assert!(
        ddl[1].ends_with("ON \"all_types\" (\"small\", \"big\" DESC)"),
        "{}",
        ddl[1]
    );
}
