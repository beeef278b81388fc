//! The joins of one (sub)query: which tables a compiled statement reaches, under which
//! alias, and whether each is INNER or LEFT OUTER, decided as Django's `Query.join`,
//! `promote_joins` and `demote_joins` decide it.

use super::dialect::Dialect;
use std::borrow::Cow;

/// INNER or LEFT OUTER; the base table has neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Base,
    Inner,
    LeftOuter,
}

/// One table of the FROM clause.
#[derive(Debug, Clone)]
pub(crate) struct Join {
    pub table: &'static str,
    /// The table's own name unless it is joined twice or in a subquery (no allocation
    /// for the common case: a query compiled on every statement-cache hit builds it).
    pub alias: Cow<'static, str>,
    /// The join this one hangs from (0, the base table, for the first level).
    pub parent: usize,
    /// Column of the parent in the ON condition.
    pub lhs_col: &'static str,
    /// Column of this table in the ON condition.
    pub rhs_col: &'static str,
    pub kind: JoinKind,
    /// The join may find no row (a NULL-able foreign key, or a reverse relation).
    pub nullable: bool,
    /// The `filter()` call that created it (`None`: the select list or the ordering).
    pub filter_call: Option<usize>,
    /// A generic relation's second ON condition: the content type column.
    pub extra: Option<JoinExtra>,
}

/// `AND <alias>.<column> = (SELECT id FROM django_content_type WHERE ...)`: the content
/// type a join across a generic relation must match.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JoinExtra {
    /// The column is the parent's (`TaggedItem` → `Animal`), not the joined table's.
    pub on_parent: bool,
    pub column: &'static str,
    /// The model whose content type the column must hold.
    pub model: &'static crate::model::ModelMeta,
}

impl PartialEq for JoinExtra {
    fn eq(&self, other: &Self) -> bool {
        self.on_parent == other.on_parent
            && self.column == other.column
            && std::ptr::eq(self.model, other.model)
    }
}

/// The FROM clause being built.
#[derive(Debug, Clone)]
pub(crate) struct Joins {
    pub list: Vec<Join>,
    /// `Some('U')` inside a subquery: every alias is `U0`, `U1`, ... so that it cannot
    /// collide with the outer query's.
    prefix: Option<char>,
    /// Only the joins below this index may be reused (an annotation compiled again sees
    /// the joins that existed when it was first resolved); `usize::MAX`: all.
    pub horizon: usize,
}

/// How a new join may reuse an existing one.
pub(crate) struct JoinRequest {
    pub parent: usize,
    pub table: &'static str,
    pub lhs_col: &'static str,
    pub rhs_col: &'static str,
    pub nullable: bool,
    pub multi: bool,
    pub filter_call: Option<usize>,
    pub extra: Option<JoinExtra>,
}

impl Joins {
    pub(crate) fn new(base_table: &'static str, prefix: Option<char>) -> Joins {
        let alias = match prefix {
            Some(p) => Cow::Owned(format!("{p}0")),
            None => Cow::Borrowed(base_table),
        };
        Joins {
            list: vec![Join {
                table: base_table,
                alias,
                parent: 0,
                lhs_col: "",
                rhs_col: "",
                kind: JoinKind::Base,
                nullable: false,
                filter_call: None,
                extra: None,
            }],
            prefix,
            horizon: usize::MAX,
        }
    }

    pub(crate) fn alias(&self, i: usize) -> &str {
        &self.list[i].alias
    }

    pub(crate) fn is_louter(&self, i: usize) -> bool {
        self.list[i].kind == JoinKind::LeftOuter
    }

