//! The prepared statements a server connection keeps, by SQL text.

use super::SqlText;
use crate::error::Result;
use hashbrown::HashTable;
use std::cell::RefCell;

/// Prepared statements by SQL text, at most `capacity` of them (emptied when full),
/// found by the text's [`SqlText`] hash: a statement from the statement cache comes
/// with its hash, so a lookup hashes nothing and compares the text once.
pub(crate) struct StatementMap<S> {
    table: RefCell<HashTable<Kept<S>>>,
    capacity: usize,
}

struct Kept<S> {
    hash: u64,
    sql: Box<str>,
    stmt: S,
}

impl<S: Clone> StatementMap<S> {
    /// An empty map holding at most `capacity` statements.
    pub(crate) fn new(capacity: usize) -> Self {
        StatementMap {
            table: RefCell::new(HashTable::new()),
            capacity,
        }
    }

    /// The statement of `sql`, prepared by `prepare` on first use.
    pub(crate) fn get_or_prepare(
        &self,
        sql: SqlText<'_>,
        prepare: impl FnOnce() -> Result<S>,
    ) -> Result<S> {
        let (hash, text) = (sql.hash(), sql.text());
        if let Some(kept) = self
            .table
            .borrow()
            .find(hash, |k| k.hash == hash && *k.sql == *text)
        {
            return Ok(kept.stmt.clone());
        }
        let stmt = prepare()?;
        let mut table = self.table.borrow_mut();
        if table.len() >= self.capacity {
            table.clear();
        }
        table.insert_unique(
            hash,
            Kept {
                hash,
                sql: text.into(),
                stmt: stmt.clone(),
            },
            |k| k.hash,
        );
        Ok(stmt)
    }
}
