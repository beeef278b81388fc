//! Ported from Django's `tests/delete`: every `on_delete`, the collector's refusals
//! (PROTECT, RESTRICT), its counts per model, and fast deletes counted in queries.
//! Multi-table inheritance, signals and many-to-many cases are left for those features.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::ModelMeta;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct P {
    pub id: i64,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct R {
    pub id: i64,
    #[field(default = false)]
    pub is_default: bool,
    #[field(on_delete = Cascade)]
    pub p: Option<ForeignKey<P>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct S {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub r: ForeignKey<R>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct T {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub s: ForeignKey<S>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct U {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub t: ForeignKey<T>,
    pub _state: ModelState,
}

/// Django's `get_default_r()`: the R created first by every test (primary key 1).
fn default_r() -> Value {
    Value::I64(1)
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct A {
    pub id: i64,
    #[field(max_length = 30)]
    pub name: String,
    #[field(on_delete = Cascade, related_name = "auto_set")]
    pub auto: ForeignKey<R>,
    #[field(on_delete = Cascade, related_name = "auto_nullable_set")]
    pub auto_nullable: Option<ForeignKey<R>>,
    #[field(on_delete = Set(default_r), related_name = "setvalue")]
    pub setvalue: ForeignKey<R>,
    #[field(on_delete = SetNull, related_name = "setnull_set")]
    pub setnull: Option<ForeignKey<R>>,
    #[field(on_delete = SetDefault, default = 1, related_name = "setdefault_set")]
    pub setdefault: ForeignKey<R>,
    #[field(on_delete = SetDefault, default = None, related_name = "setnull_nullable_set")]
    pub setdefault_none: Option<ForeignKey<R>>,
    #[field(on_delete = Cascade, related_name = "cascade_set")]
    pub cascade: ForeignKey<R>,
    #[field(on_delete = Cascade, related_name = "cascade_nullable_set")]
    pub cascade_nullable: Option<ForeignKey<R>>,
    #[field(on_delete = Protect, related_name = "protect_set")]
    pub protect: Option<ForeignKey<R>>,
    #[field(on_delete = Restrict, related_name = "restrict_set")]
    pub restrict: Option<ForeignKey<R>>,
    #[field(on_delete = DoNothing, related_name = "donothing_set", db_constraint = false)]
    pub donothing: Option<ForeignKey<R>>,
    #[field(on_delete = Cascade, related_name = "cascade_p_set")]
    pub cascade_p: Option<ForeignKey<P>>,
    #[field(on_delete = SetNull, related_name = "o2o_nullable_set")]
    pub o2o_setnull: Option<ForeignKey<R>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct B {
    pub id: i64,
    #[field(on_delete = Protect)]
    pub protect: ForeignKey<R>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct B3 {
    pub id: i64,
    #[field(on_delete = Restrict)]
    pub restrict: ForeignKey<R>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct M {
    pub id: i64,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct MR {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub m: ForeignKey<M>,
    #[field(on_delete = Cascade)]
    pub r: ForeignKey<R>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct MRNull {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub m: ForeignKey<M>,
    #[field(on_delete = SetNull)]
    pub r: Option<ForeignKey<R>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct Avatar {
    pub id: i64,
    pub desc: Option<String>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct User {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub avatar: Option<ForeignKey<Avatar>>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct HiddenUser {
    pub id: i64,
    #[field(on_delete = Cascade, related_name = "+")]
    pub r: ForeignKey<R>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct HiddenUserProfile {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub user: ForeignKey<HiddenUser>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct Base {
    pub id: i64,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct RelToBase {
    pub id: i64,
    #[field(on_delete = DoNothing, related_name = "rels", db_constraint = false)]
    pub base: ForeignKey<Base>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct Origin {
    pub id: i64,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct Referrer {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub origin: ForeignKey<Origin>,
    #[field(unique)]
    pub unique_field: i32,
    pub large_field: String,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct SecondReferrer {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub referrer: ForeignKey<Referrer>,
    #[field(on_delete = Cascade, to_field = "unique_field", related_name = "+")]
    pub other_referrer: ForeignKey<Referrer, i32>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct DeleteTop {
    pub id: i64,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct B1 {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub delete_top: ForeignKey<DeleteTop>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct B2 {
    pub id: i64,
    #[field(on_delete = Cascade)]
    pub delete_top: ForeignKey<DeleteTop>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "delete")]
pub struct DeleteBottom {
    pub id: i64,
    #[field(on_delete = Restrict)]
    pub b1: ForeignKey<B1>,
    #[field(on_delete = Cascade)]
    pub b2: ForeignKey<B2>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        P::meta(),
        R::meta(),
        S::meta(),
        T::meta(),
        U::meta(),
        A::meta(),
        B::meta(),
        B3::meta(),
        M::meta(),
        MR::meta(),
        MRNull::meta(),
        Avatar::meta(),
        User::meta(),
        HiddenUser::meta(),
        HiddenUserProfile::meta(),
        Base::meta(),
        RelToBase::meta(),
        Origin::meta(),
        Referrer::meta(),
        SecondReferrer::meta(),
        DeleteTop::meta(),
        B1::meta(),
        B2::meta(),
        DeleteBottom::meta(),
    ]
}

/// Runs a test after creating the default R (primary key 1), as `OnDeleteTests.setUp`.
fn run_delete(test: impl Fn(&Database)) {
    run(&models(), |db| {
        let default = R::objects()
            .create(
                db,
                R {
                    id: 0,
                    is_default: true,
                    p: None,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        assert_eq!(default.id, 1);
        test(db)
    });
}

fn new_r(db: &Database) -> R {
    R::objects()
        .create(
            db,
            R {
                id: 0,
                is_default: false,
                p: None,
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn fk<T: Model + Clone>(obj: &T) -> ForeignKey<T> {
    ForeignKey::to(obj).unwrap()
}

/// Django's `create_a`: an A whose every relation points at a fresh R.
fn create_a(db: &Database, name: &str) -> A {
    let r = || fk(&new_r(db));
    let a = A {
        id: 0,
        name: name.into(),
        auto: r(),
        auto_nullable: Some(r()),
        setvalue: r(),
        setnull: Some(r()),
        setdefault: r(),
        setdefault_none: Some(r()),
        cascade: r(),
        cascade_nullable: Some(r()),
        protect: Some(r()),
        restrict: Some(r()),
        donothing: Some(r()),
        cascade_p: None,
        o2o_setnull: Some(r()),
        _state: ModelState::new(),
    };
    A::objects().create(db, a).unwrap()
}

fn get_r(db: &Database, id: i64) -> R {
    R::objects().get(db, q!(pk = id)).unwrap()
}

fn a_exists(db: &Database, name: &str) -> bool {
    A::objects().filter(q!(name = name)).exists(db).unwrap()
}

fn get_a(db: &Database, a: &A) -> A {
    A::objects().get(db, q!(pk = a.id)).unwrap()
}

fn counts(d: &quarry::Deleted) -> Vec<(&str, u64)> {
    d.per_model.iter().map(|(l, n)| (l.as_str(), *n)).collect()
}

#[test]
fn test_auto_and_cascade() {
    run_delete(|db| {
        for field in ["auto", "auto_nullable", "cascade", "cascade_nullable"] {
            let a = create_a(db, field);
            let target = match field {
                "auto" => *a.auto.id(),
                "auto_nullable" => *a.auto_nullable.as_ref().unwrap().id(),
                "cascade" => *a.cascade.id(),
                _ => *a.cascade_nullable.as_ref().unwrap().id(),
            };
            let deleted = get_r(db, target).delete(db).unwrap();
            assert!(!a_exists(db, field), "{field}");
            assert_eq!(deleted.total, 2);
            assert_eq!(counts(&deleted), [("delete.A", 1), ("delete.R", 1)]);
        }
    });
}

#[test]
fn test_setvalue_setnull_setdefault() {
    run_delete(|db| {
        let a = create_a(db, "setvalue");
        let d = get_r(db, *a.setvalue.id()).delete(db).unwrap();
        assert_eq!(counts(&d), [("delete.R", 1)]);
        assert_eq!(*get_a(db, &a).setvalue.id(), 1);

        let a = create_a(db, "setnull");
        get_r(db, *a.setnull.as_ref().unwrap().id())
            .delete(db)
            .unwrap();
        assert!(get_a(db, &a).setnull.is_none());

        let a = create_a(db, "setdefault");
        get_r(db, *a.setdefault.id()).delete(db).unwrap();
        assert_eq!(*get_a(db, &a).setdefault.id(), 1);

        let a = create_a(db, "setdefault_none");
        get_r(db, *a.setdefault_none.as_ref().unwrap().id())
            .delete(db)
            .unwrap();
        assert!(get_a(db, &a).setdefault_none.is_none());

        let a = create_a(db, "o2o_setnull");
        get_r(db, *a.o2o_setnull.as_ref().unwrap().id())
            .delete(db)
            .unwrap();
        assert!(get_a(db, &a).o2o_setnull.is_none());
    });
}

fn protected_labels(e: &Error) -> Vec<(String, Value)> {
    match e {
        Error::ProtectedError { protected, .. } => protected.clone(),
        Error::RestrictedError { restricted, .. } => restricted.clone(),
        other => panic!("expected a refused delete, got {other}"),
    }
}

#[test]
fn test_protect() {
    run_delete(|db| {
        let a = create_a(db, "protect");
        let mut r = get_r(db, *a.protect.as_ref().unwrap().id());
        let e = r.delete(db).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot delete some instances of model 'R' because they are referenced through \
             protected foreign keys: 'A.protect'."
        );
        assert_eq!(
            protected_labels(&e),
            [("delete.A".to_owned(), Value::I64(a.id))]
        );
        assert!(R::objects().filter(q!(pk = r.id)).exists(db).unwrap());
    });
}

#[test]
fn test_protect_multiple() {
    run_delete(|db| {
        let a = create_a(db, "protect");
        let protect = a.protect.clone().unwrap();
        let b = B::objects()
            .create(
                db,
                B {
                    id: 0,
                    protect: ForeignKey::new(*protect.id()),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let e = get_r(db, *protect.id()).delete(db).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot delete some instances of model 'R' because they are referenced through \
             protected foreign keys: 'A.protect', 'B.protect'."
        );
        assert_eq!(
            protected_labels(&e),
            [
                ("delete.A".to_owned(), Value::I64(a.id)),
                ("delete.B".to_owned(), Value::I64(b.id))
            ]
        );
    });
}

#[test]
fn test_protect_path() {
    run_delete(|db| {
        let a = create_a(db, "protect");
        let p = P::objects()
            .create(
                db,
                P {
                    id: 0,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let mut r = get_r(db, *a.protect.as_ref().unwrap().id());
        r.p = Some(fk(&p));
        r.save(db).unwrap();
        let mut p = p;
        let e = p.delete(db).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot delete some instances of model 'P' because they are referenced through \
             protected foreign keys: 'R.p'."
        );
        assert_eq!(
            protected_labels(&e),
            [("delete.A".to_owned(), Value::I64(a.id))]
        );
        // Nothing was deleted.
        assert_eq!(P::objects().count(db).unwrap(), 1);
        assert!(a_exists(db, "protect"));
    });
}

#[test]
fn test_do_nothing_qscount() {
    run_delete(|db| {
        let mut b = Base::objects()
            .create(
                db,
                Base {
                    id: 0,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let (d, queries) = capture_queries(|| b.delete(db));
        assert_eq!(counts(&d.unwrap()), [("delete.Base", 1)]);
        assert_eq!(queries.len(), 1, "{queries:?}");
        assert_eq!(Base::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn test_restrict() {
    run_delete(|db| {
        let a = create_a(db, "restrict");
        let e = get_r(db, *a.restrict.as_ref().unwrap().id())
            .delete(db)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot delete some instances of model 'R' because they are referenced through \
             restricted foreign keys: 'A.restrict'."
        );
        assert_eq!(
            protected_labels(&e),
            [("delete.A".to_owned(), Value::I64(a.id))]
        );
    });
}

#[test]
fn test_restrict_multiple() {
    run_delete(|db| {
        let a = create_a(db, "restrict");
        let restrict = *a.restrict.as_ref().unwrap().id();
        let b3 = B3::objects()
            .create(
                db,
                B3 {
                    id: 0,
                    restrict: ForeignKey::new(restrict),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let e = get_r(db, restrict).delete(db).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot delete some instances of model 'R' because they are referenced through \
             restricted foreign keys: 'A.restrict', 'B3.restrict'."
        );
        assert_eq!(
            protected_labels(&e),
            [
                ("delete.A".to_owned(), Value::I64(a.id)),
                ("delete.B3".to_owned(), Value::I64(b3.id))
            ]
        );
    });
}

#[test]
fn test_restrict_path_cascade_indirect() {
    run_delete(|db| {
        let a = create_a(db, "restrict");
        let p = P::objects()
            .create(
                db,
                P {
                    id: 0,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let mut restrict = get_r(db, *a.restrict.as_ref().unwrap().id());
        restrict.p = Some(fk(&p));
        restrict.save(db).unwrap();
        let e = p.clone().delete(db).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot delete some instances of model 'P' because they are referenced through \
             restricted foreign keys: 'A.restrict'."
        );
        assert_eq!(
            protected_labels(&e),
            [("delete.A".to_owned(), Value::I64(a.id))]
        );
        // Once A is also reached by a cascade, the delete goes through.
        let mut cascade = get_r(db, *a.cascade.id());
        cascade.p = Some(fk(&p));
        cascade.save(db).unwrap();
        let d = p.clone().delete(db).unwrap();
        assert_eq!(d.total, 4);
        assert_eq!(
            counts(&d),
            [("delete.A", 1), ("delete.P", 1), ("delete.R", 2)]
        );
        assert!(!a_exists(db, "restrict"));
        assert!(!R::objects()
            .filter(q!(pk = restrict.id))
            .exists(db)
            .unwrap());
    });
}

#[test]
fn test_restrict_path_cascade_direct() {
    run_delete(|db| {
        let mut a = create_a(db, "restrict");
        let p = P::objects()
            .create(
                db,
                P {
                    id: 0,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let mut restrict = get_r(db, *a.restrict.as_ref().unwrap().id());
        restrict.p = Some(fk(&p));
        restrict.save(db).unwrap();
        a.cascade_p = Some(fk(&p));
        a.save(db).unwrap();
        let d = p.clone().delete(db).unwrap();
        assert_eq!(
            counts(&d),
            [("delete.A", 1), ("delete.P", 1), ("delete.R", 1)]
        );
        assert!(!a_exists(db, "restrict"));
        assert!(!R::objects()
            .filter(q!(pk = restrict.id))
            .exists(db)
            .unwrap());
    });
}

#[test]
fn test_restrict_path_cascade_indirect_diamond() {
    run_delete(|db| {
        let top = DeleteTop::objects()
            .create(
                db,
                DeleteTop {
                    id: 0,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let b1 = B1::objects()
            .create(
                db,
                B1 {
                    id: 0,
                    delete_top: fk(&top),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let b2 = B2::objects()
            .create(
                db,
                B2 {
                    id: 0,
                    delete_top: fk(&top),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let bottom = DeleteBottom::objects()
            .create(
                db,
                DeleteBottom {
                    id: 0,
                    b1: fk(&b1),
                    b2: fk(&b2),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let e = b1.clone().delete(db).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot delete some instances of model 'B1' because they are referenced through \
             restricted foreign keys: 'DeleteBottom.b1'."
        );
        assert_eq!(
            protected_labels(&e),
            [("delete.DeleteBottom".to_owned(), Value::I64(bottom.id))]
        );
        assert_eq!(DeleteBottom::objects().count(db).unwrap(), 1);
        let d = top.clone().delete(db).unwrap();
        assert_eq!(
            counts(&d),
            [
                ("delete.B1", 1),
                ("delete.B2", 1),
                ("delete.DeleteBottom", 1),
                ("delete.DeleteTop", 1)
            ]
        );
        assert_eq!(DeleteTop::objects().count(db).unwrap(), 0);
        assert_eq!(B1::objects().count(db).unwrap(), 0);
        assert_eq!(B2::objects().count(db).unwrap(), 0);
        assert_eq!(DeleteBottom::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn test_sliced_queryset_and_unsaved() {
    run_delete(|db| {
        assert_error_contains(
            M::objects().slice(0..5).delete(db),
            "Cannot use 'limit' or 'offset' with delete().",
        );
        assert_error_contains(
            M {
                id: 0,
                _state: ModelState::new(),
            }
            .delete(db),
            "M object can't be deleted because its id attribute is not set",
        );
    });
}

#[test]
fn test_fk_link_rows() {
    run_delete(|db| {
        let m = M::objects()
            .create(
                db,
                M {
                    id: 0,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let r = new_r(db);
        MR::objects()
            .create(
                db,
                MR {
                    id: 0,
                    m: fk(&m),
                    r: fk(&r),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        r.clone().delete(db).unwrap();
        assert_eq!(MR::objects().count(db).unwrap(), 0);
        let r = new_r(db);
        MR::objects()
            .create(
                db,
                MR {
                    id: 0,
                    m: fk(&m),
                    r: fk(&r),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        m.clone().delete(db).unwrap();
        assert_eq!(MR::objects().count(db).unwrap(), 0);
        let m = M::objects()
            .create(
                db,
                M {
                    id: 0,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let r = new_r(db);
        MRNull::objects()
            .create(
                db,
                MRNull {
                    id: 0,
                    m: fk(&m),
                    r: Some(fk(&r)),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        r.clone().delete(db).unwrap();
        let left = MRNull::objects().all(db).unwrap();
        assert_eq!(left.len(), 1);
        assert!(left[0].r.is_none());
    });
}

#[test]
fn test_bulk() {
    run_delete(|db| {
        let s = S::objects()
            .create(
                db,
                S {
                    id: 0,
                    r: fk(&new_r(db)),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let ts = (0..200)
            .map(|_| T {
                id: 0,
                s: fk(&s),
                _state: ModelState::new(),
            })
            .collect();
        T::objects()
            .bulk_create(db, ts, &BulkCreate::new())
            .unwrap();
        let (d, queries) = capture_queries(|| s.clone().delete(db));
        assert_eq!(counts(&d.unwrap()), [("delete.S", 1), ("delete.T", 200)]);
        // SELECT the T keys, fast-delete U, DELETE the T rows, DELETE s. Django deletes
        // the T rows in chunks of 100 (5 queries); quarry in chunks as large as the
        // parameter limit allows.
        assert_eq!(queries.len(), 4, "{queries:#?}");
        assert!(!S::objects().exists(db).unwrap());
    });
}

#[test]
fn test_hidden_related() {
    run_delete(|db| {
        let r = new_r(db);
        let h = HiddenUser::objects()
            .create(
                db,
                HiddenUser {
                    id: 0,
                    r: fk(&r),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        HiddenUserProfile::objects()
            .create(
                db,
                HiddenUserProfile {
                    id: 0,
                    user: fk(&h),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        r.clone().delete(db).unwrap();
        assert_eq!(HiddenUserProfile::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn test_queryset_delete_returns_num_rows() {
    run_delete(|db| {
        let avatars = ["a", "b", "c"]
            .iter()
            .map(|d| Avatar {
                id: 0,
                desc: Some(d.to_string()),
                _state: ModelState::new(),
            })
            .collect();
        Avatar::objects()
            .bulk_create(db, avatars, &BulkCreate::new())
            .unwrap();
        let d = Avatar::objects().delete(db).unwrap();
        assert_eq!(d.total, 3);
        let r = new_r(db);
        let h1 = HiddenUser::objects()
            .create(
                db,
                HiddenUser {
                    id: 0,
                    r: fk(&r),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        HiddenUser::objects()
            .create(
                db,
                HiddenUser {
                    id: 0,
                    r: fk(&r),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        HiddenUserProfile::objects()
            .create(
                db,
                HiddenUserProfile {
                    id: 0,
                    user: fk(&h1),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        // Every R goes, the default one included.
        let d = R::objects().exclude(q!(pk = 1)).delete(db).unwrap();
        assert_eq!(
            counts(&d),
            [
                ("delete.HiddenUser", 2),
                ("delete.HiddenUserProfile", 1),
                ("delete.R", 1)
            ]
        );
        assert_eq!(d.total, 4);
    });
}

#[test]
fn test_model_delete_returns_num_rows() {
    run_delete(|db| {
        let r = new_r(db);
        let hs: Vec<HiddenUser> = (0..3)
            .map(|_| {
                HiddenUser::objects()
                    .create(
                        db,
                        HiddenUser {
                            id: 0,
                            r: fk(&r),
                            _state: ModelState::new(),
                        },
                    )
                    .unwrap()
            })
            .collect();
        for h in &hs[..2] {
            HiddenUserProfile::objects()
                .create(
                    db,
                    HiddenUserProfile {
                        id: 0,
                        user: fk(h),
                        _state: ModelState::new(),
                    },
                )
                .unwrap();
        }
        let m1 = M::objects()
            .create(
                db,
                M {
                    id: 0,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        MR::objects()
            .create(
                db,
                MR {
                    id: 0,
                    m: fk(&m1),
                    r: fk(&r),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let d = r.clone().delete(db).unwrap();
        assert_eq!(
            counts(&d),
            [
                ("delete.HiddenUser", 3),
                ("delete.HiddenUserProfile", 2),
                ("delete.MR", 1),
                ("delete.R", 1)
            ]
        );
        assert_eq!(d.total, 7);
    });
}

fn user(db: &Database, avatar: Option<&Avatar>) -> User {
    User::objects()
        .create(
            db,
            User {
                id: 0,
                avatar: avatar.map(fk),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

fn avatar(db: &Database, desc: &str) -> Avatar {
    Avatar::objects()
        .create(
            db,
            Avatar {
                id: 0,
                desc: Some(desc.into()),
                _state: ModelState::new(),
            },
        )
        .unwrap()
}

#[test]
fn test_fast_delete_all_and_qs() {
    run_delete(|db| {
        let u1 = user(db, None);
        let u2 = user(db, None);
        let (d, queries) = capture_queries(|| User::objects().filter(q!(pk = u1.id)).delete(db));
        assert_eq!(d.unwrap().total, 1);
        assert_eq!(queries.len(), 1);
        assert!(User::objects().filter(q!(pk = u2.id)).exists(db).unwrap());
        let (_, queries) = capture_queries(|| User::objects().delete(db));
        assert_eq!(queries.len(), 1);
        assert!(!queries[0].contains("SELECT"), "{}", queries[0]);
        assert_eq!(User::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn test_fast_delete_fk() {
    run_delete(|db| {
        let a = avatar(db, "a");
        user(db, Some(&a));
        let (d, queries) = capture_queries(|| a.clone().delete(db));
        assert_eq!(
            counts(&d.unwrap()),
            [("delete.Avatar", 1), ("delete.User", 1)]
        );
        assert_eq!(queries.len(), 2, "{queries:#?}");
        assert_eq!(User::objects().count(db).unwrap(), 0);
        assert_eq!(Avatar::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn test_fast_delete_joined_qs_and_empty() {
    run_delete(|db| {
        let a = avatar(db, "a");
        user(db, Some(&a));
        let u2 = user(db, None);
        let (d, queries) =
            capture_queries(|| User::objects().filter(q!(avatar__desc = "a")).delete(db));
        assert_eq!(d.unwrap().total, 1);
        assert_eq!(queries.len(), 1);
        assert_eq!(User::objects().all(db).unwrap(), [u2]);
        let (d, queries) = capture_queries(|| {
            User::objects()
                .filter(q!(avatar__desc = "missing"))
                .delete(db)
        });
        assert_eq!(d.unwrap(), quarry::Deleted::default());
        assert_eq!(queries.len(), 1);
    });
}

#[test]
fn test_fast_delete_full_match() {
    run_delete(|db| {
        let a = avatar(db, "bar");
        user(db, Some(&a));
        let (_, queries) = capture_queries(|| {
            User::objects()
                .filter(!q!(pk__in = Vec::<i64>::new()) | q!(avatar__desc = "foo"))
                .delete(db)
        });
        assert_eq!(queries.len(), 1);
        assert!(!User::objects().exists(db).unwrap());
    });
}

#[test]
fn test_fast_delete_large_batch() {
    run_delete(|db| {
        let users = (0..2000)
            .map(|_| User {
                id: 0,
                avatar: None,
                _state: ModelState::new(),
            })
            .collect();
        User::objects()
            .bulk_create(db, users, &BulkCreate::new())
            .unwrap();
        let (_, queries) = capture_queries(|| User::objects().delete(db));
        assert_eq!(queries.len(), 1);
        let a = avatar(db, "a");
        let users = (0..2000)
            .map(|_| User {
                id: 0,
                avatar: Some(fk(&a)),
                _state: ModelState::new(),
            })
            .collect();
        User::objects()
            .bulk_create(db, users, &BulkCreate::new())
            .unwrap();
        let (d, queries) = capture_queries(|| a.clone().delete(db));
        assert_eq!(queries.len(), 2);
        assert_eq!(d.unwrap().total, 2001);
        assert_eq!(User::objects().count(db).unwrap(), 0);
    });
}

#[test]
fn test_large_delete_related() {
    run_delete(|db| {
        let s = S::objects()
            .create(
                db,
                S {
                    id: 0,
                    r: fk(&new_r(db)),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let ts = (0..2000)
            .map(|_| T {
                id: 0,
                s: fk(&s),
                _state: ModelState::new(),
            })
            .collect();
        T::objects()
            .bulk_create(db, ts, &BulkCreate::new())
            .unwrap();
        let d = s.clone().delete(db).unwrap();
        assert_eq!(counts(&d), [("delete.S", 1), ("delete.T", 2000)]);
        assert!(!S::objects().exists(db).unwrap());
        assert!(!T::objects().exists(db).unwrap());
    });
}

#[test]
fn test_fast_delete_combined_relationships() {
    run_delete(|db| {
        let origin = Origin::objects()
            .create(
                db,
                Origin {
                    id: 0,
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let referrer = Referrer::objects()
            .create(
                db,
                Referrer {
                    id: 0,
                    origin: fk(&origin),
                    unique_field: 42,
                    large_field: String::new(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        SecondReferrer::objects()
            .create(
                db,
                SecondReferrer {
                    id: 0,
                    referrer: fk(&referrer),
                    other_referrer: ForeignKey::new(42),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let d = referrer.clone().delete(db).unwrap();
        assert_eq!(
            counts(&d),
            [("delete.Referrer", 1), ("delete.SecondReferrer", 1)]
        );
        // The origin cascades through Referrer and on to SecondReferrer by both keys.
        let d = origin.clone().delete(db).unwrap();
        assert_eq!(counts(&d), [("delete.Origin", 1)]);
    });
}