    /// The join for `req`: an equal existing one when it may be reused (always for a
    /// single-valued relation; for a multi-valued one only inside the same `filter()`
    /// call, or anywhere outside filters), else a new one. The most recent equal join
    /// wins, as in Django: an annotation after a second `filter()` on a multi-valued
    /// relation reads the join of that second filter.
    pub(crate) fn join(&mut self, req: JoinRequest) -> usize {
        let visible = self.list.len().min(self.horizon);
        for (i, j) in self.list[..visible].iter().enumerate().skip(1).rev() {
            let same = j.parent == req.parent
                && j.table == req.table
                && j.lhs_col == req.lhs_col
                && j.rhs_col == req.rhs_col
                && j.extra == req.extra;
            let reusable =
                !req.multi || req.filter_call.is_none() || j.filter_call == req.filter_call;
            if same && reusable {
                return i;
            }
        }
        let n = self.list.len();
        let alias = match self.prefix {
            Some(p) => Cow::Owned(format!("{p}{n}")),
            None if self.list.iter().any(|j| j.table == req.table) => {
                Cow::Owned(format!("T{}", n + 1))
            }
            None => Cow::Borrowed(req.table),
        };
        let kind = if req.nullable || self.list[req.parent].kind == JoinKind::LeftOuter {
            JoinKind::LeftOuter
        } else {
            JoinKind::Inner
        };
        self.list.push(Join {
            table: req.table,
            alias,
            parent: req.parent,
            lhs_col: req.lhs_col,
            rhs_col: req.rhs_col,
            kind,
            nullable: req.nullable,
            filter_call: req.filter_call,
            extra: req.extra,
        });
        n
    }

    /// Makes joins LEFT OUTER where they may find no row (or hang from one that is),
    /// and the joins below them too: Django's `promote_joins`.
    pub(crate) fn promote(&mut self, aliases: &[usize]) {
        let mut queue: Vec<usize> = aliases.to_vec();
        while let Some(i) = queue.pop() {
            let j = &self.list[i];
            if j.kind != JoinKind::Inner {
                continue;
            }
            let parent_louter = self.list[j.parent].kind == JoinKind::LeftOuter;
            if j.nullable || parent_louter {
                self.list[i].kind = JoinKind::LeftOuter;
                queue.extend((1..self.list.len()).filter(|&c| self.list[c].parent == i && c != i));
            }
        }
    }

    /// Makes joins INNER: a condition needs a row there. Django's `demote_joins`.
    pub(crate) fn demote(&mut self, aliases: &[usize]) {
        for &i in aliases {
            if self.list[i].kind == JoinKind::LeftOuter {
                self.list[i].kind = JoinKind::Inner;
            }
        }
    }

    /// The joins that are INNER now (kept INNER across one `filter()` call).
    pub(crate) fn inner(&self) -> Vec<usize> {
        (1..self.list.len())
            .filter(|&i| self.list[i].kind == JoinKind::Inner)
            .collect()
    }

    /// True when the FROM clause is the base table alone.
    pub(crate) fn is_single(&self) -> bool {
        self.list.len() == 1
    }

    /// Writes `FROM base [alias] JOIN ... ON (...)`.
    pub(crate) fn write_from(&self, out: &mut String, dialect: &dyn Dialect) {
        out.push_str(" FROM ");
        let base = &self.list[0];
        dialect.quote(out, base.table);
        if base.alias != base.table {
            out.push(' ');
            dialect.quote(out, &base.alias);
        }
        for j in &self.list[1..] {
            out.push_str(match j.kind {
                JoinKind::LeftOuter => " LEFT OUTER JOIN ",
                _ => " INNER JOIN ",
            });
            dialect.quote(out, j.table);
            if j.alias != j.table {
                out.push(' ');
                dialect.quote(out, &j.alias);
            }
            out.push_str(" ON (");
            dialect.quote(out, &self.list[j.parent].alias);
            out.push('.');
            dialect.quote(out, j.lhs_col);
            out.push_str(" = ");
            dialect.quote(out, &j.alias);
            out.push('.');
            dialect.quote(out, j.rhs_col);
            if let Some(extra) = &j.extra {
                out.push_str(" AND ");
                let alias = if extra.on_parent {
                    &self.list[j.parent].alias
                } else {
                    &j.alias
                };
                dialect.quote(out, alias);
                out.push('.');
                dialect.quote(out, extra.column);
                out.push_str(" = ");
                out.push_str(&crate::contenttypes::content_type_subquery(
                    dialect,
                    extra.model,
                ));
            }
            out.push(')');
        }
    }
}
