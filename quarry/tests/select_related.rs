//! Ported from Django's `tests/select_related`: the taxonomy chain read with and without
//! `select_related`, counted in queries, and the validation errors.

mod common;

use common::{assert_error_contains, run};
use quarry::prelude::*;
use quarry::testing::capture_queries;
use quarry::ModelMeta;

macro_rules! level {
    ($name:ident, $parent:ident, $field:ident) => {
        #[derive(Model, Debug, Clone, PartialEq)]
        #[model(app_label = "select_related")]
        pub struct $name {
            pub id: i64,
            #[field(max_length = 50)]
            pub name: String,
            #[field(on_delete = Cascade)]
            pub $field: ForeignKey<$parent>,
            pub _state: ModelState,
        }
    };
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related")]
pub struct Domain {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    pub _state: ModelState,
}

level!(Kingdom, Domain, domain);
level!(Phylum, Kingdom, kingdom);
level!(Klass, Phylum, phylum);
level!(Order, Klass, klass);
level!(Family, Order, order);
level!(Genus, Family, family);
level!(Species, Genus, genus);

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related")]
pub struct HybridSpecies {
    pub id: i64,
    #[field(max_length = 50)]
    pub name: String,
    #[field(on_delete = Cascade, related_name = "child_1")]
    pub parent_1: ForeignKey<Species>,
    #[field(on_delete = Cascade, related_name = "child_2")]
    pub parent_2: ForeignKey<Species>,
    pub _state: ModelState,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(app_label = "select_related")]
pub struct Specimen {
    pub id: i64,
    #[field(on_delete = SetNull)]
    pub species: Option<ForeignKey<Species>>,
    pub _state: ModelState,
}

fn models() -> Vec<&'static ModelMeta> {
    vec![
        Domain::meta(),
        Kingdom::meta(),
        Phylum::meta(),
        Klass::meta(),
        Order::meta(),
        Family::meta(),
        Genus::meta(),
        Species::meta(),
        HybridSpecies::meta(),
    ]
}

/// Gets the row of `M` named `name`, or creates it pointing at `parent`.
fn level<M: Model>(db: &Database, name: &str, parent: Option<i64>) -> i64 {
    if let Some(found) = M::objects().filter(q!(name = name)).first(db).unwrap() {
        return found.pk().get().unwrap();
    }
    let mut pairs = vec![("name", Value::from(name))];
    if let Some(p) = parent {
        let fk = M::meta()
            .fields
            .iter()
            .find(|f| f.relation.is_some())
            .unwrap();
        pairs.push((fk.name, Value::from(p)));
    }
    let mut obj = M::from_pairs(pairs).unwrap();
    obj.save(db).unwrap();
    obj.pk().get().unwrap()
}

/// Django's `create_tree`.
fn create_tree(db: &Database, names: &str) {
    let n: Vec<&str> = names.split(' ').collect();
    let d = level::<Domain>(db, n[0], None);
    let k = level::<Kingdom>(db, n[1], Some(d));
    let p = level::<Phylum>(db, n[2], Some(k));
    let c = level::<Klass>(db, n[3], Some(p));
    let o = level::<Order>(db, n[4], Some(c));
    let f = level::<Family>(db, n[5], Some(o));
    let g = level::<Genus>(db, n[6], Some(f));
    level::<Species>(db, n[7], Some(g));
}

fn run_taxonomy(test: impl Fn(&Database)) {
    run(&models(), |db| {
        create_tree(
            db,
            "Eukaryota Animalia Anthropoda Insecta Diptera Drosophilidae Drosophila melanogaster",
        );
        create_tree(
            db,
            "Eukaryota Animalia Chordata Mammalia Primates Hominidae Homo sapiens",
        );
        create_tree(
            db,
            "Eukaryota Plantae Magnoliophyta Magnoliopsida Fabales Fabaceae Pisum sativum",
        );
        create_tree(db, "Eukaryota Fungi Basidiomycota Homobasidiomycatae Agaricales Amanitacae Amanita muscaria");
        test(db)
    });
}

/// `species.genus.family.order.klass.phylum.kingdom.domain.name`, loading what is not
/// cached.
fn domain_name(db: &Database, s: &Species) -> String {
    let genus = s.genus.get(db).unwrap();
    let family = genus.family.get(db).unwrap();
    let order = family.order.get(db).unwrap();
    let klass = order.klass.get(db).unwrap();
    let phylum = klass.phylum.get(db).unwrap();
    let kingdom = phylum.kingdom.get(db).unwrap();
    kingdom.domain.get(db).unwrap().name.clone()
}

#[test]
fn test_access_fks_without_select_related() {
    run_taxonomy(|db| {
        let (name, queries) = capture_queries(|| {
            let fly = Species::objects()
                .get(db, q!(name = "melanogaster"))
                .unwrap();
            domain_name(db, &fly)
        });
        assert_eq!(name, "Eukaryota");
        assert_eq!(queries.len(), 8);
    });
}

