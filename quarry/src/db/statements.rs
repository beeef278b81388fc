//! The prepared statements a server connection keeps, by SQL text.

use crate::error::Result;
use std::cell::RefCell;
use std::collections::HashMap;

/// Prepared statements by SQL text, at most `capacity` of them (emptied when full).
/// Hashed with foldhash: SipHash spent about 700 instructions a lookup on a ten-row
/// INSERT's text.
pub(crate) struct StatementMap<S> {
    map: RefCell<HashMap<String, S, foldhash::fast::RandomState>>,
    capacity: usize,
}

impl<S: Clone> StatementMap<S> {
    /// An empty map holding at most `capacity` statements.
    pub(crate) fn new(capacity: usize) -> Self {
        StatementMap {
            map: RefCell::new(HashMap::default()),
            capacity,
        }
    }

    /// The statement of `sql`, prepared by `prepare` on first use.
    pub(crate) fn get_or_prepare(
        &self,
        sql: &str,
        prepare: impl FnOnce() -> Result<S>,
    ) -> Result<S> {
        if let Some(s) = self.map.borrow().get(sql) {
            return Ok(s.clone());
        }
        let stmt = prepare()?;
        let mut map = self.map.borrow_mut();
        if map.len() >= self.capacity {
            map.clear();
        }
        map.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}
