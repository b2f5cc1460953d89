//! What a counterexample needs, and which of those needs a case tolerates.
//!
//! Every SQL or audience counterexample is classified by the conditions it
//! needs to tell the two inputs apart: NULLs (absent traits), duplicate
//! values of a non-key column, ties under `ORDER BY … LIMIT`, the column
//! order, the row order, SQLite's type affinity and integer division, empty
//! tables. A check's `tolerate:` list names classes a
//! reviewer accepts: a difference that needs only tolerated classes gives
//! `equivalent_under_tolerances`, a pass that shows the tolerated
//! counterexample as evidence.

use std::fmt;

/// One condition a counterexample needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// A NULL cell.
    Nulls,
    /// Two rows sharing a value in a non-key column (or a duplicate row).
    Duplicates,
    /// A result that depends on how `ORDER BY` ties (or a `LIMIT` without
    /// order) are broken.
    Ties,
    /// The same values in another column order.
    ColumnOrder,
    /// The same rows in another order (both queries order their output).
    RowOrder,
    /// Values that agree once numeric text is read as a number and reals
    /// are truncated to integers (SQLite affinity, integer division).
    TypeAffinity,
    /// A table the queries read is empty.
    EmptyTables,
    /// Audience: a trait the ASTs compare is absent from the profile.
    MissingTraits,
    /// Audience: the profile has no event of a name the ASTs read, inside
    /// any of their windows and filters (every count over it is 0, every
    /// reducer over it absent).
    ZeroCounts,
}

impl Class {
    /// Every class, in the order of the docs.
    pub const ALL: [Class; 9] = [
        Class::Nulls,
        Class::Duplicates,
        Class::Ties,
        Class::ColumnOrder,
        Class::RowOrder,
        Class::TypeAffinity,
        Class::EmptyTables,
        Class::MissingTraits,
        Class::ZeroCounts,
    ];

    /// The classes of SQL counterexamples.
    pub const SQL: [Class; 7] = [
        Class::Nulls,
        Class::Duplicates,
        Class::Ties,
        Class::ColumnOrder,
        Class::RowOrder,
        Class::TypeAffinity,
        Class::EmptyTables,
    ];

    /// The classes of audience counterexamples.
    pub const AUDIENCE: [Class; 2] = [Class::MissingTraits, Class::ZeroCounts];

    /// The name used in YAML, evidence and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Nulls => "nulls",
            Class::Duplicates => "duplicates",
            Class::Ties => "ties",
            Class::ColumnOrder => "column_order",
            Class::RowOrder => "row_order",
            Class::TypeAffinity => "type_affinity",
            Class::EmptyTables => "empty_tables",
            Class::MissingTraits => "missing_traits",
            Class::ZeroCounts => "zero_counts",
        }
    }

    /// The class named `s` (as written in YAML).
    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Classes(u16);

impl Classes {
    /// No class.
    pub const NONE: Classes = Classes(0);

    /// The set of the given classes.
    pub fn of(cs: &[Class]) -> Classes {
        let mut s = Classes::NONE;
        for c in cs {
            s.insert(*c);
        }
        s
    }
    /// Adds `c`.
    pub fn insert(&mut self, c: Class) {
        self.0 |= c.bit();
    }
    /// Removes `c`.
    pub fn remove(&mut self, c: Class) {
        self.0 &= !c.bit();
    }
    /// Whether `c` is in the set.
    pub fn contains(self, c: Class) -> bool {
        self.0 & c.bit() != 0
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Whether every class of `self` is in `other`.
    pub fn subset_of(self, other: Classes) -> bool {
        self.0 & !other.0 == 0
    }
    /// Both sets together.
    pub fn union(self, other: Classes) -> Classes {
        Classes(self.0 | other.0)
    }
    /// Number of classes.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// The classes, in [`Class::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Class> {
        Class::ALL.into_iter().filter(move |c| self.contains(*c))
    }
    /// The names, in order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Class::as_str).collect()
    }
    /// A difference that needs these classes is tolerated by `tolerate`:
    /// it needs something (a plain difference is never tolerated), and
    /// only tolerated things.
    pub fn tolerated_by(self, tolerate: Classes) -> bool {
        !self.is_empty() && self.subset_of(tolerate)
    }
    /// Parses a `tolerate:` list against the classes of one dialect
    /// (`dialect` names it in the error); the error names the unknown entry
    /// and the valid ones.
    pub fn parse_list(items: &[String], valid: &[Class], dialect: &str) -> Result<Classes, String> {
        let mut s = Classes::NONE;
        for it in items {
            match Class::parse(it).filter(|c| valid.contains(c)) {
                Some(c) => s.insert(c),
                None => {
                    let names: Vec<&str> = valid.iter().map(|c| c.as_str()).collect();
                    let other = if Class::parse(it).is_some() {
                        format!("class `{it}` does not apply to the {dialect} dialect")
                    } else {
                        format!("unknown class `{it}` in `tolerate`")
                    };
                    return Err(format!(
                        "{other}; valid classes for {dialect}: {}",
                        names.join(", ")
                    ));
                }
            }
        }
        Ok(s)
    }
    /// The set of every class in `cs`.
    pub fn all_of(cs: &[Class]) -> Classes {
        Classes::of(cs)
    }
    /// The classes of `self` that are not in `other`.
    pub fn minus(self, other: Classes) -> Classes {
        Classes(self.0 & !other.0)
    }
    /// Whether the sets share a class.
    pub fn intersects(self, other: Classes) -> bool {
        self.0 & other.0 != 0
    }
}

impl fmt::Display for Classes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing special");
        }
        f.write_str(&self.names().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_tolerance() {
        let t = Classes::parse_list(&["nulls".into(), "ties".into()], &Class::SQL, "sql")
            .expect("valid");
        assert!(Classes::of(&[Class::Nulls]).tolerated_by(t));
        assert!(Classes::of(&[Class::Nulls, Class::Ties]).tolerated_by(t));
        assert!(!Classes::of(&[Class::Nulls, Class::Duplicates]).tolerated_by(t));
        assert!(!Classes::NONE.tolerated_by(t));
        assert_eq!(t.to_string(), "nulls, ties");
        let e = Classes::parse_list(&["null".into()], &Class::SQL, "sql").expect_err("unknown");
        assert!(e.contains("unknown class `null`"), "{e}");
        assert!(e.contains("nulls, duplicates, ties"), "{e}");
        let e = Classes::parse_list(&["nulls".into()], &Class::AUDIENCE, "audience")
            .expect_err("SQL-only");
        assert_eq!(
            e,
            "class `nulls` does not apply to the audience dialect; valid classes for audience: missing_traits, zero_counts"
        );
        let a = Classes::parse_list(&["zero_counts".into()], &Class::AUDIENCE, "audience")
            .expect("valid");
        assert!(a.contains(Class::ZeroCounts));
        let e = Classes::parse_list(&["zero_counts".into()], &Class::SQL, "sql")
            .expect_err("audience-only");
        assert!(
            e.starts_with("class `zero_counts` does not apply to the sql dialect"),
            "{e}"
        );
    }
}