#[test]
fn test_access_fks_with_select_related() {
    run_taxonomy(|db| {
        let (name, queries) = capture_queries(|| {
            let person = Species::objects()
                .select_related(["genus__family__order__klass__phylum__kingdom__domain"])
                .get(db, q!(name = "sapiens"))
                .unwrap();
            domain_name(db, &person)
        });
        assert_eq!(name, "Eukaryota");
        assert_eq!(queries.len(), 1);
    });
}

fn family_names(db: &Database, species: &[Species]) -> Vec<String> {
    let mut names: Vec<String> = species
        .iter()
        .map(|s| {
            s.genus
                .get(db)
                .unwrap()
                .family
                .get(db)
                .unwrap()
                .name
                .clone()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn test_list_without_select_related() {
    run_taxonomy(|db| {
        let (names, queries) =
            capture_queries(|| family_names(db, &Species::objects().all(db).unwrap()));
        assert_eq!(
            names,
            ["Amanitacae", "Drosophilidae", "Fabaceae", "Hominidae"]
        );
        assert_eq!(queries.len(), 9);
    });
}

#[test]
fn test_list_with_select_related() {
    run_taxonomy(|db| {
        let (names, queries) = capture_queries(|| {
            family_names(
                db,
                &Species::objects()
                    .select_related(Vec::<String>::new())
                    .all(db)
                    .unwrap(),
            )
        });
        assert_eq!(
            names,
            ["Amanitacae", "Drosophilidae", "Fabaceae", "Hominidae"]
        );
        assert_eq!(queries.len(), 1);
        // No argument follows five levels: genus to phylum. The kingdom costs a query.
        let species = Species::objects()
            .select_related(Vec::<String>::new())
            .filter(q!(name = "sapiens"))
            .all(db)
            .unwrap();
        let phylum = species[0]
            .genus
            .cached()
            .unwrap()
            .family
            .cached()
            .unwrap()
            .order
            .cached()
            .unwrap()
            .klass
            .cached()
            .unwrap()
            .phylum
            .cached()
            .unwrap();
        assert!(!phylum.kingdom.is_cached());
    });
}

#[test]
fn test_list_with_depth() {
    run_taxonomy(|db| {
        let (names, queries) = capture_queries(|| {
            let species = Species::objects()
                .select_related(["genus__family"])
                .all(db)
                .unwrap();
            let mut names: Vec<String> = species
                .iter()
                .map(|s| {
                    let family = s.genus.get(db).unwrap().family.get(db).unwrap();
                    family.order.get(db).unwrap().name.clone()
                })
                .collect();
            names.sort();
            names
        });
        assert_eq!(names, ["Agaricales", "Diptera", "Fabales", "Primates"]);
        assert_eq!(queries.len(), 5);
    });
}

#[test]
fn test_certain_fields() {
    run_taxonomy(|db| {
        let (names, queries) = capture_queries(|| {
            family_names(
                db,
                &Species::objects()
                    .select_related(["genus__family"])
                    .all(db)
                    .unwrap(),
            )
        });
        assert_eq!(
            names,
            ["Amanitacae", "Drosophilidae", "Fabaceae", "Hominidae"]
        );
        assert_eq!(queries.len(), 1);
    });
}

#[test]
fn test_more_certain_fields() {
    run_taxonomy(|db| {
        let (names, queries) = capture_queries(|| {
            Species::objects()
                .filter(q!(genus__name = "Amanita"))
                .select_related(["genus__family"])
                .all(db)
                .unwrap()
                .iter()
                .map(|s| {
                    let family = s.genus.get(db).unwrap().family.get(db).unwrap();
                    family.order.get(db).unwrap().name.clone()
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(names, ["Agaricales"]);
        assert_eq!(queries.len(), 2);
    });
}

#[test]
fn test_field_traversal() {
    run_taxonomy(|db| {
        let (name, queries) = capture_queries(|| {
            let s = Species::objects()
                .select_related(["genus__family__order"])
                .order_by(["id"])
                .slice(0..1)
                .get(db, q!())
                .unwrap();
            let family = s.genus.get(db).unwrap().family.get(db).unwrap();
            family.order.get(db).unwrap().name.clone()
        });
        assert_eq!(name, "Diptera");
        assert_eq!(queries.len(), 1);
    });
}

#[test]
fn test_none_clears_list() {
    let qs = Species::objects()
        .select_related(["genus"])
        .clear_select_related();
    assert_eq!(
        qs.query().select_related,
        quarry::query::SelectRelated::None
    );
}

#[test]
fn test_chaining() {
    run_taxonomy(|db| {
        let parents = Species::objects()
            .order_by(["id"])
            .slice(..2)
            .all(db)
            .unwrap();
        HybridSpecies::objects()
            .create(
                db,
                HybridSpecies {
                    id: 0,
                    name: "hybrid".into(),
                    parent_1: ForeignKey::to(&parents[0]).unwrap(),
                    parent_2: ForeignKey::to(&parents[1]).unwrap(),
                    _state: ModelState::new(),
                },
            )
            .unwrap();
        let qs = HybridSpecies::objects()
            .select_related(["parent_1"])
            .select_related(["parent_2"]);
        let (obj, queries) = capture_queries(|| qs.first(db).unwrap().unwrap());
        assert_eq!(queries.len(), 1);
        assert_eq!(obj.parent_1.cached(), Some(&parents[0]));
        assert_eq!(obj.parent_2.cached(), Some(&parents[1]));
        // The two relations to the same table get their own aliases.
        assert!(
            queries[0].contains("T3") || queries[0].contains("T2"),
            "{}",
            queries[0]
        );
    });
}

#[test]
fn test_reverse_relation_caching() {
    run_taxonomy(|db| {
        let species = Species::objects()
            .select_related(["genus"])
            .filter(q!(name = "melanogaster"))
            .first(db)
            .unwrap()
            .unwrap();
        let (name, queries) = capture_queries(|| species.genus.get(db).unwrap().name.clone());
        assert_eq!(name, "Drosophila");
        assert!(queries.is_empty());
        let genus = species.genus.cached().unwrap();
        let (first, queries) = capture_queries(|| genus.species_set().queryset().first(db));
        assert_eq!(first.unwrap().unwrap().name, "melanogaster");
        assert_eq!(queries.len(), 1);
    });
}

#[test]
fn test_select_related_after_values() {
    run_taxonomy(|db| {
        assert_error_contains(
            Species::objects()
                .values(["name"])
                .select_related(["genus"])
                .all(db),
            "Cannot call select_related() after .values() or .values_list()",
        );
        assert_error_contains(
            Species::objects()
                .values_list(["name"])
                .select_related(["genus"])
                .all(db),
            "Cannot call select_related() after .values() or .values_list()",
        );
    });
}

#[test]
fn test_validation_errors() {
    run(&models(), |db| {
        let cases: [(Result<Vec<Species>, Error>, &str); 5] = [
            (
                Species::objects().select_related(["name__some_field"]).all(db),
                "Non-relational field given in select_related: 'name'. Choices are: genus",
            ),
            (
                Species::objects().select_related(["name"]).all(db),
                "Non-relational field given in select_related: 'name'. Choices are: genus",
            ),
            (
                Species::objects().select_related(["genus__name"]).all(db),
                "Non-relational field given in select_related: 'name'. Choices are: family",
            ),
            (
                Species::objects().select_related(["child_1"]).all(db),
                "Invalid field name(s) given in select_related: 'child_1'. Choices are: genus",
            ),
            (
                Species::objects().select_related(["genus__related_invalid_field"]).all(db),
                "Invalid field name(s) given in select_related: 'related_invalid_field'. Choices are: family",
            ),
        ];
        for (result, message) in cases {
            assert_error_contains(result, message);
        }
        assert_error_contains(
            Domain::objects().select_related(["name"]).all(db),
            "Non-relational field given in select_related: 'name'. Choices are: (none)",
        );
        assert_error_contains(
            Domain::objects().select_related(["invalid_field"]).all(db),
            "Invalid field name(s) given in select_related: 'invalid_field'. Choices are: (none)",
        );
    });
}

#[test]
fn test_nullable_relation_is_a_left_join() {
    // A NULL-able foreign key is read with LEFT OUTER JOIN, and a NULL key leaves the
    // link empty.
    run(
        &[
            Domain::meta(),
            Kingdom::meta(),
            Phylum::meta(),
            Klass::meta(),
            Order::meta(),
            Family::meta(),
            Genus::meta(),
            Species::meta(),
            Specimen::meta(),
        ],
        |db| {
            create_tree(
                db,
                "Eukaryota Animalia Chordata Mammalia Primates Hominidae Homo sapiens",
            );
            let sapiens = Species::objects().get(db, q!(name = "sapiens")).unwrap();
            for species in [Some(&sapiens), None] {
                Specimen::objects()
                    .create(
                        db,
                        Specimen {
                            id: 0,
                            species: species.map(|s| ForeignKey::to(s).unwrap()),
                            _state: ModelState::new(),
                        },
                    )
                    .unwrap();
            }
            let (rows, queries) = capture_queries(|| {
                Specimen::objects()
                    .select_related(["species__genus"])
                    .order_by(["id"])
                    .all(db)
                    .unwrap()
            });
            assert_eq!(
                queries[0].matches("LEFT OUTER JOIN").count(),
                2,
                "{}",
                queries[0]
            );
            assert_eq!(
                rows[0].species.as_ref().unwrap().cached().unwrap().name,
                "sapiens"
            );
            assert!(rows[1].species.is_none());
        },
    );
}
