//! Proof by renaming: two queries that differ only in the names of their
//! aliases (`FROM emp AS emp0`, `COUNT(*) AS $f9`) are the same query.
//!
//! Every name declared after `AS` (outside `CAST(… AS type)`) is renamed,
//! everywhere it occurs, to `tribunal_aN` by order of first declaration.
//! The renaming is a bijection that captures nothing, so the renamed query
//! means what the original means (tribunal compares values, never output
//! column names), provided no occurrence of a declared name can mean
//! something else: the rename is refused when a declared name is also a
//! column of the schema, is called as a function, or when the query
//! already uses a `tribunal_a` name. An alias named like a table
//! (`FROM emp AS emp`) is renamed where it is the alias (after `AS`, and
//! as a qualifier `emp.`) and kept where it is the table (before `AS`);
//! any other use of the name refuses the rename. Like every canonical
//! comparison, this takes both queries to be valid SQL. Refused means the text is left
//! as it is, so the proof is simply not found, never wrong.

use std::collections::{HashMap, HashSet};

use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Word};

/// The schema's names, lowercased.
#[derive(Debug, Default)]
pub struct Reserved {
    /// Table names.
    pub tables: HashSet<String>,
    /// Column names.
    pub columns: HashSet<String>,
}

/// `text` (a canonical rendering) with its aliases renamed, or `None` when
/// the rename is refused or there is nothing to rename.
pub fn renamed(text: &str, reserved: &Reserved) -> Option<String> {
    rename(text, reserved, false)
}

/// Like [`renamed`], but a name that could mean something else is kept as
/// it is (every occurrence of it) instead of refusing the whole rename;
/// the other names are renamed. Renaming some names, each everywhere,
/// to fresh names captures nothing either.
pub fn renamed_where_safe(text: &str, reserved: &Reserved) -> Option<String> {
    rename(text, reserved, true)
}

