//! The model registry: every `#[derive(Model)]` struct registers its meta at link time.

use super::meta::ModelMeta;

/// One registered model. `#[derive(Model)]` submits it; users never build one.
#[doc(hidden)]
pub struct Registration {
    /// Returns the model's static meta.
    pub meta: fn() -> &'static ModelMeta,
}

inventory::collect!(Registration);

/// Every registered model, sorted by label (`app_label.ModelName`).
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "shop")]
/// struct Shelf {
///     #[field(primary_key)]
///     id: i64,
///     _state: ModelState,
/// }
///
/// assert!(quarry::registry::models().iter().any(|m| m.label() == "shop.Shelf"));
/// ```
pub fn models() -> Vec<&'static ModelMeta> {
    let mut all: Vec<&'static ModelMeta> = inventory::iter::<Registration>
        .into_iter()
        .map(|r| (r.meta)())
        .collect();
    all.sort_by_key(|m| (m.app_label, m.name));
    all
}

/// The model with label `app_label.ModelName` (the model name is matched
/// case-insensitively, as Django's `apps.get_model`).
///
/// ```
/// use quarry::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[model(app_label = "shop")]
/// struct Crate {
///     #[field(primary_key)]
///     id: i64,
///     _state: ModelState,
/// }
///
/// assert_eq!(quarry::registry::get_model("shop.crate").unwrap().name, "Crate");
/// assert!(quarry::registry::get_model("shop.Nope").is_none());
/// ```
pub fn get_model(label: &str) -> Option<&'static ModelMeta> {
    let (app, name) = label.split_once('.')?;
    inventory::iter::<Registration>
        .into_iter()
        .map(|r| (r.meta)())
        .find(|m| m.app_label == app && m.name.eq_ignore_ascii_case(name))
}

/// The models of one app label.
pub fn app_models(app_label: &str) -> Vec<&'static ModelMeta> {
    models()
        .into_iter()
        .filter(|m| m.app_label == app_label)
        .collect()
}