fn rename(text: &str, reserved: &Reserved, partial: bool) -> Option<String> {
    let tokens = Tokenizer::new(&GenericDialect {}, text).tokenize().ok()?;
    if text.to_ascii_lowercase().contains("tribunal_a") {
        return None;
    }
    let key = |w: &Word| w.value.to_ascii_lowercase();
    // Declarations: the word after `AS`, unless the `AS` is a cast's.
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut casts: Vec<bool> = Vec::new();
    let mut prev: Option<&Token> = None;
    let mut after_as = false;
    for t in tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_))) {
        match t {
            Token::LParen => {
                let cast = matches!(prev, Some(Token::Word(w)) if w.value.to_ascii_lowercase().ends_with("cast"));
                casts.push(cast);
            }
            Token::RParen => {
                casts.pop();
            }
            Token::Word(w) if after_as => {
                let n = names.len();
                names.entry(key(w)).or_insert(n);
            }
            _ => {}
        }
        after_as = matches!(t, Token::Word(w) if w.value.eq_ignore_ascii_case("as") && w.quote_style.is_none())
            && !casts.last().copied().unwrap_or(false);
        prev = Some(t);
    }
    let mut kept: HashSet<String> = HashSet::new();
    if partial {
        kept.extend(
            names
                .keys()
                .filter(|n| reserved.columns.contains(*n))
                .cloned(),
        );
    } else if names.keys().any(|n| reserved.columns.contains(n)) {
        return None;
    }
    if names.is_empty() {
        return None;
    }
    // Positions of the non-blank tokens, to look at neighbours.
    let solid: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i], Token::Whitespace(_)))
        .collect();
    let mut rename = vec![false; tokens.len()];
    for (j, &i) in solid.iter().enumerate() {
        let Token::Word(w) = &tokens[i] else { continue };
        if !names.contains_key(&key(w)) {
            continue;
        }
        let next = solid.get(j + 1).map(|&n| &tokens[n]);
        let prev = j.checked_sub(1).map(|p| &tokens[solid[p]]);
        // A declared name called as a function is not (only) an alias.
        if matches!(next, Some(Token::LParen)) {
            if !partial {
                return None;
            }
            kept.insert(key(w));
            continue;
        }
        if reserved.tables.contains(&key(w)) {
            // `emp AS emp`: the table keeps its name; the alias is the
            // declaration after `AS` and the qualifiers `emp.`.
            let declared =
                matches!(prev, Some(Token::Word(a)) if a.value.eq_ignore_ascii_case("as"));
            let table = matches!(next, Some(Token::Word(a)) if a.value.eq_ignore_ascii_case("as"));
            if table {
                continue;
            }
            if !declared && !matches!(next, Some(Token::Period)) {
                if !partial {
                    return None;
                }
                kept.insert(key(w));
                continue;
            }
        }
        rename[i] = true;
    }
    // A kept name is kept everywhere.
    for (i, t) in tokens.iter().enumerate() {
        if let Token::Word(w) = t
            && kept.contains(&key(w))
        {
            rename[i] = false;
        }
    }
    if !rename.contains(&true) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Word(w) if rename[i] => {
                out.push_str(&format!("tribunal_a{}", names[&key(w)] + 1));
            }
            other => out.push_str(&other.to_string()),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{Reserved, renamed};

    fn reserved() -> Reserved {
        Reserved {
            tables: ["emp"].map(String::from).into(),
            columns: ["empno", "deptno", "sal"].map(String::from).into(),
        }
    }

    #[test]
    fn aliases_are_renamed_by_order_of_declaration() {
        let a = renamed(
            "select e.empno, count(*) as \"$f9\" from emp as e where cast(e.sal as integer) > 1 group by e.empno",
            &reserved(),
        );
        let b = renamed(
            "select emp0.empno, count(*) as c from emp as emp0 where cast(emp0.sal as integer) > 1 group by emp0.empno",
            &reserved(),
        );
        assert_eq!(a, b);
        assert_eq!(
            a.as_deref(),
            Some(
                "select tribunal_a2.empno, count(*) as tribunal_a1 from emp as tribunal_a2 where cast(tribunal_a2.sal as integer) > 1 group by tribunal_a2.empno"
            )
        );
    }

    #[test]
    fn a_name_that_could_mean_something_else_is_not_renamed() {
        // `sal` is a column: renaming the alias would rename the column too.
        assert_eq!(renamed("select sal as sal from emp", &reserved()), None);
        // `max` is also called as a function.
        assert_eq!(
            renamed("select max(sal) as max from emp", &reserved()),
            None
        );
        assert_eq!(renamed("select empno from emp", &reserved()), None);
        // The bare table name used as a value is not the alias.
        assert_eq!(
            renamed("select emp.empno, emp from emp as emp", &reserved()),
            None
        );
    }

    #[test]
    fn where_safe_keeps_the_names_that_could_mean_something_else() {
        use super::renamed_where_safe;
        // `sal` is a column: it keeps its name everywhere; `e` is renamed.
        assert_eq!(
            renamed_where_safe("select e.sal as sal from emp as e", &reserved()).as_deref(),
            Some("select tribunal_a2.sal as sal from emp as tribunal_a2")
        );
        // `max` is also called: kept, call and alias alike.
        assert_eq!(
            renamed_where_safe("select max(e.sal) as max from emp as e", &reserved()).as_deref(),
            Some("select max(tribunal_a2.sal) as max from emp as tribunal_a2")
        );
        // The bare table name used as a value keeps the table's name.
        assert_eq!(
            renamed_where_safe("select emp.empno, emp from emp as emp", &reserved()),
            None
        );
        assert_eq!(
            renamed_where_safe("select sal as sal from emp", &reserved()),
            None
        );
    }

    #[test]
    fn an_alias_named_like_its_table_is_renamed_where_it_is_the_alias() {
        let a = renamed(
            "select unix_timestamp('12:34:56'), emp.sal from emp as emp",
            &reserved(),
        );
        let b = renamed(
            "select unix_timestamp('12:34:56'), emp0.sal from emp as emp0",
            &reserved(),
        );
        assert_eq!(a, b);
        assert_eq!(
            a.as_deref(),
            Some("select unix_timestamp('12:34:56'), tribunal_a1.sal from emp as tribunal_a1")
        );
    }
}
